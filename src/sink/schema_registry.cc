#include "sink/schema_registry.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/mask.h"
#include "common/unique_fd.h"
#include "common/utf8.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "sink/lazy_libs.h"

namespace xtcp::sink {
namespace {

constexpr char kContentType[] = "application/vnd.schemaregistry.v1+json";
// What the registry's own clients ask for (newest media type first).
constexpr char kAccept[] =
    "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, "
    "application/json";
constexpr size_t kMaxAnswerBytes = 64 << 10;  // an answer is a small JSON object

absl::StatusOr<std::string> ReadSchema(const std::string& path) {
  const auto fail = [&](absl::string_view why) {
    return absl::FailedPreconditionError(absl::StrCat("-xtcpProtoFile ", path, ": ", why));
  };
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return fail(std::strerror(errno));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return fail(std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return fail("not a regular file");
  if (static_cast<uint64_t>(st.st_size) > kMaxSchemaBytes) {
    return fail(absl::StrCat(st.st_size, " bytes, above the limit of ", kMaxSchemaBytes));
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(std::strerror(errno));
    if (n == 0) break;  // the file shrank under us: register what is there
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  if (text.empty()) return fail("empty");
  // JSON strings are Unicode: a registry would refuse bytes that are not (or we would change them).
  if (!IsValidUtf8(text)) return fail("not valid UTF-8");
  return text;
}

// The path segment `s`, percent-encoded except for RFC 3986's unreserved characters.
std::string EscapeSegment(absl::string_view s) {
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      absl::StrAppendFormat(&out, "%%%02X", c);
    }
  }
  return out;
}

// {"schemaType":"PROTOBUF","schema":"<text>"}: protobuf's JSON printer quotes the text.
std::string RegisterBody(const std::string& text) {
  google::protobuf::Value v;
  v.set_string_value(text);
  std::string quoted;
  (void)google::protobuf::util::MessageToJsonString(v, &quoted);
  return absl::StrCat("{\"schemaType\":\"PROTOBUF\",\"schema\":", quoted, "}");
}

// The top-level object of a JSON answer, or an empty one.
google::protobuf::Struct ParseObject(const std::string& body) {
  google::protobuf::Struct obj;
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(body, &obj, opts).ok()) obj.Clear();
  return obj;
}

// The positive integer "id" of an answer, or 0.
int64_t IdOf(const google::protobuf::Struct& obj) {
  const auto it = obj.fields().find("id");
  if (it == obj.fields().end() || !it->second.has_number_value()) return 0;
  const double id = it->second.number_value();
  return id >= 1 && id <= 9.0e15 && id == static_cast<double>(static_cast<int64_t>(id))
             ? static_cast<int64_t>(id)
             : 0;
}

size_t CollectBody(char* data, size_t size, size_t nmemb, void* out) {
  auto* body = static_cast<std::string*>(out);
  const size_t n = size * nmemb;
  if (body->size() + n > kMaxAnswerBytes) return 0;  // aborts the transfer: CURLE_WRITE_ERROR
  body->append(data, n);
  return n;
}

// One registry conversation: a libcurl easy handle reused for both requests (keep-alive).
class Client {
 public:
  Client(const CurlApi* curl, const SchemaRegistryOptions& opts, absl::Time deadline)
      : curl_(curl),
        shown_url_(MaskUrlUserinfo(opts.url)),
        budget_(opts.budget),
        deadline_(deadline) {
    std::string base = opts.url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    versions_url_ = absl::StrCat(base, "/subjects/", EscapeSegment(opts.subject), "/versions");
    headers_ =
        curl_->curl_slist_append(headers_, absl::StrCat("Content-Type: ", kContentType).c_str());
    headers_ = curl_->curl_slist_append(headers_, absl::StrCat("Accept: ", kAccept).c_str());
    headers_ = curl_->curl_slist_append(headers_, "Expect:");  // no 100-continue round trip
    handle_ = curl_->curl_easy_init();
  }
  ~Client() {
    if (handle_ != nullptr) curl_->curl_easy_cleanup(handle_);
    curl_->curl_slist_free_all(headers_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // The registered id.
  absl::StatusOr<int64_t> Register(const std::string& body) {
    auto answer = Perform("POST", versions_url_, &body);
    if (!answer.ok()) return answer.status();
    if (const int64_t id = IdOf(ParseObject(*answer)); id > 0) return id;
    return absl::DataLossError(absl::StrCat("schema registry ", shown_url_,
                                            ": POST answered without an id: ", Excerpt(*answer)));
  }

  absl::StatusOr<int64_t> LatestId() {
    auto answer = Perform("GET", versions_url_ + "/latest", nullptr);
    if (!answer.ok()) return answer.status();
    if (const int64_t id = IdOf(ParseObject(*answer)); id > 0) return id;
    return absl::DataLossError(absl::StrCat("schema registry ", shown_url_,
                                            ": latest version without an id: ", Excerpt(*answer)));
  }

 private:
  // The answer's body (2xx), or why there is none.
  absl::StatusOr<std::string> Perform(const char* method, const std::string& url,
                                      const std::string* body) {
    const std::string what = absl::StrCat("schema registry ", method, " ", MaskUrlUserinfo(url));
    const absl::Duration left = deadline_ - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          absl::StrCat(what, ": the ", absl::FormatDuration(budget_), " budget is spent"));
    }
    if (handle_ == nullptr) return absl::InternalError(absl::StrCat(what, ": no libcurl handle"));
    CURL* h = handle_;
    const long ms = static_cast<long>(std::max<int64_t>(1, absl::ToInt64Milliseconds(left)));
    std::string answer;
    error_[0] = '\0';
    bool ok = true;
    ok &= curl_->curl_easy_setopt(h, CURLOPT_URL, url.c_str()) == CURLE_OK;
    if (body != nullptr) {
      ok &= curl_->curl_easy_setopt(h, CURLOPT_POST, 1L) == CURLE_OK;
      ok &= curl_->curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->data()) == CURLE_OK;
      ok &= curl_->curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                                    static_cast<curl_off_t>(body->size())) == CURLE_OK;
    } else {
      ok &= curl_->curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) == CURLE_OK;
    }
    ok &= curl_->curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers_) == CURLE_OK;
    // One bound for the request, name resolution and connect included: what is left of the budget.
    ok &= curl_->curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms) == CURLE_OK;
    ok &= curl_->curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms) == CURLE_OK;
    ok &= curl_->curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok &= curl_->curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
    ok &= curl_->curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
    ok &= curl_->curl_easy_setopt(h, CURLOPT_USERAGENT, "xtcp2") == CURLE_OK;
    ok &= curl_->curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &CollectBody) == CURLE_OK;
    ok &= curl_->curl_easy_setopt(h, CURLOPT_WRITEDATA, &answer) == CURLE_OK;
    ok &= curl_->curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_) == CURLE_OK;
    if (!ok) return absl::InternalError(absl::StrCat(what, ": libcurl refused an option"));
    const CURLcode rc = curl_->curl_easy_perform(h);
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      return absl::DeadlineExceededError(absl::StrCat(
          what, ": no answer within the registration's ", absl::FormatDuration(budget_)));
    }
    if (rc != CURLE_OK) {
      // libcurl's detail may quote the URL: mask it like ours.
      const std::string detail = MaskUrlUserinfo(error_);
      return absl::UnavailableError(
          absl::StrCat(what, ": ", detail.empty() ? curl_->curl_easy_strerror(rc) : detail));
    }
    long status = 0;
    curl_->curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status >= 300) {
      // The registry explains itself in {"error_code":…,"message":…}.
      const google::protobuf::Struct obj = ParseObject(answer);
      const auto m = obj.fields().find("message");
      const std::string why = m != obj.fields().end() && m->second.has_string_value()
                                  ? m->second.string_value()
                                  : Excerpt(answer);
      return absl::UnavailableError(
          absl::StrCat(what, ": status ", status, why.empty() ? "" : ": ", why));
    }
    return answer;
  }

  // The start of an answer, for a message.
  static std::string Excerpt(const std::string& s) {
    std::string e = s.substr(0, 200);
    MakeValidUtf8(&e);
    return e.empty() ? "(empty)" : e;
  }

  const CurlApi* const curl_;
  const std::string shown_url_;
  const absl::Duration budget_;
  const absl::Time deadline_;
  std::string versions_url_;
  curl_slist* headers_ = nullptr;
  CURL* handle_ = nullptr;
  char error_[CURL_ERROR_SIZE] = {};
};

}  // namespace

