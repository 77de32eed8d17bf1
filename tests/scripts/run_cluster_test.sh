#!/usr/bin/env bash
# Tests run_cluster.sh end to end with already-built binaries: start a 3-participant cluster on
# free ports in a private data dir, use it, crash and restart a participant, check the refusals
# (second start, occupied port), and stop it with no process left behind.
#
#   tests/scripts/run_cluster_test.sh <build-bin-dir>      (CTest: run_cluster_script)
#
# It never builds (KV2PC_SKIP_BUILD=1) and every command it runs has a time limit. Whatever
# happens, the EXIT trap stops both clusters and removes the temporary directory.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
readonly REPO
# shellcheck source=scripts/lib.sh
source "$REPO/scripts/lib.sh"
readonly RUN_CLUSTER=$REPO/run_cluster.sh

if (($# != 1)); then
  echo "usage: $0 <build-bin-dir>" >&2
  exit 2
fi
BIN_DIR=$(realpath -- "$1")
readonly BIN_DIR
for b in kv2pc kv2pc-coordinator kv2pc-participant; do
  [[ -x $BIN_DIR/$b ]] || kv2pc_die "$BIN_DIR/$b not found; build first"
done

export KV2PC_SKIP_BUILD=1 KV2PC_BIN_DIR=$BIN_DIR
unset KV2PC_DATA_DIR KV2PC_NODE_ARGS KV2PC_COORDINATOR

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kv2pc-run-cluster-test.XXXXXX")
readonly WORK
readonly D=$WORK/cluster D2=$WORK/second
readonly NODES=(coordinator-0 participant-0 participant-1 participant-2)

passed=0 failed=0 finished=0

dump_logs() {
  local log
  for log in "$D"/*/node.log "$D2"/*/node.log; do
    [[ -f $log ]] || continue
    echo "--- last lines of $log"
    tail -n 30 -- "$log"
  done
}

# Prints the node logs when something failed, then the summary line.
finish() {
  if ((failed > 0)); then
    dump_logs
  fi
  finished=1
  echo "$passed passed, $failed failed"
}

cleanup() {
  local rc=$?
  if ((rc != 0 && !finished)); then
    dump_logs
  fi
  timeout 60 "$RUN_CLUSTER" stop --data-dir "$D" >/dev/null 2>&1 || true
  timeout 60 "$RUN_CLUSTER" stop --data-dir "$D2" >/dev/null 2>&1 || true
  rm -rf -- "$WORK"
}
trap cleanup EXIT

# Runs a command with a time limit; its status goes to RC, its stdout to OUT, its stderr to ERR
# (for run_cluster, both streams go to OUT: its messages matter, wherever they go).
RC=0 OUT="" ERR=""
run_cluster() {
  RC=0 ERR=""
  OUT=$(timeout 120 "$RUN_CLUSTER" "$@" 2>&1) || RC=$?
}
cli() {
  RC=0
  OUT=$(timeout 60 "$BIN_DIR/kv2pc" --data-dir "$D" "$@" 2>"$WORK/stderr") || RC=$?
  ERR=$(<"$WORK/stderr")
}

ok() {
  passed=$((passed + 1))
  echo "ok - $1"
}

not_ok() {
  failed=$((failed + 1))
  echo "not ok - $1 (exit $RC)"
  local line
  while IFS= read -r line; do
    echo "    | $line"
  done <<<"$OUT${ERR:+$'\n'$ERR}"
}

# After a failed step that later steps need: the test ends here.
give_up() {
  finish
  exit 1
}

out_has() { [[ $OUT == *"$1"* ]]; }
rc_is() { ((RC == $1)); }

# Prints the PIDs recorded in the pid files of D.
recorded_pids() {
  local f
  for f in "$D"/*/pid; do
    if [[ -f $f ]]; then cat -- "$f"; fi
  done
}

# Succeeds when DIR holds no node directory: run_cluster.sh creates one (with its node.log)
# before it launches a node, so none means nothing was launched from DIR.
no_node_launched_in() { ! compgen -G "$1/*/node.log" >/dev/null; }

no_pid_files_in() { ! compgen -G "$1/*/pid" >/dev/null; }

# A random base in 20000-60000 whose ports are all free. Another test may still take one before
# a node binds it; start then fails with "already in use" and we try another base.
pick_base_port() {
  local attempt base port busy
  for ((attempt = 0; attempt < 50; attempt++)); do
    base=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    busy=0
    for ((port = base; port < base + ${#NODES[@]}; port++)); do
      if kv2pc_port_in_use 127.0.0.1 "$port"; then busy=1; fi
    done
    if ((!busy)); then
      echo "$base"
      return 0
    fi
  done
  kv2pc_die "found no ${#NODES[@]} free ports in 50 tries"
}

# --- start ------------------------------------------------------------------------------------
for attempt in 1 2 3; do
  BASE=$(pick_base_port)
  run_cluster start --participants 3 --coordinators 1 --base-port "$BASE" --data-dir "$D"
  if rc_is 0 || ! out_has "already in use"; then break; fi
done
echo "# base port $BASE, data dir $D (start attempt $attempt)"
if rc_is 0 && out_has "cluster started"; then
  ok "start a cluster of 3 participants and 1 coordinator"
else
  not_ok "start a cluster of 3 participants and 1 coordinator"
  give_up
fi
if [[ $(grep -c '^node ' "$D/cluster.conf") == "${#NODES[@]}" ]] && grep -qx 'version 1' "$D/cluster.conf"; then
  ok "cluster.conf has version 1 and ${#NODES[@]} nodes"
else
  OUT=$(cat "$D/cluster.conf") ERR=""
  not_ok "cluster.conf has version 1 and ${#NODES[@]} nodes"
fi

RC=0 ERR=""
OUT=$(KV2PC_DATA_DIR=$D timeout 60 "$RUN_CLUSTER" status 2>&1) || RC=$?
if rc_is 0; then ok "status finds the cluster through KV2PC_DATA_DIR, exits 0"; else not_ok "status exits 0"; fi

cli put a 1
if rc_is 0; then ok "kv2pc put a 1"; else not_ok "kv2pc put a 1"; give_up; fi
cli get a
if rc_is 0 && [[ $OUT == 1 ]]; then ok "kv2pc get a prints 1"; else not_ok "kv2pc get a prints 1"; fi

# --- crash and restart a participant ---------------------------------------------------------
old_pid=$(cat "$D/participant-1/pid")
run_cluster kill participant-1 --data-dir "$D"
if rc_is 0 && kv2pc_pid_gone "$old_pid" && [[ ! -e $D/participant-1/pid ]]; then
  ok "kill participant-1: its process is gone, its pid file removed"
else
  not_ok "kill participant-1: its process is gone, its pid file removed"
fi
run_cluster status --data-dir "$D"
if rc_is 3 && grep -Eq '^ *participant-1 .* stopped' <<<"$OUT"; then
  ok "status shows participant-1 stopped, exits 3"
else
  not_ok "status shows participant-1 stopped, exits 3"
fi

run_cluster restart participant-1 --data-dir "$D"
if rc_is 0 && out_has "restarted participant-1"; then
  ok "restart participant-1"
else
  not_ok "restart participant-1"
  give_up
fi
run_cluster status --data-dir "$D"
if rc_is 0; then ok "status after the restart exits 0"; else not_ok "status after the restart exits 0"; fi
# The coordinator reconnects to the restarted participant on its own; allow it a few tries.
for attempt in 1 2 3 4 5; do
  cli get a
  if rc_is 0; then break; fi
  sleep 1
done
if rc_is 0 && [[ $OUT == 1 ]]; then
  ok "kv2pc get a still prints 1 after the restart (try $attempt)"
else
  not_ok "kv2pc get a still prints 1 after the restart"
fi

# --- refusals --------------------------------------------------------------------------------
run_cluster start --data-dir "$D"
if ! rc_is 0 && out_has "cluster already running"; then
  ok "a second start of the running cluster is refused"
else
  not_ok "a second start of the running cluster is refused"
fi

run_cluster start --participants 3 --base-port "$BASE" --data-dir "$D2"
if ! rc_is 0 && out_has "port $BASE" && out_has "already in use"; then
  ok "a cluster on occupied ports is refused, naming the port"
else
  not_ok "a cluster on occupied ports is refused, naming the port"
fi
if no_node_launched_in "$D2" && [[ ! -e $D2/cluster.conf ]]; then
  ok "the refused start launched no node and left no cluster.conf"
else
  OUT=$(ls -R "$D2" 2>&1) ERR=""
  not_ok "the refused start launched no node and left no cluster.conf"
fi

run_cluster kill no-such-node --data-dir "$D"
if ! rc_is 0 && out_has "participant-2"; then
  ok "an unknown node name is refused, listing the valid ones"
else
  not_ok "an unknown node name is refused, listing the valid ones"
fi
run_cluster logs participant-0 --data-dir "$D"
if rc_is 0 && [[ -n $OUT ]]; then ok "logs participant-0 prints its log"; else not_ok "logs participant-0"; fi

# --- stop ------------------------------------------------------------------------------------
mapfile -t pids < <(recorded_pids)
run_cluster stop --data-dir "$D"
if rc_is 0; then ok "stop"; else not_ok "stop"; fi
alive=()
for pid in "${pids[@]}"; do
  kv2pc_pid_gone "$pid" || alive+=("$pid")
done
if ((${#pids[@]} == ${#NODES[@]} && ${#alive[@]} == 0)); then
  ok "stop left none of the ${#pids[@]} recorded PIDs alive"
else
  OUT="recorded: ${pids[*]}; alive: ${alive[*]}" ERR=""
  not_ok "stop left none of the recorded PIDs alive"
fi
if no_pid_files_in "$D"; then ok "stop removed the pid files"; else not_ok "stop removed the pid files"; fi
run_cluster status --data-dir "$D"
if rc_is 3; then ok "status after stop exits 3"; else not_ok "status after stop exits 3"; fi

finish
((failed == 0))
