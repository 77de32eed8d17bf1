#!/usr/bin/env bash
# kv2pc vs PostgreSQL: the same two-key transfer, side by side, in one run.
#
# For each client count, back to back (so a drift of the shared disk or CPU hits all three alike):
#   1. PostgreSQL, plain:  pgbench with bench/postgres/transfer_plain.sql (BEGIN, 2 x SELECT ... FOR
#      UPDATE, 2 x UPDATE, COMMIT);
#   2. PostgreSQL, 2PC:    bench/postgres/transfer_2pc.sql, the same ended by PREPARE TRANSACTION and
#      COMMIT PREPARED;
#   3. kv2pc:              build/bin/kv2pc-bench --workload transfer against a cluster the user has
#      started with ./run_cluster.sh start (its data dir: --data-dir), twice: --api exec (the
#      reads in one request, the writes and the commit in another) and --api interactive (BEGIN,
#      2 GET, 2 PUT, COMMIT: six requests, as pgbench's six statements).
# then one table of TPS, their ratios and latency percentiles, with the machine and PostgreSQL's
# settings. docs/benchmarks.md, "kv2pc vs PostgreSQL", explains it and shows a measured run.
#
# PostgreSQL is installed from Debian if missing (apt-get, as root), and runs as the `postgres` user
# from a fresh temporary directory (initdb) on a free 127.0.0.1 port, with fsync and
# synchronous_commit on. The script stops it on exit (also on Ctrl-C) and removes the directory
# unless --keep. Every wait is bounded.
set -euo pipefail
export LC_ALL=C

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
readonly REPO
readonly PG_SCRIPTS=$REPO/bench/postgres
prog=${0##*/}

readonly MAX_CLIENTS=1000
readonly PG_MAX_TRIES=10       # pgbench --max-tries: retries of deadlock/serialization failures
readonly PG_START_TIMEOUT_S=60 # postgres must accept connections within this
readonly PG_STOP_TIMEOUT_S=60  # pg_ctl stop -m fast, then -m immediate
readonly RUN_SLACK_S=120       # a run may overrun --duration by this before it is killed
readonly SQL_TIMEOUT_S=300     # any one psql call (the initial load, VACUUM, CHECKPOINT)
readonly APT_TIMEOUT_S=1800

usage() {
  cat <<EOF
Usage: bench/$prog [options]

Runs the same two-key transfer on PostgreSQL (plain, and with PREPARE TRANSACTION / COMMIT
PREPARED) and on a running kv2pc cluster, interleaved per client count, and prints a table.
Start the cluster first:  ./run_cluster.sh start [--data-dir D]

Options:
  --clients LIST     client counts, comma-separated (default 1,16,64; at most $MAX_CLIENTS each)
  --duration S       seconds per run (default 10)
  --accounts N       accounts / keys (default 10000, as kv2pc-bench --keys)
  --data-dir D       the kv2pc cluster's data dir (default \$KV2PC_DATA_DIR, else ./cluster-data);
                     passed to kv2pc-bench
  --kv2pc-args "..." extra kv2pc-bench flags, split on whitespace, after the script's own
                     (e.g. "--threads 2", "--coordinator tcp://127.0.0.1:7000")
  --keep             keep PostgreSQL's temporary directory (data, server log, pgbench logs)
  --help             this text

Each kv2pc run is: kv2pc-bench --data-dir D --workload transfer --clients C --duration S
  --keys N --api exec|interactive --load --json [--kv2pc-args]   (--load resets every balance to 1000 first; the
  bench also runs 1 s of warm-up that it does not count).
Each PostgreSQL run is: pgbench -n -M simple -f SCRIPT -D accounts=N -c C -j min(C, nproc)
  -T S --max-tries $PG_MAX_TRIES -l, after a VACUUM and a CHECKPOINT.

Environment:
  TMPDIR             where PostgreSQL's temporary directory goes (default /tmp); the postgres
                     user must be able to reach it
  KV2PC_BIN_DIR      where kv2pc-bench is (default build/bin)
  KV2PC_JSON=jq|python3
                     how to read kv2pc-bench's JSON (default: jq if installed, else
                     /usr/bin/python3, else jq is installed)

Exit status: 0 done; 1 failure (PostgreSQL, pgbench or kv2pc-bench failed); 2 usage error;
3 no kv2pc cluster answers; 130/143 interrupted.
EOF
}

die() {
  printf '%s: error: %s\n' "$prog" "$*" >&2
  exit 1
}
usage_error() {
  printf '%s: %s\nRun bench/%s --help for usage.\n' "$prog" "$*" "$prog" >&2
  exit 2
}
note() { printf '%s: %s\n' "$prog" "$*" >&2; }

# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------

clients_list=1,16,64 duration=10 accounts=10000 data_dir_flag="" kv2pc_args_str="" keep=0
while (($# > 0)); do
  arg=$1
  shift
  value="" has_value=0
  if [[ $arg == --*=* ]]; then
    value=${arg#*=} arg=${arg%%=*} has_value=1
  fi
  case $arg in
    --clients | --duration | --accounts | --data-dir | --kv2pc-args)
      if ((!has_value)); then
        (($# > 0)) || usage_error "$arg needs a value"
        value=$1
        shift
      fi
      case $arg in
        --clients) clients_list=$value ;;
        --duration) duration=$value ;;
        --accounts) accounts=$value ;;
        --data-dir) data_dir_flag=$value ;;
        --kv2pc-args) kv2pc_args_str=$value ;;
      esac
      ;;
    --keep | --help | -h)
      ((!has_value)) || usage_error "$arg takes no value"
      case $arg in
        --keep) keep=1 ;;
        *)
          usage
          exit 0
          ;;
      esac
      ;;
    *) usage_error "unknown argument '$arg'" ;;
  esac
done

[[ $duration =~ ^[1-9][0-9]{0,4}$ ]] || usage_error "--duration must be a whole number of seconds, not '$duration'"
if ! [[ $accounts =~ ^[1-9][0-9]{0,8}$ ]] || ((accounts < 2)); then
  usage_error "--accounts must be a whole number from 2, not '$accounts'"
fi
clients=()
IFS=, read -r -a clients_raw <<<"$clients_list"
for c in "${clients_raw[@]}"; do
  if ! [[ $c =~ ^[1-9][0-9]{0,3}$ ]] || ((c > MAX_CLIENTS)); then
    usage_error "--clients takes client counts 1..$MAX_CLIENTS separated by commas, not '$clients_list'"
  fi
  clients+=("$c")
