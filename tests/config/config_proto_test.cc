// xtcp_config.v1 must keep the upstream field numbers, names and types.
#include "gtest/gtest.h"
#include "xtcp_config/v1/xtcp_config.pb.h"

namespace {

using google::protobuf::FieldDescriptor;

TEST(ConfigProto, FieldTable) {
  struct F {
    int number;
    const char* name;
    FieldDescriptor::Type type;
  };
  const F want[] = {
      {10, "nl_timeout_milliseconds", FieldDescriptor::TYPE_UINT64},
      {20, "poll_frequency", FieldDescriptor::TYPE_MESSAGE},
      {30, "poll_timeout", FieldDescriptor::TYPE_MESSAGE},
      {40, "max_loops", FieldDescriptor::TYPE_UINT64},
      {50, "netlinkers", FieldDescriptor::TYPE_UINT32},
      {51, "netlinkers_done_chan_size", FieldDescriptor::TYPE_UINT32},
      {60, "nlmsg_seq", FieldDescriptor::TYPE_UINT32},
      {70, "packet_size", FieldDescriptor::TYPE_UINT64},
      {80, "packet_size_mply", FieldDescriptor::TYPE_UINT32},
      {90, "write_files", FieldDescriptor::TYPE_UINT32},
      {100, "capture_path", FieldDescriptor::TYPE_STRING},
      {110, "modulus", FieldDescriptor::TYPE_UINT64},
      {120, "marshal_to", FieldDescriptor::TYPE_STRING},
      {122, "envelope_flush_threshold_bytes", FieldDescriptor::TYPE_UINT32},
      {123, "envelope_flush_threshold_rows", FieldDescriptor::TYPE_UINT32},
      {124, "kafka_compression", FieldDescriptor::TYPE_STRING},
      {125, "s3_endpoint", FieldDescriptor::TYPE_STRING},
      {126, "s3_bucket", FieldDescriptor::TYPE_STRING},
      {127, "s3_prefix", FieldDescriptor::TYPE_STRING},
      {128, "s3_access_key", FieldDescriptor::TYPE_STRING},
      {129, "s3_secret_key", FieldDescriptor::TYPE_STRING},
      {130, "dest", FieldDescriptor::TYPE_STRING},
      {132, "s3_parquet_flush_threshold_bytes", FieldDescriptor::TYPE_UINT32},
      {133, "s3_region", FieldDescriptor::TYPE_STRING},
      {134, "s3_skip_bucket_probe", FieldDescriptor::TYPE_BOOL},
      {135, "dest_write_files", FieldDescriptor::TYPE_UINT32},
      {136, "pyroscope_url", FieldDescriptor::TYPE_STRING},
      {137, "pyroscope_app_name", FieldDescriptor::TYPE_STRING},
      {138, "pyroscope_sample_hz", FieldDescriptor::TYPE_UINT32},
      {139, "pyroscope_upload_interval_sec", FieldDescriptor::TYPE_UINT32},
      {140, "topic", FieldDescriptor::TYPE_STRING},
      {143, "xtcp_proto_file", FieldDescriptor::TYPE_STRING},
      {145, "kafka_schema_url", FieldDescriptor::TYPE_STRING},
      {150, "kafka_produce_timeout", FieldDescriptor::TYPE_MESSAGE},
      {160, "debug_level", FieldDescriptor::TYPE_UINT32},
      {170, "label", FieldDescriptor::TYPE_STRING},
      {180, "tag", FieldDescriptor::TYPE_STRING},
      {181, "location", FieldDescriptor::TYPE_STRING},
      {182, "hostname", FieldDescriptor::TYPE_STRING},
      {183, "resolve_container_id", FieldDescriptor::TYPE_BOOL},
      {184, "ipv4_ttl", FieldDescriptor::TYPE_UINT32},
      {185, "ipv6_hop_limit", FieldDescriptor::TYPE_UINT32},
      {186, "daemon_version", FieldDescriptor::TYPE_STRING},
      {190, "grpc_port", FieldDescriptor::TYPE_UINT32},
      {200, "enabled_deserializers", FieldDescriptor::TYPE_MESSAGE},
      {210, "io_uring", FieldDescriptor::TYPE_BOOL},
      {211, "io_uring_recv_batch_size", FieldDescriptor::TYPE_UINT32},
      {212, "io_uring_cqe_batch_size", FieldDescriptor::TYPE_UINT32},
      {220, "csv_columns", FieldDescriptor::TYPE_STRING},
      {221, "poll_jitter_pct", FieldDescriptor::TYPE_UINT32},
      {222, "s3_flush_interval", FieldDescriptor::TYPE_MESSAGE},
      {223, "s3_flush_jitter_pct", FieldDescriptor::TYPE_UINT32},
      {224, "s3_flush_threshold_jitter_pct", FieldDescriptor::TYPE_UINT32},
      {225, "s3_upload_max_attempts", FieldDescriptor::TYPE_UINT32},
      {226, "s3_upload_backoff_cap", FieldDescriptor::TYPE_MESSAGE},
      {227, "reconcile_frequency", FieldDescriptor::TYPE_MESSAGE},
      {228, "reconcile_before_poll", FieldDescriptor::TYPE_BOOL},
      {230, "enrich_container_enable", FieldDescriptor::TYPE_BOOL},
      {231, "docker_socket_path", FieldDescriptor::TYPE_STRING},
      {232, "enrich_lldp_enable", FieldDescriptor::TYPE_BOOL},
      {233, "lldpd_socket_path", FieldDescriptor::TYPE_STRING},
      {234, "lldpd_version_hint", FieldDescriptor::TYPE_STRING},
      {235, "enrich_nic_enable", FieldDescriptor::TYPE_BOOL},
      {236, "uplink_count", FieldDescriptor::TYPE_UINT32},
      {237, "uplink_interfaces", FieldDescriptor::TYPE_STRING},
      {238, "populate_nsid", FieldDescriptor::TYPE_BOOL},
  };
  const auto* d = ::xtcp_config::v1::XtcpConfig::descriptor();
  EXPECT_EQ(d->full_name(), "xtcp_config.v1.XtcpConfig");
  ASSERT_EQ(d->field_count(), static_cast<int>(std::size(want)));
  for (const F& f : want) {
    const FieldDescriptor* fd = d->FindFieldByNumber(f.number);
    ASSERT_NE(fd, nullptr) << f.number;
    EXPECT_EQ(fd->name(), f.name);
    EXPECT_EQ(fd->type(), f.type) << f.name;
  }
  EXPECT_TRUE(d->FindFieldByName("uplink_interfaces")->is_repeated());
  const auto* ed = d->FindFieldByName("enabled_deserializers")->message_type();
  EXPECT_EQ(ed->full_name(), "xtcp_config.v1.EnabledDeserializers");
  EXPECT_TRUE(ed->FindFieldByNumber(1)->is_map());
}

}  // namespace
