#!/usr/bin/python3
"""The daemon's gRPC server, called over loopback by an independent client: Python's grpcio with
stubs that grpc_tools generates here from our protos (and from the standard health/reflection
contracts in protos/grpc_std/: their proto packages are grpc.health.v1 and grpc.reflection.v1alpha;
the directory only keeps the Python modules clear of the grpc package).

Each case starts build/xtcp2 on free ports with -dest file (protobufList) and checks:
  wire      health SERVING once polling, reflection lists the services, Get, FlatRecords records
            equal the file sink's records of the same polls, PollFlatRecords triggers a poll,
            TriggerPoll, SetPollFrequency (valid and invalid), TriggerPollBurst (3 at 1 s = 3
            polls; busy; interval <= timeout; count 0), SetS3Upload (not s3parquet), Set (nil,
            invalid, grpc_port, oversized, valid: a restart to a new file and marshaller, rows
            counted over both pipelines)
  slow      a client that never reads: drops counted, polls on time, RSS flat, the sink loses
            nothing; 50 clients connecting and leaving x3: clients, threads, fds back to baseline
  stopping  health NOT_SERVING while the daemon drains a sink that never reads; exit 3
  security  the default listener is loopback only; a Unix socket serves; mutual TLS refuses a
            client without a certificate, and plaintext
Bounded: every wait has a deadline; the whole run well under 240 s.
Usage: grpc_test.py <build/xtcp2> <source dir>
"""
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

XTCP2, SOURCE = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix="xtcp2-grpc-")
HERE = os.path.dirname(os.path.abspath(__file__))
FAILURES = []

try:
    import grpc
    from grpc_tools import protoc
except ImportError as e:
    print(f"SKIP: python3-grpcio / python3-grpc-tools not installed ({e})")
    sys.exit(0)


def generate_stubs():
    out = os.path.join(TMP, "gen")
    os.makedirs(out)
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    for root, files in ((os.path.join(SOURCE, "proto"),
                         ["xtcp_flat_record/v1/xtcp_flat_record.proto",
                          "xtcp_config/v1/xtcp_config.proto"]),
                        (os.path.join(HERE, "protos"),
                         ["grpc_std/health.proto", "grpc_std/reflection.proto"])):
        rc = protoc.main(["protoc", f"-I{root}", f"-I{include}", f"--python_out={out}",
                          f"--grpc_python_out={out}"] + files)
        if rc != 0:
            sys.exit(f"protoc failed for {files}")
    sys.path.insert(0, out)


generate_stubs()
from xtcp_config.v1 import xtcp_config_pb2 as cfgpb  # noqa: E402
from xtcp_config.v1 import xtcp_config_pb2_grpc as cfggrpc  # noqa: E402
from xtcp_flat_record.v1 import xtcp_flat_record_pb2 as recpb  # noqa: E402
from xtcp_flat_record.v1 import xtcp_flat_record_pb2_grpc as recgrpc  # noqa: E402
from grpc_std import health_pb2, health_pb2_grpc  # noqa: E402
from grpc_std import reflection_pb2, reflection_pb2_grpc  # noqa: E402


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)
    return cond


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