done
((${#clients[@]} > 0)) || usage_error "--clients is empty"
max_clients=0
for c in "${clients[@]}"; do ((c > max_clients)) && max_clients=$c; done
kv2pc_args=()
read -r -a kv2pc_args <<<"$kv2pc_args_str" || true
data_dir=$(realpath -m -- "${data_dir_flag:-${KV2PC_DATA_DIR:-./cluster-data}}")
readonly duration accounts max_clients data_dir keep

# ---------------------------------------------------------------------------------------------
# Cleanup: whatever we started is stopped, whatever we made is removed (unless --keep)
# ---------------------------------------------------------------------------------------------

tmp=""         # PostgreSQL's temporary directory
pgdata=""      # $tmp/data
launcher_pid="" # our child: setsid runuser ... postgres (runuser waits for postgres)
pm_pid=""      # the postmaster, from postmaster.pid
pg_port=""
pg_bin=""

# Runs a command as the postgres user (as ourselves when not root), from / (which it can read).
as_pg() {
  if ((EUID == 0)); then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

# Succeeds when PID is gone (or a zombie).
pid_gone() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) }
  [[ ${stat%% *} == Z ]]
}

# Waits up to $2 tenths of a second for PID $1 to be gone.
wait_gone() {
  local pid=$1 tenths=$2 i
  for ((i = 0; i < tenths; i++)); do
    pid_gone "$pid" && return 0
    sleep 0.1
  done
  pid_gone "$pid"
}

stop_postgres() {
  local i
  [[ -n $launcher_pid ]] || return 0
  # Interrupted while the server was starting: learn the postmaster's PID from its PID file
  # (written within moments of the start) rather than orphan it.
  for ((i = 0; i < 50; i++)); do
    if [[ -z $pm_pid && -s $pgdata/postmaster.pid ]]; then
      pm_pid=$(head -n 1 "$pgdata/postmaster.pid")
    fi
    if [[ -n $pm_pid ]] || pid_gone "$launcher_pid"; then
      break
    fi
    sleep 0.1
  done
  if [[ -n $pm_pid ]] && ! pid_gone "$pm_pid"; then
    note "stopping PostgreSQL (pg_ctl stop -m fast)"
    as_pg "$pg_bin/pg_ctl" stop -D "$pgdata" -m fast -t "$PG_STOP_TIMEOUT_S" >/dev/null 2>&1 ||
      as_pg "$pg_bin/pg_ctl" stop -D "$pgdata" -m immediate -t "$PG_STOP_TIMEOUT_S" >/dev/null 2>&1 ||
      true
    if ! wait_gone "$pm_pid" 100; then
      # Still there after two bounded pg_ctl calls: our own postmaster, by its PID.
      note "PostgreSQL did not stop; SIGKILL to its postmaster, PID $pm_pid"
      kill -KILL "$pm_pid" 2>/dev/null || true
      wait_gone "$pm_pid" 100 || note "warning: PID $pm_pid is still there"
    fi
  fi
  # The launcher (runuser) exits when the postmaster does; reap it so nothing is left behind.
  if ! wait_gone "$launcher_pid" 100; then
    kill -KILL "$launcher_pid" 2>/dev/null || true
  fi
  wait "$launcher_pid" 2>/dev/null || true
  launcher_pid=""
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  # Interrupted while installing PostgreSQL: remove the service policy it added.
  if [[ ${policy_added:-0} == 1 ]]; then rm -f /usr/sbin/policy-rc.d; fi
  stop_postgres
  if [[ -n $tmp && -d $tmp ]]; then
    if ((keep)); then
      note "kept PostgreSQL's directory $tmp (data in $tmp/data, server log $tmp/postgres.log)"
    else
      rm -rf -- "$tmp"
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
# kv2pc: the bench binary and a running cluster (checked first: no PostgreSQL install for nothing)
# ---------------------------------------------------------------------------------------------

bin_dir=${KV2PC_BIN_DIR:-$REPO/build/bin}
kv_bench=$bin_dir/kv2pc-bench
if [[ ! -x $kv_bench ]]; then
  if [[ -z ${KV2PC_BIN_DIR:-} && -f $REPO/build/CMakeCache.txt ]]; then
    note "building kv2pc-bench (cmake --build build --target kv2pc-bench)"
    timeout 1800 cmake --build "$REPO/build" -j "$(nproc)" --target kv2pc-bench >&2 ||
      die "could not build kv2pc-bench; run ./run_cluster.sh start (it builds), then try again"
  fi
  [[ -x $kv_bench ]] || die "$kv_bench not found; run ./run_cluster.sh start first (it builds everything)"
fi

no_cluster() {
  printf '%s: error: no kv2pc cluster answers in %s\n' "$prog" "$data_dir" >&2
  printf 'Start one first:  ./run_cluster.sh start%s\n' \
    "$([[ -n $data_dir_flag ]] && printf ' --data-dir %q' "$data_dir_flag")" >&2
  exit 3
}

explicit_coordinator=0
for a in "${kv2pc_args[@]}"; do
  [[ $a == --coordinator || $a == --coordinator=* ]] && explicit_coordinator=1
done
if ((explicit_coordinator)); then
  note "kv2pc: --coordinator given; kv2pc-bench will check the cluster itself"
else
  [[ -f $data_dir/cluster.conf ]] || no_cluster
  if ! status_out=$(timeout 120 "$REPO/run_cluster.sh" status --data-dir "$data_dir" 2>&1); then
    printf '%s\n' "$status_out" >&2
    no_cluster
  fi
fi

# ---------------------------------------------------------------------------------------------
# Tools: PostgreSQL (installed from Debian if missing) and a JSON reader
# ---------------------------------------------------------------------------------------------

find_pg_bin() {
  local d best=""
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x $d/pgbench && -x $d/initdb && -x $d/pg_ctl && -x $d/postgres && -x $d/psql && -x $d/pg_isready ]] ||
      continue
    best+=$d$'\n'
  done
  [[ -n $best ]] || return 1
  printf '%s' "$best" | sort -V | tail -n 1
}

apt_install() {
  ((EUID == 0)) || die "missing Debian packages: $*; install them with: sudo apt-get install -y $*"
  note "installing $* (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  if ! timeout "$APT_TIMEOUT_S" apt-get install -y -q --no-install-recommends "$@" >&2; then
    note "apt-get install failed; apt-get update, then again"
    timeout "$APT_TIMEOUT_S" apt-get update -q >&2 || die "apt-get update failed"
    timeout "$APT_TIMEOUT_S" apt-get install -y -q --no-install-recommends "$@" >&2 ||
      die "apt-get install $* failed"
  fi
}

