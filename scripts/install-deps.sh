#!/usr/bin/env bash
# Installs every Debian 12 package xtcp2 needs to build, test and benchmark. Idempotent: installs
# only what is missing. Run as root on a fresh Debian 12 shell.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git clang libclang-rt-14-dev clang-format
  # libraries
  libabsl-dev libgflags-dev libprotobuf-dev protobuf-compiler libmnl-dev liburing-dev
  librdkafka-dev prometheus-cpp-dev libcivetweb-dev libgoogle-perftools-dev
  libcurl4-openssl-dev libmsgpack-cxx-dev libcap-dev libseccomp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # tools the tests drive as real peers / readers
  iproute2 procps util-linux libcap2-bin kcat prometheus google-perftools curl
  systemd dpkg-dev file
  # `go tool pprof`, the documented reader of /debug/pprof profiles (tests use it when present)
  golang-go
)

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
  echo "install-deps: all ${#PACKAGES[@]} packages present" >&2
fi
