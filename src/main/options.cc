#include "main/options.h"

#include "decode/deserializers.h"
#include "xtcp/marshaller.h"
#include "xtcp/sink.h"

namespace xtcp::main {

config::Vocabulary BuiltinVocabulary() {
  config::Vocabulary v;
  const decode::DeserializerSet defaults = decode::DeserializerSet::Default();
  for (size_t i = 0; i < decode::kDeserializers.size(); ++i) {
    v.deserializers.emplace_back(decode::kDeserializers[i].key);
    if (defaults.Has(i)) v.default_deserializers.emplace_back(decode::kDeserializers[i].key);
  }
  v.marshallers = MarshallerNames();
  v.dest_schemes = SinkSchemes();
  return v;
}

pipeline::StampOptions StampOptionsFrom(const config::Config& cfg) {
  pipeline::StampOptions o;
  o.daemon_version = cfg.daemon_version;
  o.hostname = cfg.hostname;
  o.location = cfg.location;
  o.label = cfg.label;
  o.tag = cfg.tag;
  return o;
}

pipeline::ReplayOptions ReplayOptionsFrom(const config::Config& cfg) {
  pipeline::ReplayOptions o;
  // The parser validated the spec against decode's keys (BuiltinVocabulary).
  o.deserializers = decode::ParseDeserializers(cfg.deserializers_spec)
                        .value_or(decode::DeserializerSet::Default());
  o.modulus = cfg.modulus;
  return o;
}

observe::StartupSummaryOptions SummaryOptionsFrom(const config::Config& cfg) {
  observe::StartupSummaryOptions o;
  o.version = cfg.daemon_version;
  o.dest = config::MaskUrlUserinfo(cfg.dest);
  o.marshal = cfg.marshal;
  o.families = cfg.families;
  o.frequency = config::FormatGoDuration(cfg.poll_frequency);
  o.timeout = config::FormatGoDuration(cfg.poll_timeout);
  o.deserializers = cfg.deserializers_spec;
  o.prom_listen = cfg.prom_listen;
  return o;
}

}  // namespace xtcp::main
