#pragma once
// Config -> the small options structs of the layers below (they never see config::Config), and
// the vocabulary main hands the flag parser from the decode/marshal/sink registries.

#include <string>

#include "config/config.h"
#include "observe/http_server.h"
#include "observe/startup_summary.h"
#include "pipeline/engine.h"
#include "pipeline/replay.h"
#include "pipeline/stamp.h"
#include "rpc/grpc_server.h"
#include "sink/schema_registry.h"

namespace xtcp::main {

// Deserializer keys (and what "default" means), -marshal names and -dest schemes as built.
config::Vocabulary BuiltinVocabulary();

pipeline::EngineOptions EngineOptionsFrom(const config::Config& cfg);
// `cmdline`: what /debug/pprof/cmdline serves (secrets already masked).
observe::HttpServerOptions HttpServerOptionsFrom(const config::Config& cfg,
                                                 const std::string& cmdline);
pipeline::StampOptions StampOptionsFrom(const config::Config& cfg);
pipeline::ReplayOptions ReplayOptionsFrom(const config::Config& cfg);
observe::StartupSummaryOptions SummaryOptionsFrom(const config::Config& cfg);
// -grpcListen with -grpcPort filled in where it names no port; TLS files.
rpc::GrpcServerOptions GrpcServerOptionsFrom(const config::Config& cfg);
// -kafkaSchemaUrl, -xtcpProtoFile and subject <-topic>-value; `metrics` must outlive the call.
sink::SchemaRegistryOptions SchemaRegistryOptionsFrom(const config::Config& cfg, Metrics* metrics);

}  // namespace xtcp::main