installed_pg=0
if ! pg_bin=$(find_pg_bin); then
  # Debian's package would start its own server on port 5432, which this script does not use
  # and must not leave behind: tell invoke-rc.d not to start services during the install
  # (exit 101, the Debian policy-rc.d convention), unless a policy is already in place.
  policy_added=0
  if ((EUID == 0)) && [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\n# Added by kv2pc bench/compare_postgres.sh while it installs PostgreSQL.\nexit 101\n' \
      >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && policy_added=1
  fi
  install_rc=0
  (apt_install postgresql postgresql-contrib) || install_rc=$?
  if ((policy_added)); then
    rm -f /usr/sbin/policy-rc.d
    policy_added=0
  fi
  ((install_rc == 0)) || exit "$install_rc"
  installed_pg=1
  pg_bin=$(find_pg_bin) || die "PostgreSQL installed, but no /usr/lib/postgresql/*/bin holds pgbench, initdb and pg_ctl"
fi
readonly pg_bin
if ((EUID == 0)) && ! id postgres >/dev/null 2>&1; then
  die "no 'postgres' user (the Debian package creates it); PostgreSQL will not run as root"
fi
if ((installed_pg)) && command -v pg_lsclusters >/dev/null 2>&1; then
  if pg_lsclusters -h 2>/dev/null | awk '$4 == "online" { found = 1 } END { exit !found }'; then
    note "note: the Debian package also started its own cluster (pg_lsclusters); this script does not use or stop it"
  fi
fi

json_tool=${KV2PC_JSON:-}
if [[ -z $json_tool ]]; then
  if command -v jq >/dev/null 2>&1; then
    json_tool=jq
  elif [[ -x /usr/bin/python3 ]]; then
    json_tool=python3
  else
    apt_install jq
    json_tool=jq
  fi
fi
[[ $json_tool == jq || $json_tool == python3 ]] || usage_error "KV2PC_JSON must be jq or python3, not '$json_tool'"
readonly json_tool

# json_get FILE PATH: the value at PATH (".a.b.c", or ".a.b | length" for a list's length),
# printed as is (objects as JSON); empty when absent or null.
json_get() {
  local file=$1 path=$2
  if [[ $json_tool == jq ]]; then
    jq -r "($path) // empty" "$file"
  else
    /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
path, _, op = sys.argv[2].partition("|")
for k in path.strip().strip(".").split("."):
    d = d.get(k) if isinstance(d, dict) else None
if d is not None and op.strip() == "length":
    d = len(d)
if isinstance(d, (dict, list)):
    print(json.dumps(d))
elif d is not None:
    print(d)
' "$file" "$path"
  fi
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL in a temporary directory
# ---------------------------------------------------------------------------------------------

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kv2pc-pgcmp.XXXXXX")
pgdata=$tmp/data
mkdir -p "$tmp/runs"
chmod 755 "$tmp/runs"
if ((EUID == 0)); then
  chown postgres: "$tmp"
  chmod 700 "$tmp"
  as_pg test -w "$tmp" ||
    die "the postgres user cannot write to $tmp; set TMPDIR to a directory it can reach (e.g. /tmp)"
fi

# Something accepts TCP connections on 127.0.0.1:PORT.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pick_port() {
  local i p
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 30000))
    if ! port_in_use "$p"; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

