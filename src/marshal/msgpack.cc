// msgpack: the Envelope as the Go daemon's msgpack encoding of its generated Go struct
// (vmihailenco/msgpack/v5 defaults), so existing msgpack consumers keep working:
//
//   map{"Row": array[ map{<GoName>: value, …156 entries in declaration order…}, … ]}
//
//   uint32 -> 0xce + 4 bytes   uint64 -> 0xcf + 8 bytes   int64 -> 0xd3 + 8 bytes
//   enum (Go int32) -> 0xd2 + 4 bytes   string -> str (fixstr/str8/16/32)
//   bytes -> bin (bin8/16/32), or nil when empty (a Go nil slice)
//
// v5 keeps the declared width of every integer (no compaction) and writes every exported field,
// zero or not. Go names are derived from the .proto names exactly as protoc-gen-go does.
#include <google/protobuf/descriptor.h>

#include <exception>
#include <msgpack.hpp>

#include "absl/strings/str_cat.h"
#include "marshal/formats.h"

namespace xtcp::marshal {
namespace {

// msgpack-cxx output stream appending to a string.
struct AppendStream {
  std::string* out;
  void write(const char* p, size_t n) { out->append(p, n); }
};

class MsgpackMarshaller final : public Marshaller {
 public:
  MsgpackMarshaller() {
    const auto* desc = record::ProtoRecord::descriptor();
    for (int i = 0; i < desc->field_count(); ++i) {
      const auto* f = desc->field(i);
      std::string key;
      AppendStream s{&key};
      msgpack::packer<AppendStream> pk(s);
      const std::string name = GoFieldName(f->name());
      pk.pack_str(static_cast<uint32_t>(name.size()));
      pk.pack_str_body(name.data(), static_cast<uint32_t>(name.size()));
      fields_.push_back({f, std::move(key)});
    }
  }

  std::string_view name() const override { return "msgpack"; }
  std::string_view content_type() const override { return "application/octet-stream"; }
  std::string_view metric_op() const override { return "envelopeMsgPackMarshal"; }

  absl::Status Marshal(const EnvelopeView& env, std::string* out) override {
    if (absl::Status s = ParseEnvelope(env, &envelope_); !s.ok()) return s;
    const size_t start = out->size();
    // msgpack-cxx reports impossible sizes by throwing; keep that inside this boundary.
    try {
      Pack(out);
    } catch (const std::exception& e) {
      out->resize(start);
      return absl::InternalError(absl::StrCat("msgpack: ", e.what()));
    }
    return absl::OkStatus();
  }

 private:
  struct Field {
    const google::protobuf::FieldDescriptor* field;
    std::string packed_key;  // the msgpack str of the Go field name
  };

  void Pack(std::string* out) {
    using FD = google::protobuf::FieldDescriptor;
    AppendStream s{out};
    msgpack::packer<AppendStream> pk(s);
    pk.pack_map(1);
    pk.pack_str(3);
    pk.pack_str_body("Row", 3);
    if (envelope_.row_size() == 0) {
      pk.pack_nil();  // a nil Go slice
      return;
    }
    pk.pack_array(static_cast<uint32_t>(envelope_.row_size()));
    for (const auto& row : envelope_.row()) {
      const auto* refl = row.GetReflection();
      pk.pack_map(static_cast<uint32_t>(fields_.size()));
      for (const Field& f : fields_) {
        out->append(f.packed_key);
        switch (f.field->cpp_type()) {
          case FD::CPPTYPE_UINT32:
            pk.pack_fix_uint32(refl->GetUInt32(row, f.field));
            break;
          case FD::CPPTYPE_UINT64:
            pk.pack_fix_uint64(refl->GetUInt64(row, f.field));
            break;
          case FD::CPPTYPE_INT32:
            pk.pack_fix_int32(refl->GetInt32(row, f.field));
            break;
          case FD::CPPTYPE_INT64:
            pk.pack_fix_int64(refl->GetInt64(row, f.field));
            break;
          case FD::CPPTYPE_ENUM:
            pk.pack_fix_int32(refl->GetEnumValue(row, f.field));
            break;
          case FD::CPPTYPE_BOOL:
            if (refl->GetBool(row, f.field)) {
              pk.pack_true();
            } else {
              pk.pack_false();
            }
            break;
          case FD::CPPTYPE_STRING: {
            const std::string& v = refl->GetStringReference(row, f.field, &scratch_);
            const auto n = static_cast<uint32_t>(v.size());
            if (f.field->type() != FD::TYPE_BYTES) {
              pk.pack_str(n);
              pk.pack_str_body(v.data(), n);
            } else if (v.empty()) {
              pk.pack_nil();
            } else {
              pk.pack_bin(n);
              pk.pack_bin_body(v.data(), n);
            }
            break;
          }
          default:
            // XtcpFlatRecord has no float, message or repeated fields.
            pk.pack_nil();
            break;
        }
      }
    }
  }

  std::vector<Field> fields_;
  record::ProtoEnvelope envelope_;
  std::string scratch_;
};

}  // namespace

std::string GoFieldName(std::string_view proto_name) {
  const auto lower = [](char c) { return c >= 'a' && c <= 'z'; };
  std::string out;
  for (size_t i = 0; i < proto_name.size(); ++i) {
    const char c = proto_name[i];
    if (c == '_' && i == 0) {
      out.push_back('X');  // a leading '_' cannot start an exported name
    } else if (c == '_' && i + 1 < proto_name.size() && lower(proto_name[i + 1])) {
      // dropped: the next letter is capitalised below
    } else if (c >= '0' && c <= '9') {
      out.push_back(c);
    } else {
      // The start of a word: capitalise it and copy the lower-case run after it.
      out.push_back(lower(c) ? static_cast<char>(c - 'a' + 'A') : c);
      while (i + 1 < proto_name.size() && lower(proto_name[i + 1])) out.push_back(proto_name[++i]);
    }
  }
  return out;
}

std::unique_ptr<Marshaller> NewMsgpack(const MarshalOptions&) {
  return std::make_unique<MsgpackMarshaller>();
}

}  // namespace xtcp::marshal