absl::StatusOr<SchemaRegistration> RegisterSchema(const SchemaRegistryOptions& opts) {
  const absl::Time deadline = absl::Now() + opts.budget;
  auto text = ReadSchema(opts.schema_path);
  if (!text.ok()) return text.status();
  auto curl = LoadCurl();
  if (!curl.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("schema registry: ", curl.status().message()));
  }
  static std::once_flag once;
  std::call_once(once, [&] { (*curl)->curl_global_init(CURL_GLOBAL_DEFAULT); });
  Client client(*curl, opts, deadline);
  auto id = client.Register(RegisterBody(*text));
  if (!id.ok()) return id.status();
  SchemaRegistration r;
  r.id = *id;
  r.latest_id = client.LatestId();
  return r;
}

int64_t RegisterSchemaAtStartup(const SchemaRegistryOptions& opts) {
  prometheus::Counter* registered = nullptr;
  prometheus::Counter* failed = nullptr;
  prometheus::Counter* latest_failed = nullptr;
  prometheus::Gauge* gauge = nullptr;
  if (Metrics* m = opts.metrics) {
    // All made now: a dashboard sees zeros rather than no series.
    registered = &m->Count("destKafka", "schemaRegister", "count");
    failed = &m->Count("destKafka", "schemaRegister", "error");
    latest_failed = &m->Count("destKafka", "schemaLatest", "error");
    gauge = &m->Gauge("destKafka", "schemaId", "gauge");
  }
  const auto inc = [](prometheus::Counter* c) {
    if (c != nullptr) c->Increment();
  };
  const std::string where =
      absl::StrCat("schema registry ", MaskUrlUserinfo(opts.url), ", subject ", opts.subject);
  const absl::StatusOr<SchemaRegistration> r = RegisterSchema(opts);
  if (!r.ok()) {
    inc(failed);
    XTCP_LOG(kWarn, "%s: not registered: %s (continuing: Kafka messages do not depend on it)",
             where, std::string(r.status().message()));
    return 0;
  }
  inc(registered);
  if (gauge != nullptr) gauge->Set(static_cast<double>(r->id));
  if (!r->latest_id.ok()) {
    inc(latest_failed);
    XTCP_LOG(kWarn, "%s: registered %s as schema id %d; the latest version could not be read: %s",
             where, opts.schema_path, r->id, std::string(r->latest_id.status().message()));
  } else if (*r->latest_id != r->id) {
    inc(latest_failed);
    XTCP_LOG(kWarn,
             "%s: registered %s as schema id %d, but the subject's latest version is schema id "
             "%d",
             where, opts.schema_path, r->id, *r->latest_id);
  } else {
    XTCP_LOG(kInfo, "%s: registered %s as schema id %d (the latest version)", where,
             opts.schema_path, r->id);
  }
  return r->id;
}

}  // namespace xtcp::sink
