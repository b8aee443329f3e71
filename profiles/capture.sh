#!/usr/bin/env bash
# Captures the GCC PGO profile committed in profiles/gcc/ under the benchmark harness's load:
# ~18k idle loopback connections (IPv4+IPv6, cubic+bbr) in a fresh namespace, then the
# instrumented daemon polls them with the syscall readers (protobufList, jsonl) and with -ioUring,
# and replays a capture of them. Needs root. Takes a few minutes (an instrumented build).
#
#   profiles/capture.sh            # writes profiles/gcc/*.gcda
set -euo pipefail
cd "$(dirname "$0")/.."
out="$PWD/profiles/gcc"
gen=build-pgo-gen

cmake -S . -B "$gen" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXTCP_PGO_GENERATE=ON \
  -DXTCP_PGO_DIR="$out" -DXTCP_BUILD_TESTS=OFF -DXTCP_BUILD_BENCH=OFF >/dev/null
cmake -S . -B build -G Ninja >/dev/null
ninja -C "$gen" xtcp2
ninja -C build sockfarm
rm -rf "$out"
mkdir -p "$out"

ns="xtcp-pgo-$$"
cap=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$cap"
}
trap cleanup EXIT
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
for v in "-cc cubic" "-cc bbr" "-6 -cc cubic" "-6 -cc bbr"; do
  # sockfarm holds its sockets until its stdin closes: feed it from a long sleep.
  sleep 600 | ip netns exec "$ns" build/tests/tools/sockfarm -n 2250 $v >/dev/null &
  pids+=($!)
done
sleep 3

run() { "$gen/xtcp2" -promListen 127.0.0.1:0 -pollJitterPct 0 -d 0 "$@"; }
run -dest null -marshal protobufList -maxLoops 40 -frequency 150ms -timeout 140ms
run -dest null -marshal protobufList -maxLoops 20 -frequency 150ms -timeout 140ms -ioUring
run -dest null -marshal jsonl -maxLoops 3 -frequency 1s -timeout 900ms
run -dest null -maxLoops 1 -writeFiles 1000 -capturePath "$cap/" -netlinkers 1
"$gen/xtcp2" -replay "$cap" -dest null -d 0
echo "profile: $(ls "$out" | wc -l) files in $out" >&2
