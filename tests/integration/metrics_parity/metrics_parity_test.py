#!/usr/bin/python3
"""Metric triples: what build/xtcp2 emits, against the list kept here and against upstream's.

Starts one daemon per sink kind at once (null, stdout, stderr, file, tcp, udp, unix, unixgram, http,
kafka; each with local peers on loopback or in a temporary directory, -enrichContainer (no
# engine: its error triples) -enrichNic -enrichLldp
-populateNsid on the null one), scrapes /metrics (text 0.0.4) after two polls, and collects every
xtcp_counts and xtcp_histograms triple. Then:
  1. the union equals emitted_triples.txt exactly (a new or vanished triple must be written down);
  2. every upstream triple (upstream_triples.txt, reference §9.3) is emitted, or listed in
     docs/compatibility.md under "Upstream triples not emitted" with a reason;
  3. nothing that page lists as not emitted is emitted (its claim is true).
Bounded: 60 s. Usage: metrics_parity_test.py <build/xtcp2> <source dir>
"""
import http.server
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
DEADLINE_S = 60
SAMPLE = re.compile(
    r'^(xtcp_counts|xtcp_histograms_count)\{function="([^"]*)",type="([^"]*)",variable="([^"]*)"\}')


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        if "chunked" in self.headers.get("Transfer-Encoding", ""):
            for _ in range(100000):
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


def read_list(path):
    out = set()
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                family, triple = line.split()
                out.add((family, triple))
    return out


def doc_not_emitted(source):
    """(family, triple) -> reason, from the table under '## Upstream triples not emitted'."""
    with open(os.path.join(source, "docs", "compatibility.md")) as f:
        text = f.read()
    start = text.find("## Upstream triples not emitted")
    if start < 0:
        return {}
    end = text.find("\n## ", start + 1)
    section = text[start:end if end > 0 else len(text)]
    out = {}
    for row in re.finditer(r"^\| `(counts|histograms) ([^`]+)` \| ([^|]+) \|", section, re.M):
        for triple in row.group(2).split(", "):
            out[(row.group(1), triple.strip())] = row.group(3).strip()
    return out


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
        return r.read().decode()


def triples(body):
    out = set()
    for line in body.splitlines():
        m = SAMPLE.match(line)
        if m:
            family = "counts" if m.group(1) == "xtcp_counts" else "histograms"
            out.add((family, "%s/%s/%s" % (m.group(2), m.group(4), m.group(3))))
    return out


def polls(body):
    m = re.search(r'^xtcp_counts\{function="Poller",type="count",variable="complete"\} (\S+)',
                  body, re.M)
    return float(m.group(1)) if m else 0


def main():
    xtcp2, source = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="xtcp2-parity-")
    http_sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=http_sink.serve_forever, daemon=True).start()
    peers = []
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(16)
    peers.append(tcp)
    unix_path = os.path.join(tmp, "stream.sock")
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind(unix_path)
    unix.listen(16)
    peers.append(unix)
    gram_path = os.path.join(tmp, "gram.sock")
    gram = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    gram.bind(gram_path)
    peers.append(gram)
    dests = [
        ("null", ["-enrichNic", "-enrichLldp", "-populateNsid", "-enrichContainer",
                  "-dockerSocket", os.path.join(tmp, "no-docker.sock")]),
        ("stdout", []),
        ("stderr", []),
        ("file:" + os.path.join(tmp, "records"), []),
        ("tcp:127.0.0.1:%d" % tcp.getsockname()[1], []),
        ("udp:127.0.0.1:%d" % free_port(socket.SOCK_DGRAM), []),
        ("unix:" + unix_path, []),
        ("unixgram:" + gram_path, []),
        ("http://127.0.0.1:%d/xtcp" % http_sink.server_address[1], []),
        ("kafka:127.0.0.1:%d" % free_port(), []),
    ]
    procs = []
    try:
        for dest, extra in dests:
            port = free_port()
            p = subprocess.Popen(
                [xtcp2, "-promListen", "127.0.0.1:%d" % port, "-dest", dest, "-frequency", "1s",
                 "-timeout", "500ms", "-pollJitterPct", "0", "-d", "0"] + extra,
                stdout=subprocess.DEVNULL,
                stderr=open(os.path.join(tmp, "xtcp2-%d.log" % len(procs)), "w"))
            procs.append((dest, port, p))
        emitted = set()
        pending = list(procs)
        deadline = time.monotonic() + DEADLINE_S
        while pending and time.monotonic() < deadline:
            still = []
            for dest, port, p in pending:
                try:
                    body = scrape(port)
                except OSError:
                    body = ""
                if polls(body) >= 2:
                    emitted |= triples(body)
                else:
                    still.append((dest, port, p))
            pending = still
            if pending:
                time.sleep(0.5)
        failed = []
        for dest, port, p in pending:
            failed.append("no two polls from -dest %s (exit %s)" % (dest, p.poll()))

        expected = read_list(os.path.join(HERE, "emitted_triples.txt"))
        for t in sorted(emitted - expected):
            failed.append("emitted but not in emitted_triples.txt: %s %s" % t)
        for t in sorted(expected - emitted):
            failed.append("in emitted_triples.txt but not emitted: %s %s" % t)
        upstream = read_list(os.path.join(HERE, "upstream_triples.txt"))
        missing_doc = doc_not_emitted(source)
        for t in sorted(upstream - emitted):
            if t not in missing_doc:
                failed.append("upstream %s %s neither emitted nor listed in compatibility.md" % t)
        for t in sorted(set(missing_doc) & emitted):
            failed.append("compatibility.md says %s %s is not emitted, but it is" % t)
        for t in sorted(set(missing_doc) - upstream):
            failed.append("compatibility.md lists %s %s, which is not an upstream triple" % t)
        for f in failed:
            print("FAIL:", f)
        if failed:
            for i in range(len(procs)):
                with open(os.path.join(tmp, "xtcp2-%d.log" % i), errors="replace") as f:
                    print("---- xtcp2 -dest %s (tail)\n%s" % (procs[i][0], f.read()[-1500:]))
            return 1
        print("OK: %d triples emitted; %d of %d upstream triples emitted, %d listed as not" %
              (len(emitted), len(upstream & emitted), len(upstream), len(upstream - emitted)))
        return 0
    finally:
        for _, _, p in procs:
            if p.poll() is None:
                p.terminate()
        for _, _, p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        http_sink.shutdown()
        for s in peers:
            s.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