sql() { timeout "$SQL_TIMEOUT_S" "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres "$@"; }
sql_value() { sql -At -c "$1"; }

note "PostgreSQL: $pg_bin, directory $tmp"
as_pg "$pg_bin/initdb" -D "$pgdata" -U postgres --auth-local=trust --auth-host=trust -E UTF8 --locale=C \
  >"$tmp/initdb.log" 2>&1 || {
  cat "$tmp/initdb.log" >&2
  die "initdb failed"
}
pg_max_connections=$((max_clients + 20 > 100 ? max_clients + 20 : 100))
pg_max_prepared=$((max_clients + 16))
cat >>"$pgdata/postgresql.conf" <<EOF

# bench/compare_postgres.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = '$tmp'
fsync = on
synchronous_commit = on
full_page_writes = on
max_connections = $pg_max_connections
max_prepared_transactions = $pg_max_prepared
shared_buffers = 256MB
EOF

# Starts the postmaster as our own child (setsid: Ctrl-C does not reach it; our trap stops it with
# pg_ctl), on a free port; a port taken meanwhile means another try on another.
start_postgres() {
  local attempt i
  for ((attempt = 1; attempt <= 5; attempt++)); do
    pg_port=$(pick_port) || die "no free TCP port found on 127.0.0.1"
    if ((EUID == 0)); then
      (cd / && exec setsid runuser -u postgres -- "$pg_bin/postgres" -D "$pgdata" -c "port=$pg_port") \
        >>"$tmp/postgres.log" 2>&1 &
    else
      (cd / && exec setsid "$pg_bin/postgres" -D "$pgdata" -c "port=$pg_port") >>"$tmp/postgres.log" 2>&1 &
    fi
    launcher_pid=$!
    for ((i = 0; i < PG_START_TIMEOUT_S * 10; i++)); do
      if "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" -t 1; then
        pm_pid=$(head -n 1 "$pgdata/postmaster.pid")
        return 0
      fi
      if pid_gone "$launcher_pid"; then
        wait "$launcher_pid" 2>/dev/null || true
        launcher_pid=""
        break
      fi
      sleep 0.1
    done
    if [[ -n $launcher_pid ]]; then
      pm_pid=$(head -n 1 "$pgdata/postmaster.pid" 2>/dev/null || true)
      tail -n 20 "$tmp/postgres.log" >&2
      die "PostgreSQL did not accept connections on 127.0.0.1:$pg_port within ${PG_START_TIMEOUT_S} s"
    fi
    grep -q 'could not bind\|Address already in use' "$tmp/postgres.log" || break
    note "port $pg_port was taken; another"
  done
  tail -n 20 "$tmp/postgres.log" >&2
  die "PostgreSQL did not start (server log above, $tmp/postgres.log)"
}
start_postgres
note "PostgreSQL listening on 127.0.0.1:$pg_port (postmaster PID $pm_pid)"

note "creating $accounts accounts"
sql -c "CREATE TABLE accounts (id integer PRIMARY KEY, balance bigint NOT NULL)" \
  -c "INSERT INTO accounts SELECT g, 1000 FROM generate_series(1, $accounts) g" \
  -c "VACUUM ANALYZE accounts" -c "CHECKPOINT"

pg_version=$(sql_value "SHOW server_version")
pg_settings=$(sql_value "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name)
  FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method',
  'max_prepared_transactions', 'max_connections', 'shared_buffers', 'wal_level', 'commit_delay',
  'checkpoint_timeout', 'max_wal_size')")
for want in fsync=on synchronous_commit=on full_page_writes=on "max_prepared_transactions=$pg_max_prepared"; do
  [[ ", $pg_settings, " == *", $want, "* ]] || die "PostgreSQL's settings are not as written ($want expected): $pg_settings"
done

# ---------------------------------------------------------------------------------------------
# Machine
# ---------------------------------------------------------------------------------------------

fs_of() { df -PT -- "$1" 2>/dev/null | awk 'NR == 2 { print $2 " on " $1 " (mounted on " $7 ")" }'; }
cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
machine="nproc $(nproc), ${cpu_model:-unknown CPU}, kernel $(uname -r)"
pg_fs=$(fs_of "$tmp")
if [[ -d $data_dir ]]; then
  kv_fs=$(fs_of "$data_dir")
  if [[ $(stat -c %d -- "$tmp") == "$(stat -c %d -- "$data_dir")" ]]; then
    same_dev="same device"
  else
    same_dev="NOT the same device: the disks differ, so the comparison is unfair"
  fi
else
  kv_fs="(not a local directory)" same_dev="unknown (--coordinator given)"
fi
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
date_start=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# ---------------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------------

# Nearest-rank percentiles (as kv2pc-bench's) of the latencies (us) in pgbench's -l logs, in ms:
# prints "p50 p99 count". Failed transactions ("failed", "serialization", "deadlock") are left out.
pg_percentiles() {
  local dir=$1
  cat "$dir"/log.* | awk '$3 ~ /^[0-9]+$/ { print $3 }' | sort -n | awk '
    { v[NR] = $1 }
    END {
      if (NR == 0) { print "- - 0"; exit }
      r50 = int(NR * 0.50); if (r50 < NR * 0.50) r50++; if (r50 < 1) r50 = 1
      r99 = int(NR * 0.99); if (r99 < NR * 0.99) r99++; if (r99 < 1) r99 = 1
      printf "%.2f %.2f %d\n", v[r50] / 1000, v[r99] / 1000, NR
    }'
}

# CPU accounting, so that a run says how much of the machine other work took while it ran (this
# machine is shared). Ticks of CLK_TCK from /proc: the machine's busy time, and ours = this shell
# with every child it has waited for (pgbench, kv2pc-bench, psql: cutime/cstime), PostgreSQL (the
# postmaster with the backends it has reaped, and its live children), and the kv2pc cluster's
# nodes (their PID files in the data dir). "Others" = machine - ours.
clk_tck=$(getconf CLK_TCK)
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
# utime + stime + cutime + cstime of PID (0 when gone).
pid_ticks() {
  local s f
  s=$(cat "/proc/$1/stat" 2>/dev/null) || {
    echo 0
    return
  }
  read -r -a f <<<"${s##*) }"
  echo $((f[11] + f[12] + f[13] + f[14]))
}
our_ticks() {
  local t st rest f pidfile pid
  t=$(pid_ticks $$)
  if [[ -n $pm_pid ]]; then
    t=$((t + $(pid_ticks "$pm_pid")))
    for st in /proc/[0-9]*/stat; do
      read -r rest <"$st" 2>/dev/null || continue
      read -r -a f <<<"${rest##*) }"
      [[ ${f[1]} == "$pm_pid" ]] && t=$((t + f[11] + f[12] + f[13] + f[14]))
    done
  fi
  if ((!explicit_coordinator)); then
    for pidfile in "$data_dir"/*/pid; do
      [[ -f $pidfile ]] || continue
      read -r pid <"$pidfile" 2>/dev/null || continue
      [[ $pid =~ ^[0-9]+$ ]] && t=$((t + $(pid_ticks "$pid")))
    done
  fi
  echo "$t"
}
cpu_mark() { echo "$EPOCHREALTIME $(machine_ticks) $(our_ticks)"; }
# cpu_since MARK: "ours others", in CPUs averaged over the time since MARK.
cpu_since() {
  local t0 m0 o0 t1 m1 o1
  read -r t0 m0 o0 <<<"$1"
  read -r t1 m1 o1 <<<"$(cpu_mark)"
  awk -v t0="$t0" -v t1="$t1" -v dm=$((m1 - m0)) -v dour=$((o1 - o0)) -v hz="$clk_tck" 'BEGIN {
    w = t1 - t0; if (w <= 0) w = 1
    ours = dour / hz / w; other = (dm - dour) / hz / w; if (other < 0) other = 0
    printf "%.2f %.2f\n", ours, other
  }'
}

# Results, by "<kind>,<clients>" (kind: plain, 2pc, kv).
declare -A R_TPS R_P50 R_P99 R_DETAIL R_LOAD R_CPU
warnings=()

# run_pg KIND CLIENTS
run_pg() {
  local kind=$1 c=$2 script dir threads rc=0 out tps processed failed retried retries avg p50 p99 left mark
  script=$PG_SCRIPTS/transfer_$kind.sql
  [[ -f $script ]] || die "$script not found"
  dir=$tmp/runs/pg-$kind-c$c
  mkdir -p "$dir"
  threads=$((c < $(nproc) ? c : $(nproc)))
  sql -c "VACUUM accounts" -c "CHECKPOINT"
  R_LOAD[$kind,$c]=$(cut -d' ' -f1 /proc/loadavg)
  note "PostgreSQL $kind, $c client(s), $duration s"
  mark=$(cpu_mark)
  timeout --foreground -k 10 $((duration + RUN_SLACK_S)) \
    "$pg_bin/pgbench" -h 127.0.0.1 -p "$pg_port" -U postgres -n -M simple -f "$script" \
    -D "accounts=$accounts" -c "$c" -j "$threads" -T "$duration" --max-tries "$PG_MAX_TRIES" \
    -l --log-prefix="$dir/log" postgres >"$dir/pgbench.out" 2>"$dir/pgbench.err" || rc=$?
  R_CPU[$kind,$c]=$(cpu_since "$mark")
  # Ctrl-C reaches pgbench, which exits 130 by itself, so bash's own trap does not fire.
  case $rc in
    130 | 143) exit "$rc" ;;
    124 | 137) die "pgbench ($kind, $c clients) overran -T $duration by ${RUN_SLACK_S} s and was stopped" ;;
  esac
  out=$(<"$dir/pgbench.out")
  tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' <<<"$out")
  if [[ -z $tps ]]; then
    cat "$dir/pgbench.out" "$dir/pgbench.err" >&2
    die "pgbench ($kind, $c clients) exited $rc without a result"
  fi
  if ((rc != 0)); then
    warnings+=("PostgreSQL $kind, $c clients: pgbench exited $rc (a client aborted; figures incomplete): $(grep -m1 -i 'error\|abort' "$dir/pgbench.err" || true)")
  fi
  processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
  failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out")
  retried=$(sed -n 's/^number of transactions retried: \([0-9]*\).*/\1/p' <<<"$out")
  retries=$(sed -n 's/^total number of retries: \([0-9]*\).*/\1/p' <<<"$out")
  avg=$(sed -n 's/^latency average = \([0-9.]*\) ms$/\1/p' <<<"$out")
  read -r p50 p99 _ <<<"$(pg_percentiles "$dir")"
  R_P50[$kind,$c]=$p50 R_P99[$kind,$c]=$p99 R_TPS[$kind,$c]=$tps
  R_DETAIL[$kind,$c]="${processed:-?} txns, ${failed:-?} failed, ${retried:-?} retried (${retries:-?} retries), avg ${avg:-?} ms"
  # A client stopped by -T between PREPARE and COMMIT PREPARED would leave a prepared
  # transaction holding its locks: say so and roll it back.
  left=$(sql_value "SELECT count(*) FROM pg_prepared_xacts")
  if ((left > 0)); then
    warnings+=("PostgreSQL $kind, $c clients: $left prepared transaction(s) left after the run; rolled back")
    while read -r gid; do
      [[ -n $gid ]] && sql -c "ROLLBACK PREPARED '$gid'"
    done < <(sql_value "SELECT gid FROM pg_prepared_xacts")
  fi
  note "  $tps TPS, p50 ${R_P50[$kind,$c]} ms, p99 ${R_P99[$kind,$c]} ms; ${R_DETAIL[$kind,$c]}"
}

# run_kv CLIENTS
# run_kv KIND C: KIND kv = kv2pc-bench --api exec (reads in one request, writes + commit in
# another), kvi = --api interactive (BEGIN, 2 GET, 2 PUT, COMMIT: six requests, as pgbench's six
# statements).
run_kv() {
  local kv=$1 c=$2 dir rc=0 tps committed abort_rate apc errors unfinished mark api
  api="exec"
  [[ $kv == kvi ]] && api=interactive
  dir=$tmp/runs/kv2pc-$api-c$c
  mkdir -p "$dir"
  R_LOAD[$kv,$c]=$(cut -d' ' -f1 /proc/loadavg)
  note "kv2pc transfer (--api $api), $c client(s), $duration s (+1 s warm-up, after --load)"
  mark=$(cpu_mark)
  timeout --foreground -s INT -k 30 $((duration + RUN_SLACK_S)) \
    "$kv_bench" --data-dir "$data_dir" --workload transfer --clients "$c" --duration "$duration" \
    --keys "$accounts" --api "$api" --load --json "${kv2pc_args[@]}" >"$dir/bench.json" \
    2>"$dir/bench.err" || rc=$?
  R_CPU[$kv,$c]=$(cpu_since "$mark")
  case $rc in
    0) ;;
    3)
      tail -n 5 "$dir/bench.err" >&2
      no_cluster
      ;;
    130 | 143) exit "$rc" ;;
    124 | 137) die "kv2pc-bench ($c clients) overran --duration $duration by ${RUN_SLACK_S} s and was stopped" ;;
    *)
      tail -n 20 "$dir/bench.err" >&2
      die "kv2pc-bench ($c clients) exited $rc"
      ;;
  esac
  tps=$(json_get "$dir/bench.json" .tps)
  [[ -n $tps ]] || die "no tps in kv2pc-bench's JSON ($dir/bench.json)"
  committed=$(json_get "$dir/bench.json" .committed)
  abort_rate=$(json_get "$dir/bench.json" .abort_rate)
  apc=$(json_get "$dir/bench.json" .attempts_per_commit)
  errors=$(json_get "$dir/bench.json" .errors)
  unfinished=$(json_get "$dir/bench.json" .unfinished)
  R_TPS[$kv,$c]=$tps
  R_P50[$kv,$c]=$(printf '%.2f' "$(json_get "$dir/bench.json" .latency_ms.txn.p50)")
  R_P99[$kv,$c]=$(printf '%.2f' "$(json_get "$dir/bench.json" .latency_ms.txn.p99)")
  R_DETAIL[$kv,$c]=$(printf '%s committed, abort rate %.1f%%, %.2f attempts/commit, %s errors, %s cut off' \
    "$committed" "$(awk -v r="$abort_rate" 'BEGIN { print r * 100 }')" "$apc" "$errors" "$unfinished")
  ((errors == 0)) || warnings+=("kv2pc, $c clients: $errors transactions ended in errors ($(json_get "$dir/bench.json" .errors_by_kind | tr -d '\n' | cut -c1-200))")
  note "  $tps TPS, p50 ${R_P50[$kv,$c]} ms, p99 ${R_P99[$kv,$c]} ms; ${R_DETAIL[$kv,$c]}"
}

