#!/usr/bin/env bash
# End to end, as an engineer would run it in CI: start ferruled on the simulated bench, drive it
# only with ferrulectl over the status socket, check the verdicts by exit code, stop it with
# SIGTERM and check it exits 0. Usage: scripts/line-demo.sh [BUILD_DIR]  (default .build/debug)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/debug}
work=$(mktemp -d /tmp/ferrule-line-demo.XXXXXX)
sock=$work/ferruled.sock
ctl() { local cmd=$1; shift; "$bin/ferrulectl" "$cmd" --socket "$sock" "$@"; }

"$bin/ferruled" --config Config/simulated.yaml --data-dir "$work/data" --socket "$sock" >"$work/ferruled.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -S "$sock" ] && ctl status >/dev/null 2>&1 && break; sleep 0.1; done
ctl status

# Start of shift: reference both fixtures.
ctl reference --fixture 1 --operator ci
ctl reference --fixture 2 --operator ci

expect() {  # expect EXIT_CODE ferrulectl-test-args...
  local want=$1; shift
  set +e; ctl test --wait --operator ci "$@"; local got=$?; set -e
  if [ "$got" -ne "$want" ]; then echo "FAIL: ferrulectl test $* exited $got, expected $want" >&2; exit 1; fi
}
expect 0 --serial LINE-001 --part FT-MTP12-SMAPC-B-LL --fixture 1    # a good unit passes
expect 1 --serial FRL-D003 --part FT-MTP8-SMAPC-B --fixture 2        # demo-lot serial: high-loss fiber 10
expect 1 --serial FRL-D004 --part FT-MTP12-SMAPC-B-LL                # demo-lot serial: wrong polarity type
expect 2 --serial LINE-002 --part NO-SUCH-PART                       # refused: unknown part number

ctl history --limit 5
kill -TERM $pid
set +e; wait $pid; rc=$?; set -e
trap - EXIT
if [ "$rc" -ne 0 ]; then echo "FAIL: ferruled exited $rc after SIGTERM" >&2; cat "$work/ferruled.log" >&2; exit 1; fi
echo "line demo: OK (reports in $work/data/reports)"
