#!/usr/bin/python3
"""deploy/kubernetes and deploy/compose: valid YAML, and everything they ask of xtcp2 exists.

Every flag passed to xtcp2 (args, command, healthcheck) must be listed by `xtcp2 -help`, and every
environment variable set on it must be a flag's [env NAME] or a known runtime variable. The
DaemonSet must grant the capabilities, namespaces, mounts and probes the daemon needs.
Usage: manifests_test.py <build/xtcp2> <source dir>
"""
import os
import re
import subprocess
import sys

import yaml

RUNTIME_ENV = {"TCMALLOC_SAMPLE_PARAMETER"}  # read by tcmalloc, not a flag
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def help_text(xtcp2):
    r = subprocess.run([xtcp2, "-help"], capture_output=True, text=True, timeout=30)
    text = r.stdout + r.stderr
    flags = set(re.findall(r"^\s+-([A-Za-z][A-Za-z0-9_.]*)", text, re.M))
    envs = set(re.findall(r"\[env ([A-Z0-9_]+)\]", text))
    return flags, envs


def check_argv(argv, flags, where):
    for arg in argv:
        if not isinstance(arg, str) or not arg.startswith("-") or arg == "-":
            continue
        name = arg.lstrip("-").split("=", 1)[0]
        check(name in flags, "%s: xtcp2 has no flag -%s" % (where, name))


def check_daemonset(ds, flags, envs):
    spec = ds["spec"]["template"]["spec"]
    check(spec.get("hostPID") is True, "DaemonSet: hostPID (namespaces via /proc/<pid>/ns/net)")
    check(spec.get("hostNetwork") is True, "DaemonSet: hostNetwork (node namespace as default)")
    (c,) = [c for c in spec["containers"] if c["name"] == "xtcp2"]
    check_argv(c.get("command", [])[1:] + c.get("args", []), flags, "DaemonSet args")
    for e in c.get("env", []):
        check(e["name"] in envs or e["name"] in RUNTIME_ENV, "DaemonSet: unknown env %s" % e["name"])
    caps = set(c["securityContext"]["capabilities"]["add"])
    check({"NET_ADMIN", "SYS_ADMIN", "SYS_PTRACE"} <= caps, "DaemonSet capabilities: %s" % caps)
    check(c["securityContext"].get("privileged") is not True, "DaemonSet must not be privileged")
    mounts = {m["mountPath"] for m in c["volumeMounts"]}
    check({"/run/netns", "/run/docker/netns"} <= mounts, "DaemonSet mounts: %s" % mounts)
    check(c["readinessProbe"]["httpGet"]["path"] == "/readyz", "readinessProbe on /readyz")
    check(c["livenessProbe"]["httpGet"]["path"] == "/healthz", "livenessProbe on /healthz")
    check("requests" in c["resources"] and "limits" in c["resources"], "DaemonSet resources")
    check(c["command"][0] == "/xtcp2", "DaemonSet execs /xtcp2 (the image's path)")


def check_compose(doc, flags, source):
    services = doc["services"]
    check({"xtcp2", "redpanda", "clickhouse"} <= set(services), "compose services")
    x = services["xtcp2"]
    check_argv(x.get("command", []), flags, "compose xtcp2 command")
    test = x["healthcheck"]["test"]
    check(test[:3] == ["CMD", "/xtcp2", "-healthcheck"], "compose healthcheck: %s" % test)
    check_argv(test[2:], flags, "compose healthcheck")
    check({"NET_ADMIN", "SYS_ADMIN"} <= set(x["cap_add"]), "compose cap_add")
    check(x.get("pid") == "host", "compose xtcp2: pid host")
    base = os.path.join(source, "deploy", "compose")
    for name, svc in services.items():
        build = svc.get("build")
        if build:
            ctx = os.path.normpath(os.path.join(base, build["context"]))
            check(os.path.isfile(os.path.join(ctx, build["dockerfile"])),
                  "compose %s: no %s in %s" % (name, build["dockerfile"], ctx))
        for v in svc.get("volumes", []):
            src = v.split(":")[0]
            if src.startswith("."):
                check(os.path.isdir(os.path.normpath(os.path.join(base, src))),
                      "compose %s: missing %s" % (name, src))
    init = os.path.join(base, "../clickhouse")
    check(any(f.endswith(".sql") for f in os.listdir(init)), "compose: no DDL in deploy/clickhouse")


def main():
    xtcp2, source = sys.argv[1], sys.argv[2]
    flags, envs = help_text(xtcp2)
    check(len(flags) > 20 and "dest" in flags, "could not read flags from -help")
    with open(os.path.join(source, "deploy/kubernetes/xtcp2-daemonset.yaml")) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    kinds = [d["kind"] for d in docs]
    check("DaemonSet" in kinds, "no DaemonSet in %s" % kinds)
    for d in docs:
        if d["kind"] == "DaemonSet":
            check_daemonset(d, flags, envs)
    with open(os.path.join(source, "deploy/compose/compose.yaml")) as f:
        check_compose(yaml.safe_load(f), flags, source)
    # Negative control: the flag check does catch a flag that does not exist.
    before = len(failures)
    check_argv(["-noSuchFlag=1"], flags, "control")
    check(len(failures) == before + 1, "flag check accepts unknown flags")
    if len(failures) == before + 1:
        failures.pop()
    for f in failures:
        print("FAIL:", f)
    if not failures:
        print("OK: %d flags known; DaemonSet and compose checked" % len(flags))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
