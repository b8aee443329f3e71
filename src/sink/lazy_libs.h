#pragma once
// librdkafka, libcurl and the NATS C client, loaded on first use (dlopen) instead of at process
// start.
//
// Together they pull about 35 shared libraries (OpenSSL, GnuTLS, Kerberos, LDAP, SASL,
// protobuf-c, …) into the process, which costs megabytes of resident memory and startup time for
// every daemon — including the ones that write to stdout or a file. Only the kafka, http(s) and
// nats sinks need them, so those sinks call through these tables, resolved once, thread-safely,
// by name.

#define CURL_DISABLE_TYPECHECK 1  // calls go through function pointers, not curl's macros
#include <curl/curl.h>
#include <librdkafka/rdkafka.h>
#include <nats/nats.h>

#include "absl/status/statusor.h"

namespace xtcp::sink {

// clang-format off
#define XTCP_RDKAFKA_FUNCS(X)    \
  X(rd_kafka_conf_new)           \
  X(rd_kafka_conf_set)           \
  X(rd_kafka_conf_destroy)       \
  X(rd_kafka_conf_set_opaque)    \
  X(rd_kafka_conf_set_dr_msg_cb) \
  X(rd_kafka_conf_set_error_cb)  \
  X(rd_kafka_conf_set_log_cb)    \
  X(rd_kafka_conf_set_stats_cb)  \
  X(rd_kafka_new)                \
  X(rd_kafka_destroy)            \
  X(rd_kafka_topic_new)          \
  X(rd_kafka_topic_destroy)      \
  X(rd_kafka_produce)            \
  X(rd_kafka_poll)               \
  X(rd_kafka_flush)              \
  X(rd_kafka_purge)              \
  X(rd_kafka_outq_len)           \
  X(rd_kafka_last_error)         \
  X(rd_kafka_err2str)            \
  X(rd_kafka_err2name)           \
  X(rd_kafka_message_latency)

#define XTCP_CURL_FUNCS(X) \
  X(curl_global_init)      \
  X(curl_easy_init)        \
  X(curl_easy_cleanup)     \
  X(curl_easy_setopt)      \
  X(curl_easy_perform)     \
  X(curl_easy_getinfo)     \
  X(curl_easy_strerror)    \
  X(curl_slist_append)     \
  X(curl_slist_free_all)   \
  X(curl_free)             \
  X(curl_url)              \
  X(curl_url_cleanup)      \
  X(curl_url_get)          \
  X(curl_url_set)          \
  X(curl_url_strerror)

#define XTCP_NATS_FUNCS(X)                 \
  X(natsOptions_Create)                    \
  X(natsOptions_Destroy)                   \
  X(natsOptions_SetServers)                \
  X(natsOptions_SetName)                   \
  X(natsOptions_SetNoRandomize)            \
  X(natsOptions_SetTimeout)                \
  X(natsOptions_SetAllowReconnect)         \
  X(natsOptions_SetMaxReconnect)           \
  X(natsOptions_SetCustomReconnectDelay)   \
  X(natsOptions_SetReconnectBufSize)       \
  X(natsOptions_SetRetryOnFailedConnect)   \
  X(natsOptions_SetDisconnectedCB)         \
  X(natsOptions_SetReconnectedCB)          \
  X(natsOptions_SetClosedCB)               \
  X(natsOptions_SetErrorHandler)           \
  X(natsConnection_Connect)                \
  X(natsConnection_Publish)                \
  X(natsConnection_FlushTimeout)           \
  X(natsConnection_Status)                 \
  X(natsConnection_Buffered)               \
  X(natsConnection_GetMaxPayload)          \
  X(natsConnection_Close)                  \
  X(natsConnection_Destroy)                \
  X(natsConnection_GetStats)               \
  X(natsStatistics_Create)                 \
  X(natsStatistics_GetCounts)              \
  X(natsStatistics_Destroy)                \
  X(natsStatus_GetText)
// clang-format on

#define XTCP_DECLARE_FN(name) decltype(&::name) name;
struct RdKafkaApi {
  XTCP_RDKAFKA_FUNCS(XTCP_DECLARE_FN)
};
struct CurlApi {
  XTCP_CURL_FUNCS(XTCP_DECLARE_FN)
};
struct NatsApi {
  XTCP_NATS_FUNCS(XTCP_DECLARE_FN)
};
#undef XTCP_DECLARE_FN

// The loaded table, or why it could not be loaded (library missing or too old).
absl::StatusOr<const RdKafkaApi*> LoadRdKafka();
absl::StatusOr<const CurlApi*> LoadCurl();
absl::StatusOr<const NatsApi*> LoadNats();

}  // namespace xtcp::sink
