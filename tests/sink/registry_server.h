#pragma once
// A small Confluent-compatible schema registry for tests: civetweb on 127.0.0.1, port 0, the two
// endpoints xtcp2 uses, under any path prefix.
//
//   POST <prefix>/subjects/<subject>/versions    body {"schemaType":…,"schema":…}
//        -> 200 {"id":N}: a new id per distinct schema text (from first_id up), the old id for a
//           text already registered; 422 when schemaType is not PROTOBUF or schema is missing
//   GET  <prefix>/subjects/<subject>/versions/latest
//        -> 200 {"subject":…,"version":V,"id":…,"schemaType":"PROTOBUF","schema":…}; 404 before
//           any registration
//
// FailWith(status, message) makes every request answer that error instead; SetLatestId(id)
// makes the latest version report another id. Every request is recorded. Thread-safe.

#include <civetweb.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace xtcp::testing {

struct RegistryRequest {
  std::string method, uri, content_type, accept, authorization, body;
  // From the body, when it parses as a JSON object.
  bool json_ok = false;
  std::string schema_type, schema;
};

class FakeSchemaRegistry {
 public:
  explicit FakeSchemaRegistry(int64_t first_id = 7) : first_id_(first_id), next_id_(first_id) {
    const char* options[] = {"listening_ports", "127.0.0.1:0", "num_threads", "2", nullptr};
    ctx_ = mg_start(nullptr, nullptr, options);
    if (ctx_ == nullptr) return;
    mg_set_request_handler(ctx_, "/", &FakeSchemaRegistry::Handle, this);
    mg_server_port ports[1];
    if (mg_get_server_ports(ctx_, 1, ports) == 1) port_ = ports[0].port;
  }
  ~FakeSchemaRegistry() {
    if (ctx_ != nullptr) mg_stop(ctx_);
  }
  FakeSchemaRegistry(const FakeSchemaRegistry&) = delete;
  FakeSchemaRegistry& operator=(const FakeSchemaRegistry&) = delete;

  int port() const { return port_; }
  std::string Url(const std::string& prefix = "") const {
    return absl::StrCat("http://127.0.0.1:", port_, prefix);
  }
  std::vector<RegistryRequest> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  void FailWith(int status, const std::string& message) {
    std::lock_guard lock(mu_);
    fail_status_ = status;
    fail_message_ = message;
  }
  void SetLatestId(int64_t id) {
    std::lock_guard lock(mu_);
    latest_override_ = id;
  }
  // Back to a healthy, empty registry (ids from first_id again); the request log is kept.
  void Reset() {
    std::lock_guard lock(mu_);
    fail_status_ = 0;
    latest_override_ = 0;
    next_id_ = first_id_;
    ids_.clear();
    versions_.clear();
  }

 private:
  struct Version {
    std::string schema;
    int64_t id = 0;
  };

  static int Handle(mg_connection* conn, void* self) {
    return static_cast<FakeSchemaRegistry*>(self)->Serve(conn);
  }

  int Serve(mg_connection* conn) {
    const mg_request_info* info = mg_get_request_info(conn);
    RegistryRequest r;
    r.method = info->request_method;
    r.uri = info->local_uri;
    if (const char* v = mg_get_header(conn, "Content-Type")) r.content_type = v;
    if (const char* v = mg_get_header(conn, "Accept")) r.accept = v;
    if (const char* v = mg_get_header(conn, "Authorization")) r.authorization = v;
    char buf[4096];  // civetweb worker stacks are small
    for (int n; (n = mg_read(conn, buf, sizeof(buf))) > 0;) r.body.append(buf, n);
    google::protobuf::Struct body;
    r.json_ok = google::protobuf::util::JsonStringToMessage(r.body, &body).ok();
    const auto& f = body.fields();
    if (auto it = f.find("schemaType"); it != f.end()) r.schema_type = it->second.string_value();
    const auto schema = f.find("schema");
    if (schema != f.end()) r.schema = schema->second.string_value();

    std::lock_guard lock(mu_);
    requests_.push_back(r);
    if (fail_status_ != 0)
      return Answer(conn, fail_status_, ErrorJson(fail_status_, fail_message_));
    const size_t at = r.uri.find("/subjects/");
    if (at == std::string::npos) return Answer(conn, 404, ErrorJson(404, "no such endpoint"));
    std::string rest = r.uri.substr(at + 10);  // <subject>/versions[/latest]
    const size_t slash = rest.find('/');
    const std::string subject = rest.substr(0, slash);
    const std::string tail = slash == std::string::npos ? "" : rest.substr(slash);
    if (r.method == "POST" && tail == "/versions") {
      if (!r.json_ok || r.schema_type != "PROTOBUF" || schema == f.end()) {
        return Answer(conn, 422,
                      ErrorJson(42201,
                                "Either the input schema or one of its "
                                "references is invalid"));
      }
      int64_t& id = ids_[r.schema];
      if (id == 0) id = next_id_++;
      auto& versions = versions_[subject];
      if (versions.empty() || versions.back().schema != r.schema) {
        versions.push_back({r.schema, id});
      }
      return Answer(conn, 200, absl::StrCat("{\"id\":", id, "}"));
    }
    if (r.method == "GET" && tail == "/versions/latest") {
      const auto it = versions_.find(subject);
      if (it == versions_.end()) {
        return Answer(conn, 404, ErrorJson(40401, "Subject '" + subject + "' not found."));
      }
      const int64_t id = latest_override_ != 0 ? latest_override_ : it->second.back().id;
      return Answer(conn, 200,
                    absl::StrCat("{\"subject\":\"", subject, "\",\"version\":", it->second.size(),
                                 ",\"id\":", id, ",\"schemaType\":\"PROTOBUF\",\"schema\":\"…\"}"));
    }
    return Answer(conn, 405, ErrorJson(405, "method not allowed"));
  }

  static std::string ErrorJson(int code, const std::string& message) {
    return absl::StrCat("{\"error_code\":", code, ",\"message\":\"", message, "\"}");
  }

  static int Answer(mg_connection* conn, int status, const std::string& json) {
    mg_response_header_start(conn, status);
    mg_response_header_add(conn, "Content-Type", "application/vnd.schemaregistry.v1+json", -1);
    mg_response_header_add(conn, "Content-Length", std::to_string(json.size()).c_str(), -1);
    mg_response_header_send(conn);
    mg_write(conn, json.data(), json.size());
    return status;
  }

  mg_context* ctx_ = nullptr;
  int port_ = 0;
  std::mutex mu_;
  std::vector<RegistryRequest> requests_;
  const int64_t first_id_;
  int64_t next_id_;
  int fail_status_ = 0;
  std::string fail_message_;
  int64_t latest_override_ = 0;
  std::map<std::string, int64_t> ids_;                    // schema text -> id
  std::map<std::string, std::vector<Version>> versions_;  // subject -> versions
};

}  // namespace xtcp::testing
