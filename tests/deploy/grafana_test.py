#!/usr/bin/python3
"""deploy/grafana/xtcp2.json against real data: every query of every panel returns series.

Starts two build/xtcp2 daemons on loopback (-dest null, and -dest http:// to a POST sink served by
this script, so the sink panels have a sink with counters and latencies), a Debian prometheus
scraping both every second, then asks Prometheus's HTTP API for each panel expression until it
returns data. Bounded: 120 s for everything. Usage: grafana_test.py <build/xtcp2> <dashboard.json>
"""
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

DEADLINE_S = 120


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        if "chunked" in self.headers.get("Transfer-Encoding", ""):
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                self.rfile.read(size + 2)
                if size == 0:
                    break
        else:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def expressions(dashboard):
    """(panel title, PromQL) of every target, Grafana's variables replaced as Grafana would."""
    out = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"].replace("$__rate_interval", "10s").replace('"$instance"', '".*"')
            out.append((panel["title"], expr))
    return out


def check_structure(dashboard):
    errors = []
    ids = [p["id"] for p in dashboard["panels"]]
    if len(ids) != len(set(ids)):
        errors.append("panel ids repeat")
    names = {v["name"] for v in dashboard["templating"]["list"]}
    if not {"datasource", "instance"} <= names:
        errors.append("templating needs the datasource and instance variables")
    for panel in dashboard["panels"]:
        if not panel.get("targets"):
            errors.append("panel %r has no query" % panel["title"])
        if panel.get("datasource", {}).get("uid") != "${datasource}":
            errors.append("panel %r does not use the datasource variable" % panel["title"])
        for target in panel.get("targets", []):
            if 'instance=~"$instance"' not in target["expr"]:
                errors.append("panel %r ignores $instance: %s" % (panel["title"], target["expr"]))
    return errors


def query(prom, expr):
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (prom, urllib.parse.urlencode({"query": expr}))
    with urllib.request.urlopen(url, timeout=5) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise ValueError("%s: %s" % (expr, body))
    return body["data"]["result"]


def main():
    xtcp2, dashboard_path = sys.argv[1], sys.argv[2]
    prometheus = shutil.which("prometheus")
    if not prometheus:
        print("SKIP: prometheus not installed")
        return 0
    with open(dashboard_path) as f:
        dashboard = json.load(f)
    errors = check_structure(dashboard)
    for e in errors:
        print("FAIL:", e)
    if errors:
        return 1

    sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    tmp = tempfile.mkdtemp(prefix="xtcp2-grafana-")
    procs = []
    try:
        targets = []
        for dest in ["null", "http://127.0.0.1:%d/xtcp" % sink.server_address[1]]:
            port = free_port()
            targets.append("127.0.0.1:%d" % port)
            procs.append(subprocess.Popen(
                [xtcp2, "-promListen", "127.0.0.1:%d" % port, "-dest", dest, "-frequency", "1s",
                 "-timeout", "500ms", "-pollJitterPct", "0", "-d", "0"],
                stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "xtcp2.log"), "a")))
        prom = free_port()
        with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
            f.write("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                    "scrape_configs:\n  - job_name: xtcp2\n    static_configs:\n"
                    "      - targets: [%s]\n" % ", ".join('"%s"' % t for t in targets))
        procs.append(subprocess.Popen(
            [prometheus, "--config.file=" + os.path.join(tmp, "prometheus.yml"),
             "--storage.tsdb.path=" + os.path.join(tmp, "data"),
             "--web.listen-address=127.0.0.1:%d" % prom],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "prometheus.log"), "w")))

        pending = expressions(dashboard) + [("variable instance", "xtcp2_build_info")]
        deadline = time.monotonic() + DEADLINE_S
        last_error = {}
        while pending and time.monotonic() < deadline:
            still = []
            for title, expr in pending:
                try:
                    if query(prom, expr):
                        continue
                    last_error[expr] = "no data"
                except (OSError, ValueError) as e:
                    last_error[expr] = str(e)
                still.append((title, expr))
            pending = still
            if pending:
                time.sleep(1)
        for title, expr in pending:
            print("FAIL: panel %r: %s -> %s" % (title, expr, last_error.get(expr)))
        for p in procs:
            if p.poll() is not None:
                print("FAIL: %s exited with %d" % (p.args[0], p.returncode))
                pending.append(("process", p.args[0]))
        if pending:
            for log in ("xtcp2.log", "prometheus.log"):
                with open(os.path.join(tmp, log)) as f:
                    print("---- %s (tail)\n%s" % (log, f.read()[-3000:]))
            return 1
        print("OK: %d queries of %d panels return data" %
              (len(expressions(dashboard)), len(dashboard["panels"])))
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
        sink.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