for c in "${clients[@]}"; do
  run_pg plain "$c"
  run_pg 2pc "$c"
  run_kv kv "$c"
  run_kv kvi "$c"
done

balance_sum=$(sql_value "SELECT sum(balance) FROM accounts")
if ((balance_sum == accounts * 1000)); then
  balance_check="sum of PostgreSQL's balances after all runs: $balance_sum = $accounts x 1000, ok"
else
  balance_check="sum of PostgreSQL's balances after all runs: $balance_sum, expected $((accounts * 1000)): WRONG"
  warnings+=("$balance_check")
fi
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------

first_json=$tmp/runs/kv2pc-exec-c${clients[0]}/bench.json
kv_cluster="$(json_get "$first_json" '.cluster.coordinators | length') coordinator(s), $(json_get "$first_json" .cluster.participants) participants, $(json_get "$first_json" .cluster.vnodes) vnodes"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }
int() { printf '%.0f' "$1"; }

cat <<EOF

kv2pc vs PostgreSQL: two-key transfer, $accounts accounts, $duration s per run
date          $date_start (UTC); load average $load_start at start, $load_end at end
machine       $machine
PostgreSQL    $pg_version ($pg_bin), 127.0.0.1:$pg_port, data in $tmp: $pg_fs
              $pg_settings
