#include "sink/lazy_libs.h"

#include <dlfcn.h>

#include <mutex>

#include "absl/strings/str_cat.h"

namespace xtcp::sink {
namespace {

template <typename Api, typename Fill>
absl::StatusOr<const Api*> Load(const char* soname, Fill fill) {
  static std::once_flag once;
  static Api api;
  static absl::Status status;
  std::call_once(once, [&] {
    void* lib = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      status =
          absl::FailedPreconditionError(absl::StrCat("cannot load ", soname, ": ", ::dlerror()));
      return;
    }
    status = fill(lib, &api);  // the library stays loaded for the life of the process
  });
  if (!status.ok()) return status;
  return &api;
}

template <typename Fn>
bool Resolve(void* lib, const char* name, Fn* out) {
  void* sym = ::dlsym(lib, name);
  *out = reinterpret_cast<Fn>(sym);
  return sym != nullptr;
}

}  // namespace

absl::StatusOr<const RdKafkaApi*> LoadRdKafka() {
  return Load<RdKafkaApi>("librdkafka.so.1", [](void* lib, RdKafkaApi* api) {
#define XTCP_RESOLVE(name)              \
  if (!Resolve(lib, #name, &api->name)) \
    return absl::FailedPreconditionError("the library lacks " #name);
    XTCP_RDKAFKA_FUNCS(XTCP_RESOLVE)
    return absl::OkStatus();
  });
}

absl::StatusOr<const CurlApi*> LoadCurl() {
  return Load<CurlApi>("libcurl.so.4", [](void* lib, CurlApi* api) {
    XTCP_CURL_FUNCS(XTCP_RESOLVE)
    return absl::OkStatus();
  });
}

absl::StatusOr<const NatsApi*> LoadNats() {
  return Load<NatsApi>("libnats.so.3.4", [](void* lib, NatsApi* api) {
    XTCP_NATS_FUNCS(XTCP_RESOLVE)
#undef XTCP_RESOLVE
    return absl::OkStatus();
  });
}

}  // namespace xtcp::sink
