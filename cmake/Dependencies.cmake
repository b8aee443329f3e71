# Every dependency comes from a Debian 12 package (see scripts/install-deps.sh) and is used as an
# imported target. Nothing is vendored or fetched.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(Protobuf REQUIRED)
find_package(prometheus-cpp CONFIG REQUIRED)
find_package(civetweb CONFIG REQUIRED)  # tests/sink and bench only (a real HTTP peer)
find_package(msgpack CONFIG REQUIRED PATHS /usr/lib/x86_64-linux-gnu/cmake/msgpackc-cxx)  # target msgpackc-cxx
find_package(CURL REQUIRED)
find_package(gRPC CONFIG REQUIRED)  # -grpcPort services (src/rpc) and the client tools

pkg_check_modules(LIBMNL REQUIRED IMPORTED_TARGET libmnl)
pkg_check_modules(LIBURING REQUIRED IMPORTED_TARGET liburing)
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)  # valkey: sink
pkg_check_modules(NATS REQUIRED IMPORTED_TARGET libnats)  # nats: sink (dlopen; tests link it)
pkg_check_modules(TCMALLOC REQUIRED IMPORTED_TARGET libtcmalloc)
pkg_check_modules(PROFILER REQUIRED IMPORTED_TARGET libprofiler)
pkg_check_modules(LIBDW REQUIRED IMPORTED_TARGET libdw)  # elfutils: pprof symbolization
pkg_check_modules(LIBSECCOMP REQUIRED IMPORTED_TARGET libseccomp)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)  # parquet: page compression
pkg_check_modules(LLDPCTL REQUIRED IMPORTED_TARGET lldpctl)  # -enrichLldp

if(XTCP_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()
if(XTCP_BUILD_BENCH)
  find_package(benchmark CONFIG REQUIRED)
endif()