kv2pc         cluster data dir $data_dir: $kv_fs; $same_dev
              $kv_cluster; kv2pc-bench $kv_bench${kv2pc_args[*]:+ (extra flags: ${kv2pc_args[*]})}

kv2pc EXEC = kv2pc-bench --api exec (2 requests per transfer); kv2pc interactive = --api
interactive (6 requests, as pgbench's 6 statements).

| clients | PG plain TPS | PG 2PC TPS | kv2pc EXEC TPS | kv2pc interactive TPS | EXEC / PG 2PC | EXEC / PG plain | interactive / PG 2PC | PG plain p50 / p99 ms | PG 2PC p50 / p99 ms | kv2pc EXEC p50 / p99 ms | kv2pc interactive p50 / p99 ms |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
EOF
for c in "${clients[@]}"; do
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s / %s | %s / %s | %s / %s |\n' "$c" \
    "$(int "${R_TPS[plain,$c]}")" "$(int "${R_TPS[2pc,$c]}")" "$(int "${R_TPS[kv,$c]}")" \
    "$(int "${R_TPS[kvi,$c]}")" \
    "$(ratio "${R_TPS[kv,$c]}" "${R_TPS[2pc,$c]}")" "$(ratio "${R_TPS[kv,$c]}" "${R_TPS[plain,$c]}")" \
    "$(ratio "${R_TPS[kvi,$c]}" "${R_TPS[2pc,$c]}")" \
    "${R_P50[plain,$c]}" "${R_P99[plain,$c]}" "${R_P50[2pc,$c]}" "${R_P99[2pc,$c]}" \
    "${R_P50[kv,$c]}" "${R_P99[kv,$c]}" "${R_P50[kvi,$c]}" "${R_P99[kvi,$c]}"
done
cat <<EOF

| clients | run | CPUs: this run / other work | load avg at start | outcome |
| ---: | --- | ---: | ---: | --- |
EOF
for c in "${clients[@]}"; do
  for kind in plain 2pc kv kvi; do
    case $kind in
      plain) label="PG plain" ;;
      2pc) label="PG 2PC" ;;
      kv) label="kv2pc EXEC" ;;
      kvi) label="kv2pc interactive" ;;
    esac
    read -r ours other <<<"${R_CPU[$kind,$c]}"
    printf '| %s | %s | %s / %s | %s | %s |\n' "$c" "$label" "$ours" "$other" \
      "${R_LOAD[$kind,$c]}" "${R_DETAIL[$kind,$c]}"
  done
done
cat <<EOF

TPS: PostgreSQL's is pgbench's "tps (without initial connection time)" over the whole -T run;
kv2pc's counts commits in the $duration s after a 1 s warm-up. p50/p99: a committed
transaction from its first statement to its commit, retries included, nearest rank (PostgreSQL's
from pgbench's -l log). PostgreSQL locks the two rows in id order (no deadlocks); pgbench retries
a deadlock or serialization failure up to $PG_MAX_TRIES times (--max-tries) and counts it as failed
after that. kv2pc retries its wound-wait aborts (abort rate above). CPUs (of $(nproc)), averaged
over the run: "this run" is PostgreSQL, the kv2pc cluster and the bench client together (kv2pc's
includes its --load and warm-up); "other work" is everything else on the machine. The load
average counts this run's own busy threads too.
$balance_check
EOF
if ((${#warnings[@]} > 0)); then
  echo
  echo "WARNINGS:"
  printf '  %s\n' "${warnings[@]}"
fi
