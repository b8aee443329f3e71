#!/usr/bin/env bash
# Makes the project's own capture of this kernel: in a fresh network namespace (nothing but our
# sockets in it) sock_helper opens the loopback scenario of tests/tools/loopback_scenario.h, then,
# back to back, `ss` lists the sockets and nl_capture dumps them with our own request.
#
#   tests/testdata/make_captures.sh [--out DIR] [--name NAME] [--tools DIR] [--oneline]
#
# Writes DIR/NAME.ss (ss text), DIR/NAME.pcap (request + reply datagrams, LINKTYPE_NETLINK),
# DIR/NAME_v{4,6}_<n>.bin (the raw reply datagrams, fuzz seeds) and DIR/NAME.meta (kernel and ss
# versions). Defaults: DIR = this directory,
# NAME = k<major>_<minor>_loopback from uname -r, tools from build/tests/tools. Needs root (it
# creates and deletes the namespace) and iproute2's ip and ss.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=$here
name=k$(uname -r | cut -d. -f1,2 | tr . _)_loopback
tools=$here/../../build/tests/tools
oneline=
while (($#)); do
  case $1 in
    --out) out=$2; shift 2 ;;
    --name) name=$2; shift 2 ;;
    --tools) tools=$2; shift 2 ;;
    --oneline) oneline=-O; shift ;;
    *) echo "usage: $0 [--out DIR] [--name NAME] [--tools DIR] [--oneline]" >&2; exit 2 ;;
  esac
done
for t in sock_helper nl_capture; do
  [[ -x $tools/$t ]] || { echo "make_captures: $tools/$t not built (ninja $t)" >&2; exit 1; }
done

ns=xtcp-oracle-$$-$RANDOM
helper_pid=
cleanup() {
  local rc=$?
  set +e
  if [[ -n $helper_pid ]]; then
    kill "$helper_pid" 2>/dev/null
    wait "$helper_pid" 2>/dev/null
  fi
  ip netns del "$ns" 2>/dev/null
  exit "$rc"
}
trap cleanup EXIT

ip netns add "$ns"
ip -n "$ns" link set lo up

# The helper reports "ready <sockets>" once every socket is in place, then holds them until its
# stdin closes (or it is killed on exit).
coproc HELPER { exec ip netns exec "$ns" "$tools/sock_helper"; }
# shellcheck disable=SC2153  # HELPER_PID is set by coproc
helper_pid=$HELPER_PID
ready=
read -r -t 20 ready <&"${HELPER[0]}" || true
[[ $ready == ready* ]] || { echo "make_captures: sock_helper did not get ready" >&2; exit 1; }

rm -f "$out/$name".ss "$out/$name".pcap "$out/$name".meta "$out/$name"_v[46]_*.bin
# ss cannot name cgroups without a cgroup2 mount ("cgroup:unreachable:N"); drop its complaint.
ip netns exec "$ns" ss -tinmeap --tos --inet-sockopt $oneline >"$out/$name.ss" \
  2> >(grep -v 'Failed to find cgroup2 mount' >&2)
ip netns exec "$ns" "$tools/nl_capture" --pcap="$out/$name.pcap" --bin-prefix="$out/$name"
{
  echo "kernel: $(uname -r)"
  echo "ss: $(ss -V)"
  echo "sockets: ${ready#ready }"
} >"$out/$name.meta"
echo "make_captures: $out/$name.{ss,pcap} (${ready#ready } sockets)" >&2
