#!/usr/bin/env bash
# A short, bounded run of bench/compare_postgres.sh (CTest: compare_postgres_script): start a
# kv2pc cluster on free ports in a private data dir, compare at 2 clients for 1 s per run over
# 200 accounts, check that every row of the table has figures for PostgreSQL (plain and 2PC)
# and kv2pc (EXEC and interactive) and that PostgreSQL's balances add up, then stop the cluster.
# PostgreSQL is installed from Debian by the script itself when missing (root only; as another
# user without PostgreSQL the test is skipped: exit 77).
#
#   tests/scripts/compare_postgres_test.sh <build-bin-dir>
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
readonly REPO
# shellcheck source=scripts/lib.sh
source "$REPO/scripts/lib.sh"

if (($# != 1)); then
  echo "usage: $0 <build-bin-dir>" >&2
  exit 2
fi
BIN_DIR=$(realpath -- "$1")
readonly BIN_DIR
for b in kv2pc kv2pc-bench kv2pc-coordinator kv2pc-participant; do
  [[ -x $BIN_DIR/$b ]] || kv2pc_die "$BIN_DIR/$b not found; build first"
done
if ((EUID != 0)) && ! compgen -G '/usr/lib/postgresql/*/bin/pgbench' >/dev/null; then
  echo "SKIP: PostgreSQL is not installed and installing it needs root"
  exit 77
fi

export KV2PC_SKIP_BUILD=1 KV2PC_BIN_DIR=$BIN_DIR
unset KV2PC_DATA_DIR KV2PC_NODE_ARGS KV2PC_COORDINATOR

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kv2pc-compare-pg-test.XXXXXX")
readonly WORK D=$WORK/cluster
cleanup() {
  local rc=$?
  timeout 60 "$REPO/run_cluster.sh" stop --data-dir "$D" >/dev/null 2>&1 || true
  if ((rc != 0)); then
    for log in "$D"/*/node.log; do
      [[ -f $log ]] && { echo "--- last lines of $log"; tail -n 20 -- "$log"; }
    done
  fi
  rm -rf -- "$WORK"
  exit "$rc"
}
trap cleanup EXIT

started=0
for attempt in 1 2 3; do
  base=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
  busy=0
  for ((port = base; port < base + 4; port++)); do
    if kv2pc_port_in_use 127.0.0.1 "$port"; then busy=1; fi
  done
  ((busy)) && continue
  if timeout 120 "$REPO/run_cluster.sh" start --data-dir "$D" --base-port "$base" >"$WORK/start.out" 2>&1; then
    started=1
    break
  fi
  rm -rf -- "$D"
done
((started)) || {
  cat "$WORK/start.out"
  kv2pc_die "could not start a cluster (attempt $attempt)"
}

rc=0
timeout 1800 "$REPO/bench/compare_postgres.sh" --data-dir "$D" --clients 2 --duration 1 \
  --accounts 200 >"$WORK/out" 2>"$WORK/err" || rc=$?
cat "$WORK/out"
if ((rc != 0)); then
  tail -n 40 "$WORK/err"
  kv2pc_die "compare_postgres.sh exited $rc"
fi

failed=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then
    echo "ok - $what"
  else
    echo "not ok - $what"
    failed=1
  fi
}
# The row for 2 clients: | 2 | plain | 2pc | exec | interactive | ratios... with whole numbers.
row=$(grep -E '^\| 2 \| [0-9]+ \| [0-9]+ \| [0-9]+ \| [0-9]+ \| [0-9.]+x \|' "$WORK/out" || true)
check "the table has TPS for PG plain, PG 2PC, kv2pc EXEC and interactive at 2 clients" test -n "$row"
if [[ -n $row ]] && awk -F'|' '{ for (i = 3; i <= 6; i++) if ($i + 0 == 0) exit 0; exit 1 }' <<<"$row"; then
  echo "not ok - a TPS figure is zero: $row"
  failed=1
fi
check "PostgreSQL's balances add up" grep -q "= 200 x 1000, ok" "$WORK/out"
check "no warnings" bash -c "! grep -q '^WARNINGS:' '$WORK/out'"
check "fsync was on" grep -q "fsync=on" "$WORK/out"
check "synchronous_commit was on" grep -q "synchronous_commit=on" "$WORK/out"
exit "$failed"
