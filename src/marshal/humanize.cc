// humanize: jsonl with readable values, one record per line, keys sorted.
//
// Like upstream, each record starts as protobuf's canonical JSON (so the same fields are present
// as in jsonl: zero values omitted), then only the keys that are present are replaced:
//   inetDiagMsgSocketSource/Destination  IP text          inetDiagMsgState, tcpInfoState  names
//   congestionAlgorithmEnum              short name       timestampNs RFC3339Nano
// and the object is re-emitted with its keys in byte order (Go's encoding/json of a map). Values
// that are not replaced are the printer's own tokens, copied verbatim: no escaping is done here.
// The replacement texts are built from [0-9a-zA-Z.:?_-] only, so they need no escaping either.
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <array>
#include <vector>

#include "absl/strings/str_cat.h"
#include "marshal/formats.h"
#include "marshal/humanize_fields.h"

namespace xtcp::marshal {
namespace {

struct Member {
  std::string_view key;    // without quotes
  std::string_view value;  // a JSON token as printed
};

// Splits the printer's flat object `{"k":v,...}` into members. The printer emits no whitespace,
// keys are field names (no escapes) and values are scalars: strings, numbers, true/false.
bool SplitFlatObject(std::string_view json, std::vector<Member>* out) {
  out->clear();
  if (json.size() < 2 || json.front() != '{' || json.back() != '}') return false;
  size_t i = 1;
  const size_t end = json.size() - 1;
  while (i < end) {
    if (json[i] != '"') return false;
    const size_t key_end = json.find('"', i + 1);
    if (key_end == std::string_view::npos || key_end + 1 >= end || json[key_end + 1] != ':') {
      return false;
    }
    Member m{json.substr(i + 1, key_end - i - 1), {}};
    size_t v = key_end + 2, j = v;
    if (j < end && json[j] == '"') {
      for (++j; j < end && json[j] != '"'; ++j) {
        if (json[j] == '\\') ++j;  // skip the escaped character
      }
      if (j >= end) return false;
      ++j;  // closing quote
    } else {
      while (j < end && json[j] != ',') ++j;
    }
    m.value = json.substr(v, j - v);
    if (m.value.empty()) return false;
    out->push_back(m);
    if (j < end) {
      if (json[j] != ',') return false;
      ++j;
    }
    i = j;
  }
  return true;
}

class HumanizeMarshaller final : public Marshaller {
 public:
  std::string_view name() const override { return "humanize"; }
  // Upstream sends humanize with the default (octet-stream) type, reference §7.2.
  std::string_view content_type() const override { return "application/octet-stream"; }
  std::string_view metric_op() const override { return "envelopeHumanizedJSONLMarshal"; }

  absl::Status Marshal(const EnvelopeView& env, std::string* out) override {
    if (absl::Status s = ParseEnvelope(env, &envelope_); !s.ok()) return s;
    for (const auto& row : envelope_.row()) {
      json_.clear();
      const auto st = google::protobuf::util::MessageToJsonString(row, &json_, JsonOptions());
      if (!st.ok()) return absl::InternalError(std::string(st.message()));
      if (!SplitFlatObject(json_, &members_)) {
        return absl::InternalError(absl::StrCat("unexpected JSON shape: ", json_));
      }
      Replace(row);
      std::sort(members_.begin(), members_.end(),
                [](const Member& a, const Member& b) { return a.key < b.key; });
      out->push_back('{');
      for (size_t i = 0; i < members_.size(); ++i) {
        if (i > 0) out->push_back(',');
        out->push_back('"');
        out->append(members_[i].key);
        out->append("\":");
        out->append(members_[i].value);
      }
      out->append("}\n");
    }
    return absl::OkStatus();
  }

 private:
  void Replace(const record::ProtoRecord& r) {
    size_t n = 0;
    for (Member& m : members_) {
      std::string text;
      if (m.key == "inetDiagMsgSocketSource") {
        text = IpString(r.inet_diag_msg_family(), r.inet_diag_msg_socket_source());
      } else if (m.key == "inetDiagMsgSocketDestination") {
        text = IpString(r.inet_diag_msg_family(), r.inet_diag_msg_socket_destination());
      } else if (m.key == "inetDiagMsgState") {
        text = TcpStateName(r.inet_diag_msg_state());
      } else if (m.key == "tcpInfoState") {
        text = TcpStateName(r.tcp_info_state());
      } else if (m.key == "congestionAlgorithmEnum") {
        text = CongestionShortName(static_cast<uint32_t>(r.congestion_algorithm_enum()));
      } else if (m.key == "timestampNs") {
        text = TimestampRfc3339Nano(r.timestamp_ns());
      } else {
        continue;
      }
      std::string& slot = replaced_[n++];
      slot.assign("\"").append(text).append("\"");
      m.value = slot;
    }
  }

  record::ProtoEnvelope envelope_;
  std::string json_;
  std::vector<Member> members_;
  std::array<std::string, 6> replaced_;  // one per replaceable key
};

}  // namespace

std::unique_ptr<Marshaller> NewHumanize(const MarshalOptions&) {
  return std::make_unique<HumanizeMarshaller>();
}

}  // namespace xtcp::marshal