class Daemon:
    def __init__(self, name, args, grpc_args=None):
        self.prom = free_port()
        self.port = free_port()
        self.dir = os.path.join(TMP, name)
        os.makedirs(self.dir)
        self.records = os.path.join(self.dir, "records.pb")
        if grpc_args is None:
            grpc_args = ["-grpcListen", f"127.0.0.1:{self.port}"]
        self.log = open(os.path.join(self.dir, "daemon.log"), "wb")
        self.proc = subprocess.Popen(
            [XTCP2, "-dest", f"file:{self.records}", "-marshal", "protobufList",
             "-promListen", f"127.0.0.1:{self.prom}", "-shutdownTimeout", "5s"] + grpc_args + args,
            stdout=self.log, stderr=subprocess.STDOUT)
        self.name = name

    def metrics(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.prom}/metrics", timeout=2) as r:
                return r.read().decode()
        except OSError:
            return ""

    def count(self, function, variable, kind="count", family="xtcp_counts"):
        pat = re.compile(rf'^{family}\{{function="{re.escape(function)}",type="{kind}",'
                         rf'variable="{re.escape(variable)}"\}} (\S+)$', re.M)
        m = pat.search(self.metrics())
        return float(m.group(1)) if m else -1.0

    def proc_status(self, key):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return -1

    def fds(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def text(self):
        if not self.log.closed:
            self.log.flush()
        with open(os.path.join(self.dir, "daemon.log"), errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.log.close()
        return rc


def read_varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        if not c & 0x80:
            return v, i
        shift += 7


def file_records(path):
    """record_counter -> XtcpFlatRecord of a protobufList file (varint-prefixed Envelopes)."""
    out = {}
    if not os.path.exists(path):
        return out
    with open(path, "rb") as f:
        data = f.read()
    i = 0
    while i < len(data):
        n, i = read_varint(data, i)
        env = recpb.Envelope()
        env.ParseFromString(data[i:i + n])
        i += n
        for r in env.row:
            out[r.record_counter] = r
    return out


def duration(seconds):
    d = cfgpb.XtcpConfig().poll_frequency.__class__()
    d.FromMilliseconds(int(seconds * 1000))
    return d


def code_of(fn):
    try:
        fn()
        return grpc.StatusCode.OK, ""
    except grpc.RpcError as e:
        return e.code(), e.details() or ""


# ---------------------------------------------------------------------------------------------
def case_wire():
    d = Daemon("wire", ["-frequency", "2s", "-timeout", "500ms"])
    try:
        ch = grpc.insecure_channel(f"127.0.0.1:{d.port}")
        grpc.channel_ready_future(ch).result(timeout=20)
        health = health_pb2_grpc.HealthStub(ch)
        serving = wait_for(lambda: health.Check(health_pb2.HealthCheckRequest(), timeout=2).status
                           == health_pb2.HealthCheckResponse.SERVING, 20)
        check(serving, "health: SERVING once the first poll started")

        refl = reflection_pb2_grpc.ServerReflectionStub(ch)
        resp = next(refl.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(
            list_services="")]), timeout=5))
        names = {s.name for s in resp.list_services_response.service}
        check({"xtcp_config.v1.ConfigService", "xtcp_flat_record.v1.XTCPFlatRecordService",
               "grpc.health.v1.Health"} <= names, f"reflection lists the services: {sorted(names)}")
        resp = next(refl.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(
            file_containing_symbol="xtcp_config.v1.ConfigService")]), timeout=5))
        check(len(resp.file_descriptor_response.file_descriptor_proto) >= 1,
              "reflection serves the file of ConfigService")

        conf = cfgpb_stub = cfggrpc.ConfigServiceStub(ch)
        got = conf.Get(cfgpb.GetRequest(), timeout=5).config
        check(got.dest == f"file:{d.records}" and got.marshal_to == "protobufList" and
              got.grpc_port == 8889 and got.poll_frequency.ToMilliseconds() == 2000,
              f"Get: the running configuration (dest {got.dest})")

        # FlatRecords: every streamed record is the file sink's record of the same counter.
        recs = recgrpc.XTCPFlatRecordServiceStub(ch)
        streamed = []
        stream = recs.FlatRecords(recpb.FlatRecordsRequest(), timeout=30)
        for r in stream:
            streamed.append(r.xtcp_flat_record)
            if len(streamed) >= 200:
                break
        stream.cancel()
        check(len(streamed) >= 200, f"FlatRecords streamed {len(streamed)} records")

        # PollFlatRecords: a request is a poll (Poller/pollRequestCh) and records come back.
        check(conf.SetPollFrequency(cfgpb.SetPollFrequencyRequest(
            poll_frequency=duration(60), poll_timeout=duration(0.5)), timeout=5)
            .config.poll_frequency.ToSeconds() == 60, "SetPollFrequency: 60s in force")
        check(d.count("Poller", "ticker.Reset") == 1, "SetPollFrequency resets the ticker")
        time.sleep(0.5)
        before = d.count("Poller", "pollRequestCh")
        done_before = d.count("Poller", "complete")
        reqs = threading.Event()

        def requests():
            yield recpb.PollFlatRecordsRequest()
            reqs.wait(30)
        bidi = recs.PollFlatRecords(requests(), timeout=30)
        first = next(bidi)
        check(first.xtcp_flat_record.record_counter > 0, "PollFlatRecords: records come back")
        check(wait_for(lambda: d.count("Poller", "pollRequestCh") == before + 1, 5),
              "PollFlatRecords: its request was one poll")
        reqs.set()
        bidi.cancel()

        # A TriggerPoll while that poll still runs is absorbed by it (upstream's alreadyPolling):
        # wait for it to end first.
        wait_for(lambda: d.count("Poller", "complete") >= done_before + 1, 5)
        before = d.count("Poller", "pollRequestCh")
        conf.TriggerPoll(cfgpb.TriggerPollRequest(), timeout=5)
        check(wait_for(lambda: d.count("Poller", "pollRequestCh") == before + 1, 5),
              "TriggerPoll: one poll")

        # Bursts: 3 polls 1 s apart; a second while it runs is refused; bad values refused.
        time.sleep(0.6)
        polls = d.count("Poller", "pollRequestCh")
        r = conf.TriggerPollBurst(cfgpb.TriggerPollBurstRequest(count=3, interval=duration(1)),
                                  timeout=5)
        check(r.count == 3 and r.interval.ToSeconds() == 1, "TriggerPollBurst echoes 3 x 1s")
        code, _ = code_of(lambda: conf.TriggerPollBurst(cfgpb.TriggerPollBurstRequest(
            count=2, interval=duration(1)), timeout=5))
        check(code == grpc.StatusCode.RESOURCE_EXHAUSTED, f"a second burst is refused: {code}")
        check(wait_for(lambda: d.count("Poller", "pollRequestCh") == polls + 3, 8),
              f"the burst made 3 polls ({d.count('Poller', 'pollRequestCh') - polls:.0f})")
        check(d.count("pollBurstRunner", "poke") == 3, "pollBurstRunner/poke/count = 3")
        time.sleep(0.3)
        check(d.count("Poller", "pollRequestCh") == polls + 3, "and no more")
        conf.SetPollFrequency(cfgpb.SetPollFrequencyRequest(
            poll_frequency=duration(60), poll_timeout=duration(2)), timeout=5)
        code, msg = code_of(lambda: conf.TriggerPollBurst(cfgpb.TriggerPollBurstRequest(
            count=2, interval=duration(2)), timeout=5))
        check(code == grpc.StatusCode.INVALID_ARGUMENT and "poll_timeout" in msg,
              f"burst interval <= poll timeout: {code} {msg}")
        code, msg = code_of(lambda: conf.TriggerPollBurst(cfgpb.TriggerPollBurstRequest(
            count=2, interval=duration(0.5)), timeout=5))
        check(code == grpc.StatusCode.INVALID_ARGUMENT and "interval" in msg,
              f"burst interval below 1s: {msg}")
        code, msg = code_of(lambda: conf.TriggerPollBurst(cfgpb.TriggerPollBurstRequest(
            count=0, interval=duration(2)), timeout=5))
        check(code == grpc.StatusCode.INVALID_ARGUMENT and "count" in msg, f"count 0: {msg}")

        # SetPollFrequency rules.
        code, msg = code_of(lambda: conf.SetPollFrequency(cfgpb.SetPollFrequencyRequest(
            poll_frequency=duration(2), poll_timeout=duration(2)), timeout=5))
        check(code == grpc.StatusCode.INVALID_ARGUMENT and "poll_timeout" in msg,
              f"timeout >= frequency: {msg}")
        code, msg = code_of(lambda: conf.SetPollFrequency(cfgpb.SetPollFrequencyRequest(
            poll_frequency=duration(2)), timeout=5))
        check(code == grpc.StatusCode.INVALID_ARGUMENT and "required" in msg,
              f"timeout missing: {msg}")

        code, msg = code_of(lambda: conf.SetS3Upload(cfgpb.SetS3UploadRequest(
            s3_parquet_flush_threshold_bytes=1 << 20), timeout=5))
        check(code == grpc.StatusCode.FAILED_PRECONDITION and "not s3parquet" in msg,
              f"SetS3Upload on a file: sink: {code}")

        # Set: refused requests change nothing.
        code, msg = code_of(lambda: conf.Set(cfgpb.SetRequest(), timeout=5))
        check(code == grpc.StatusCode.INVALID_ARGUMENT and "required" in msg, f"Set nil: {msg}")
        bad = conf.Get(cfgpb.GetRequest(), timeout=5).config
        bad.netlinkers = 0
        code, msg = code_of(lambda: conf.Set(cfgpb.SetRequest(config=bad), timeout=5))
        check(code == grpc.StatusCode.INVALID_ARGUMENT and "-netlinkers" in msg,
              f"Set netlinkers 0: {msg}")
        bad.netlinkers = 4
        bad.grpc_port = 9999
        code, msg = code_of(lambda: conf.Set(cfgpb.SetRequest(config=bad), timeout=5))
        check(code == grpc.StatusCode.INVALID_ARGUMENT and "grpc_port" in msg,
              f"Set grpc_port: {msg}")
        bad.grpc_port = 8889
        bad.label = "x" * 5_000_000
        code, _ = code_of(lambda: conf.Set(cfgpb.SetRequest(config=bad), timeout=10))
        check(code == grpc.StatusCode.RESOURCE_EXHAUSTED, f"a 5 MB Set is refused: {code}")
        check(conf.Get(cfgpb.GetRequest(), timeout=5).config.netlinkers == 4,
              "nothing changed by the refused Sets")

        # Every record streamed so far was written by the file sink, the same.
        conf.TriggerPoll(cfgpb.TriggerPollRequest(), timeout=5)
        time.sleep(1.0)
        # Set: a restart onto a new file and marshaller.
        new_file = os.path.join(d.dir, "after.csv")
        good = conf.Get(cfgpb.GetRequest(), timeout=5).config
        good.dest = f"file:{new_file}"
        good.marshal_to = "csv"
        good.poll_frequency.CopyFrom(duration(1))
        good.poll_timeout.CopyFrom(duration(0.5))
        now = conf.Set(cfgpb.SetRequest(config=good), timeout=60).config
        check(now.dest == f"file:{new_file}" and now.marshal_to == "csv",
              f"Set: the new configuration in force ({now.dest})")
        check(wait_for(lambda: os.path.exists(new_file) and os.path.getsize(new_file) > 0, 10),
              "the restarted pipeline writes the new file")
        check(conf.Get(cfgpb.GetRequest(), timeout=5).config.marshal_to == "csv",
              "Get shows the new configuration")
        before_file = file_records(d.records)
        same = sum(1 for r in streamed if before_file.get(r.record_counter) == r)
        check(same == len(streamed) and len(streamed) > 0,
              f"streamed records equal the file sink's ({same}/{len(streamed)})")
        with open(new_file) as f:
            header = f.readline()
        check("hostname" in header or "Hostname" in header, "the new file is csv with a header")
    finally:
        rc = d.stop()
    text = d.text()
    check(rc == 0, f"wire: exit status {rc}")
    check("seccomp: blocked" not in text,
          "no system call of the gRPC server or the restart was blocked by the seccomp policy")
    m = re.search(r"stopped: (\d+) rows accepted by the sink \S+, (\d+) rows lost", text)
    total = len(file_records(d.records))
    if os.path.exists(os.path.join(d.dir, "after.csv")):
        with open(os.path.join(d.dir, "after.csv")) as f:
            total += sum(1 for line in f if line.strip() and "ostname" not in line)
    check(m is not None and int(m.group(2)) == 0 and int(m.group(1)) == total,
          f"rows accepted over both pipelines = rows in the two files ({m and m.group(1)} / "
          f"{total}), none lost")


