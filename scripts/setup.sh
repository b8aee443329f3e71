#!/usr/bin/env bash
# The two set-up commands of README.md.
#   scripts/setup.sh run   install what is missing, build, poll this host once to stdout (jsonl)
#   scripts/setup.sh test  install what is missing, build, run every test (also under ASan/UBSan and
#                          ThreadSanitizer, plus a bounded libFuzzer run of the decoder)
# Either way the daemon binary ends up at build/xtcp2.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-}
JOBS=${JOBS:-$(nproc)}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}

configure() {  # dir, extra cmake args...
  local dir=$1
  shift
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
}

case "$mode" in
  run)
    scripts/install-deps.sh "$mode"
    # Tests and benchmarks need test-only packages (gtest, benchmark) that `run` does not install.
    configure build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXTCP_BUILD_TESTS=OFF -DXTCP_BUILD_BENCH=OFF
    ninja -C build -j "$JOBS" xtcp2 >&2  # stdout is for records only
    exec build/xtcp2 -dest stdout -marshal jsonl -maxLoops 1 -pollJitterPct 0 -d 1
    ;;
  test)
    scripts/install-deps.sh "$mode"
    scripts/check-format.sh
    echo "== release build and tests" >&2
    configure build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXTCP_BUILD_TESTS=ON -DXTCP_BUILD_BENCH=ON
    ninja -C build -j "$JOBS"
    ctest --test-dir build --output-on-failure -j "$JOBS" --timeout 600
    echo "== ASan+UBSan build and tests" >&2
    configure build-asan -DCMAKE_BUILD_TYPE=Debug -DXTCP_SANITIZE=ON -DXTCP_BUILD_BENCH=OFF
    ninja -C build-asan -j "$JOBS"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0" \
      ctest --test-dir build-asan --output-on-failure -j "$JOBS" --timeout 900 -LE no_sanitizer
    echo "== ThreadSanitizer build (clang, -Wthread-safety -Werror) and tests" >&2
    configure build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
      -DCMAKE_CXX_COMPILER=clang++ -DXTCP_TSAN=ON -DXTCP_BUILD_BENCH=OFF
    ninja -C build-tsan -j "$JOBS"
    # librdkafka starts its threads with C11 thrd_create, which TSan cannot see (its runtime then
    # crashes in the first allocation of such a thread): tests with a kafka: sink (the -E list) run
    # in the other two builds.
    # The ss oracle tests (label root) check decoding, which has no threads, against a live ss:
    # their timing-sensitive fields are left to the other builds. The TSan runtime runs a thread
    # of its own, so the test that counts the HTTP server's threads runs in the other builds too.
    TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp" \
      ctest --test-dir build-tsan --output-on-failure -j "$JOBS" --timeout 900 \
      -LE 'no_sanitizer|no_tsan|root' -E '[Kk]afka|SchemaRegistryDaemon|SinkFactory.WellFormedNetwork|DaemonObserve.ReadyzFollowsPollingAndShutdown|HostileHttpTest.ServerUsesOneThread'
    echo "== libFuzzer: decoder, ${FUZZ_SECONDS}s" >&2
    configure build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
      -DCMAKE_CXX_COMPILER=clang++ -DXTCP_FUZZ=ON -DXTCP_BUILD_TESTS=OFF -DXTCP_BUILD_BENCH=OFF
    ninja -C build-fuzz -j "$JOBS" walker_fuzz
    corpus=$(mktemp -d)
    trap 'rm -rf "$corpus"' EXIT
    cp tests/testdata/*.bin "$corpus"/ 2>/dev/null || true
    build-fuzz/tests/fuzz/walker_fuzz -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 \
      -print_final_stats=1 "$corpus"
    ;;
  *)
    echo "usage: $0 run|test" >&2
    exit 2
    ;;
esac
