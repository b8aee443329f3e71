#!/usr/bin/env bash
# Installs the Debian 12 packages xtcp2 needs. Idempotent: installs only what is missing. Run as
# root on a fresh Debian 12 shell.
#   install-deps.sh run    what building and running the daemon needs
#   install-deps.sh test   that plus the tools the tests drive as real peers or readers
# Add a package to exactly one of the two lists (test installs both).
set -euo pipefail

RUN_PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  # libraries
  libabsl-dev libprotobuf-dev protobuf-compiler libmnl-dev liburing-dev
  librdkafka-dev prometheus-cpp-dev libcivetweb-dev libgoogle-perftools-dev
  libcurl4-openssl-dev libmsgpack-cxx-dev libcap-dev libdw-dev libelf-dev
  libseccomp-dev liblldpctl-dev libhiredis-dev libnats-dev
  # the Parquet writer (src/parquet): page compression
  libzstd-dev
  # the gRPC services (ConfigService, XTCPFlatRecordService) and xtcp2ctl/xtcp2client
  libgrpc++-dev protobuf-compiler-grpc
  # -enrichNic names NIC models from it
  pci.ids
  # the .deb (cpack -G DEB runs dpkg-shlibdeps and file; the Containerfile packages with `run`)
  dpkg-dev file
)

TEST_PACKAGES=(
  # unit tests, benchmarks, sanitizer and fuzz builds, format check
  libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev clang-format
  # tools the tests drive as real peers / readers
  iproute2 procps util-linux libcap2-bin kcat prometheus google-perftools curl
  systemd lintian python3-yaml lldpd
  # the gRPC test: an independent client, stubs generated at test time, certificates for mTLS
  python3-grpcio python3-grpc-tools openssl
  # the generated man page is rendered by groff and `man -l` (tests/config/flag_docs_test.cc)
  groff-base man-db
  # real servers the valkey: and nats: sink tests publish to
  redis-server nats-server
  # `go tool pprof`, the documented reader of /debug/pprof profiles (tests use it when present)
  golang-go
)

mode=${1:-}
case "$mode" in
  run) PACKAGES=("${RUN_PACKAGES[@]}") ;;
  test) PACKAGES=("${RUN_PACKAGES[@]}" "${TEST_PACKAGES[@]}") ;;
  *)
    echo "usage: $0 run|test" >&2
    exit 2
    ;;
esac

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all ${#PACKAGES[@]} packages of '$mode' present" >&2
fi