# ---------------------------------------------------------------------------------------------
def load_sockets(n):
    """n loopback connections (2n sockets) so every poll has many records."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 20000), hard))
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4096)
    keep = [srv]
    for _ in range(n):
        c = socket.create_connection(srv.getsockname(), timeout=5)
        keep.append(c)
        keep.append(srv.accept()[0])
    return keep


def case_slow():
    keep = load_sockets(1500)
    d = Daemon("slow", ["-frequency", "1s", "-timeout", "500ms", "-grpcClientBuffer", "65536"])
    try:
        ch = grpc.insecure_channel(f"127.0.0.1:{d.port}")
        grpc.channel_ready_future(ch).result(timeout=20)
        recs = recgrpc.XTCPFlatRecordServiceStub(ch)
        # Warm up: one client reads, so gRPC's threads exist before the baseline.
        s = recs.FlatRecords(recpb.FlatRecordsRequest(), timeout=20)
        next(s)
        s.cancel()
        wait_for(lambda: d.count("RecordFanout", "clients", "gauge", "xtcp_gauges") == 0, 10)
        time.sleep(1)
        base_rss = d.proc_status("VmRSS")

        # A client that never reads.
        stalled = recs.FlatRecords(recpb.FlatRecordsRequest(), timeout=60)
        polls0 = d.count("Poller", "pollingLoops")
        t0 = time.monotonic()
        dropped = wait_for(lambda: d.count("flatRecordServiceSend", "frQueueFull", "error") > 0, 15)
        check(dropped, "a client that never reads: its rows are dropped and counted "
                       f"({d.count('flatRecordServiceSend', 'frQueueFull', 'error'):.0f})")
        time.sleep(6)
        polls = d.count("Poller", "pollingLoops") - polls0
        elapsed = time.monotonic() - t0
        check(polls >= elapsed / 1.2 - 2, f"polls keep their cadence: {polls:.0f} in {elapsed:.1f}s")
        rss = d.proc_status("VmRSS")
        check(rss < base_rss + 64 * 1024, f"RSS stays flat: {base_rss} -> {rss} kB")
        check("dropped for clients that are behind" in d.text(), "a WARN names the drops")
        stalled.cancel()
        check(wait_for(lambda: d.count("RecordFanout", "clients", "gauge", "xtcp_gauges") == 0,
                       10), "the stalled client is reaped when it goes")

        # 50 clients connecting and leaving: a warm-up round (gRPC sizes its thread pool to the
        # load), then three more that must leave threads and fds where the warm-up left them.
        # Each client is its own connection, as 50 separate programs would be (gRPC Python
        # otherwise shares one connection, and upstream's 20 streams per connection apply).
        def clients_round(rnd):
            streams, got = [], [0]
            lock = threading.Lock()

            def reader(st):
                try:
                    for _ in st:
                        with lock:
                            got[0] += 1
                        break
                except grpc.RpcError:
                    pass
            threads = []
            for _ in range(50):
                c = grpc.insecure_channel(f"127.0.0.1:{d.port}",
                                          options=(("grpc.use_local_subchannel_pool", 1),))
                st = recgrpc.XTCPFlatRecordServiceStub(c).FlatRecords(
                    recpb.FlatRecordsRequest(), timeout=30)
                streams.append((c, st))
                t = threading.Thread(target=reader, args=(st,))
                t.start()
                threads.append(t)
            for t in threads:
                t.join(30)
            check(got[0] == 50, f"round {rnd}: 50 concurrent clients each got a record ({got[0]})")
            for c, st in streams:
                st.cancel()
                c.close()
            check(wait_for(lambda: d.count("RecordFanout", "clients", "gauge", "xtcp_gauges")
                           == 0, 15), f"round {rnd}: every client reaped")

        clients_round("warm-up")
        time.sleep(1)
        base_threads, base_fds = d.proc_status("Threads"), d.fds()
        for rnd in range(3):
            clients_round(rnd)
        ok_threads = wait_for(lambda: d.proc_status("Threads") <= base_threads + 2, 15)
        check(ok_threads, f"threads back to baseline: {base_threads} -> {d.proc_status('Threads')}")
        ok_fds = wait_for(lambda: d.fds() <= base_fds + 2, 15)
        check(ok_fds, f"fds back to baseline: {base_fds} -> {d.fds()}")
    finally:
        rc = d.stop()
        for s in keep:
            s.close()
    check("seccomp: blocked" not in d.text(), "slow: no system call blocked by the seccomp policy")
    m = re.search(r"stopped: (\d+) rows accepted by the sink \S+, (\d+) rows lost", d.text())
    check(rc == 0 and m is not None and int(m.group(2)) == 0 and
          int(m.group(1)) == len(file_records(d.records)),
          f"slow: the sink lost nothing to the slow clients (exit {rc}; "
          f"{m and m.group(1)} rows = {len(file_records(d.records))} in the file)")


# ---------------------------------------------------------------------------------------------
def case_stopping():
    """Health says NOT_SERVING while the daemon drains a sink that does not read."""
    keep = load_sockets(1500)
    hole = socket.socket()
    hole.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    hole.bind(("127.0.0.1", 0))
    hole.listen(1)
    port = free_port()
    # A later -dest replaces the file one Daemon gives.
    d = Daemon("stopping", ["-frequency", "1s", "-timeout", "500ms",
                            "-dest", f"tcp:127.0.0.1:{hole.getsockname()[1]}"],
               grpc_args=["-grpcListen", f"127.0.0.1:{port}"])
    try:
        ch = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(ch).result(timeout=20)
        health = health_pb2_grpc.HealthStub(ch)
        serving = health_pb2.HealthCheckResponse.SERVING
        check(wait_for(lambda: health.Check(health_pb2.HealthCheckRequest(), timeout=2).status
                       == serving, 20), "stopping: SERVING while polling")
        conn, _ = hole.accept()  # accepted, never read
        check(wait_for(lambda: d.count("Output", "queueFull", "error") > 0, 30),
              "the sink is stuck: the output queue fills")
        d.proc.send_signal(signal.SIGTERM)
        status = wait_for(lambda: (lambda st: st if st != serving else None)(
            health.Check(health_pb2.HealthCheckRequest(), timeout=2).status), 3)
        check(status == health_pb2.HealthCheckResponse.NOT_SERVING,
              f"health NOT_SERVING while the sink drains ({status})")
        try:
            d.proc.wait(timeout=30)  # within -shutdownTimeout; a second signal would not drain
        except subprocess.TimeoutExpired:
            pass
    finally:
        rc = d.stop()
        for s_ in keep + [hole]:
            s_.close()
    check(rc == 3, f"a run that lost rows to the stuck sink exits 3 ({rc})")


# ---------------------------------------------------------------------------------------------
def outside_address():
    """An address of this host that is not loopback, if it has one."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"],
                         capture_output=True, text=True).stdout
    m = re.search(r"inet (\d+\.\d+\.\d+\.\d+)/", out)
    return m.group(1) if m else None


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True, cwd=TMP)


