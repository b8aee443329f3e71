#pragma once
// Registering the record schema with a Confluent-compatible schema registry (REST), for -dest
// kafka: (-kafkaSchemaUrl, -xtcpProtoFile; reference §7.3).
//
//   POST <url>/subjects/<subject>/versions          {"schemaType":"PROTOBUF","schema":"<proto>"}
//        Content-Type: application/vnd.schemaregistry.v1+json   ->  200 {"id":N}
//   GET  <url>/subjects/<subject>/versions/latest                ->  200 {"id":M,"version":…}
//
// The id is informational: messages carry no Confluent wire-format header and ClickHouse reads
// its own copy of the schema. So, as upstream, nothing here can stop the daemon: a registry that
// is down, slow or refuses is logged and counted, and start-up carries on. Unlike upstream (10 s
// for the lookup, no bound on the registration), both requests together, name resolution and
// connect included, end within `budget`.
//
// Blocking, on the calling thread; thread-compatible (no shared state but libcurl's global init).

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/metrics.h"

namespace xtcp::sink {

struct SchemaRegistryOptions {
  std::string url;          // base URL, e.g. http://registry:8081 (user:password@ for basic auth)
  std::string subject;      // "<topic>-value"
  std::string schema_path;  // the .proto registered: its text, byte for byte
  absl::Duration budget = absl::Seconds(3);  // both requests, from the first byte to the last
  Metrics* metrics = nullptr;                // RegisterSchemaAtStartup only; must outlive the call
};

struct SchemaRegistration {
  int64_t id = 0;  // what the registry answered to the POST (an existing schema keeps its id)
  // The latest version's id (GET …/versions/latest), or why it could not be read.
  absl::StatusOr<int64_t> latest_id = int64_t{0};
};

// The largest schema file read; a registry refuses far smaller ones.
inline constexpr size_t kMaxSchemaBytes = 1 << 20;

// Registers opts.schema_path's text under opts.subject. Errors: FailedPrecondition (the file:
// missing, unreadable, too large, not UTF-8; or libcurl missing), Unavailable (the registry:
// unreachable, a non-2xx answer with its message), DeadlineExceeded (budget spent), DataLoss (an
// answer without an id). The URL's password never appears in a message.
absl::StatusOr<SchemaRegistration> RegisterSchema(const SchemaRegistryOptions& opts);

// RegisterSchema for start-up: never fails. Logs the id (INFO) or why there is none (WARN, "…
// continuing"), and sets, when opts.metrics is given:
//   xtcp_counts  destKafka/schemaRegister/count   registered (the POST answered an id)
//                destKafka/schemaRegister/error   not registered
//                destKafka/schemaLatest/error     registered, but the latest version could not be
//                                                 read or has another id
//   xtcp_gauges  destKafka/schemaId/gauge         the registered id; 0 while there is none
// Returns the registered id, or 0.
int64_t RegisterSchemaAtStartup(const SchemaRegistryOptions& opts);

}  // namespace xtcp::sink
