#!/usr/bin/python3
"""A stock Prometheus scraping build/xtcp2 stores what it stores for upstream.

Prometheus asks for OpenMetrics first, so the counter family xtcp_counts must land as the series
xtcp_counts_total (as with upstream's promhttp), summaries as xtcp_histograms{quantile} plus _sum and
_count, and nothing as the bare name xtcp_counts. A scrape error would show in `up` and in
scrape_samples_scraped, so those are checked too. Bounded: 60 s.
Usage: openmetrics_scrape_test.py <build/xtcp2>
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from grafana_test import free_port, query  # noqa: E402

DEADLINE_S = 60

# expression -> what a result must satisfy
CHECKS = {
    'xtcp_counts_total{function="Poller",variable="pollingLoops",type="count"}':
        lambda v: v >= 1,
    'xtcp_histograms_count{function="Poller",variable="pollToDoneDuration",type="count"}':
        lambda v: v >= 1,
    'xtcp_histograms{function="Poller",variable="pollToDoneDuration",quantile="0.5"}':
        lambda v: v >= 0,
    'process_cpu_seconds_total': lambda v: v >= 0,
    'xtcp2_build_info': lambda v: v == 1,
    'up{job="xtcp2"}': lambda v: v == 1,
}
ABSENT = ['xtcp_counts', 'process_cpu_seconds']


def main():
    xtcp2 = sys.argv[1]
    prometheus = shutil.which("prometheus")
    if not prometheus:
        print("SKIP: prometheus not installed")
        return 0
    tmp = tempfile.mkdtemp(prefix="xtcp2-openmetrics-")
    procs = []
    try:
        port = free_port()
        procs.append(subprocess.Popen(
            [xtcp2, "-promListen", "127.0.0.1:%d" % port, "-dest", "null", "-frequency", "1s",
             "-timeout", "500ms", "-pollJitterPct", "0", "-d", "0"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "xtcp2.log"), "w")))
        prom = free_port()
        with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
            f.write("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                    "scrape_configs:\n  - job_name: xtcp2\n    static_configs:\n"
                    "      - targets: [\"127.0.0.1:%d\"]\n" % port)
        procs.append(subprocess.Popen(
            [prometheus, "--config.file=" + os.path.join(tmp, "prometheus.yml"),
             "--storage.tsdb.path=" + os.path.join(tmp, "data"),
             "--web.listen-address=127.0.0.1:%d" % prom],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "prometheus.log"), "w")))

        pending = dict(CHECKS)
        last = {}
        deadline = time.monotonic() + DEADLINE_S
        while pending and time.monotonic() < deadline:
            for expr, ok in list(pending.items()):
                try:
                    result = query(prom, expr)
                except (OSError, ValueError) as e:
                    last[expr] = str(e)
                    continue
                last[expr] = result
                if result and all(ok(float(r["value"][1])) for r in result):
                    del pending[expr]
            if pending:
                time.sleep(1)
        failed = False
        for expr in pending:
            print("FAIL: %s -> %s" % (expr, last.get(expr, "no answer")))
            failed = True
        if not pending:
            for expr in ABSENT:
                result = query(prom, expr)
                if result:
                    print("FAIL: %s should not exist with OpenMetrics: %s" % (expr, result))
                    failed = True
        if failed:
            for log in ("xtcp2.log", "prometheus.log"):
                with open(os.path.join(tmp, log)) as f:
                    print("---- %s (tail)\n%s" % (log, f.read()[-3000:]))
            return 1
        print("OK: Prometheus stored xtcp_counts_total and the summaries from OpenMetrics")
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