def make_certs():
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
            "-keyout", "ca.key", "-out", "ca.pem")
    for name, cn in (("server", "localhost"), ("client", "xtcp2ctl")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}",
                "-keyout", f"{name}.key", "-out", f"{name}.csr")
        with open(os.path.join(TMP, f"{name}.ext"), "w") as f:
            f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n" if name == "server"
                    else "extendedKeyUsage=clientAuth\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-out", f"{name}.pem", "-extfile", f"{name}.ext")

    def read(n):
        with open(os.path.join(TMP, n), "rb") as f:
            return f.read()
    return read


def case_security():
    port = free_port()
    d = Daemon("loopback", ["-frequency", "2s"], grpc_args=["-grpcPort", str(port)])
    try:
        ch = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(ch).result(timeout=20)
        check(cfggrpc.ConfigServiceStub(ch).Get(cfgpb.GetRequest(), timeout=5).config.grpc_port
              == port, "default listener: reachable on 127.0.0.1")
        addr = outside_address()
        if addr:
            with socket.socket() as s:
                s.settimeout(2)
                refused = s.connect_ex((addr, port)) != 0
            check(refused, f"default listener: not reachable on {addr}")
        else:
            print(f"note: no non-loopback address here; only loopback checked")
        check("(plaintext)" in d.text() and f"localhost:{port}" in d.text(),
              "the log names the address and plaintext")
    finally:
        check(d.stop() == 0, "loopback daemon exits 0")

    # A Unix socket instead of TCP.
    path = os.path.join(TMP, "grpc.sock")
    d = Daemon("unix", ["-frequency", "2s"], grpc_args=["-grpcListen", f"unix:{path}"])
    try:
        ok = wait_for(lambda: os.path.exists(path), 20)
        ch = grpc.insecure_channel(f"unix:{path}")
        grpc.channel_ready_future(ch).result(timeout=20)
        check(ok and cfggrpc.ConfigServiceStub(ch).Get(cfgpb.GetRequest(), timeout=5)
              .config.dest.startswith("file:"), f"-grpcListen unix:{path} serves Get")
    finally:
        check(d.stop() == 0, "unix-socket daemon exits 0")

    if shutil.which("openssl") is None:
        print("note: no openssl: mutual TLS not checked")
        return
    read = make_certs()
    d = Daemon("mtls", ["-frequency", "2s"], grpc_args=[
        "-grpcListen", f"127.0.0.1:{free_port()}",
        "-grpcTlsCert", os.path.join(TMP, "server.pem"),
        "-grpcTlsKey", os.path.join(TMP, "server.key"),
        "-grpcClientCa", os.path.join(TMP, "ca.pem")])
    port = int(wait_for(lambda: (re.search(r"reflection on 127\.0\.0\.1:(\d+) \(mutual TLS\)",
                                           d.text()) or [None, 0])[1], 20) or 0)
    try:
        check(port > 0, "mTLS daemon logs its address")
        opts = (("grpc.ssl_target_name_override", "localhost"),)
        good = grpc.secure_channel(f"127.0.0.1:{port}", grpc.ssl_channel_credentials(
            read("ca.pem"), read("client.key"), read("client.pem")), options=opts)
        check(cfggrpc.ConfigServiceStub(good).Get(cfgpb.GetRequest(), timeout=10).config.dest
              .startswith("file:"), "mTLS: a client with a certificate is served")
        nocert = grpc.secure_channel(f"127.0.0.1:{port}",
                                     grpc.ssl_channel_credentials(read("ca.pem")), options=opts)
        code, _ = code_of(lambda: cfggrpc.ConfigServiceStub(nocert).Get(cfgpb.GetRequest(),
                                                                          timeout=5))
        check(code == grpc.StatusCode.UNAVAILABLE, f"mTLS: a client without one is refused: {code}")
        plain = grpc.insecure_channel(f"127.0.0.1:{port}")
        code, _ = code_of(lambda: cfggrpc.ConfigServiceStub(plain).Get(cfgpb.GetRequest(),
                                                                         timeout=5))
        check(code == grpc.StatusCode.UNAVAILABLE, f"mTLS: plaintext is refused: {code}")
    finally:
        check(d.stop() == 0, "mTLS daemon exits 0")


def main():
    deadline = threading.Timer(220, lambda: (print("FAIL: the test ran out of time"),
                                             os._exit(1)))
    deadline.daemon = True
    deadline.start()
    try:
        for case in (case_wire, case_slow, case_stopping, case_security):
            print(f"---- {case.__name__}", flush=True)
            try:
                case()
            except Exception as e:  # a case that blew up is a failure, the others still run
                import traceback
                traceback.print_exc()
                check(False, f"{case.__name__} raised {type(e).__name__}: {e}")
    finally:
        if FAILURES:
            for d in sorted(os.listdir(TMP)):
                log = os.path.join(TMP, d, "daemon.log")
                if os.path.exists(log):
                    with open(log, errors="replace") as f:
                        print(f"---- {d}/daemon.log (tail)\n" + "".join(f.readlines()[-15:]))
        shutil.rmtree(TMP, ignore_errors=True)
    print(f"{'FAILED' if FAILURES else 'OK'}: {len(FAILURES)} failures")
    sys.exit(1 if FAILURES else 0)


main()
