#!/usr/bin/env bash
# Runs a kv2pc cluster on this machine: coordinators and participants as background processes on
# 127.0.0.1, one directory per node under the data dir. The layout lives in <data-dir>/cluster.conf,
# which every process reads (docs/architecture.md), so every subcommand works from a new shell.
#
#   <data-dir>/cluster.conf       nodes, roles, endpoints (written by the first `start`)
#   <data-dir>/<node>/            the node's own --data-dir (WAL, store), plus:
#   <data-dir>/<node>/node.log    its stdout and stderr, appended across restarts
#   <data-dir>/<node>/pid         its PID while we believe it runs
#   <data-dir>/<node>/node-args   the extra arguments ($KV2PC_NODE_ARGS) it was last started with
#
# A node is "running" when its PID file names a live process whose command line mentions kv2pc
# and its --node name; anything else is a stale PID file, and we never signal that PID.
# `./run_cluster.sh help` lists the subcommands.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
readonly REPO
# shellcheck source=scripts/lib.sh
source "$REPO/scripts/lib.sh"

readonly DEFAULT_PARTICIPANTS=3 DEFAULT_COORDINATORS=1 DEFAULT_BASE_PORT=7000 VNODES=256
readonly STOP_TIMEOUT_MS=10000  # SIGTERM, then this long before SIGKILL
readonly GONE_TIMEOUT_MS=5000   # after SIGKILL, how long until we call the process stuck
readonly READY_TIMEOUT_S=${KV2PC_READY_TIMEOUT_S:-15}
[[ $READY_TIMEOUT_S =~ ^[1-9][0-9]{0,4}$ ]] ||
  kv2pc_die "KV2PC_READY_TIMEOUT_S must be a whole number of seconds, not '$READY_TIMEOUT_S'"

usage() {
  cat <<EOF
Usage: $0 COMMAND [options]

Commands:
  start [--participants N] [--coordinators M] [--base-port P]
                     build if needed, then start the cluster and wait until every node answers
                     (defaults: $DEFAULT_PARTICIPANTS participants, $DEFAULT_COORDINATORS coordinator, ports from $DEFAULT_BASE_PORT: coordinators
                     first, then participants). A data dir that already has a cluster.conf keeps
                     its layout.
  stop               SIGTERM every node (SIGKILL after 10 s); the data stays for the next start
  status             table of nodes; exit 0 when all run and answer ping, 3 otherwise
  kill NODE          SIGKILL one node, as a crash would
  restart NODE       stop NODE if it runs, then start it again as start does
  logs NODE [-f]     print (or follow) the node's log
  help               this text

Every command takes --data-dir D (default: \$KV2PC_DATA_DIR, else ./cluster-data).

Environment:
  KV2PC_DATA_DIR         data dir when --data-dir is not given
  KV2PC_BIN_DIR          where kv2pc, kv2pc-coordinator, kv2pc-participant are (default build/bin)
  KV2PC_SKIP_BUILD=1     start does not install packages or build; it uses the binaries as they are
  KV2PC_NODE_ARGS        extra arguments for every node start launches (split on whitespace);
                         restart reuses the node's last ones unless this is set (even to "")
  KV2PC_READY_TIMEOUT_S  how long a node may take to answer ping (default 15)
EOF
}

usage_error() {
  printf '%s: %s\nRun %s help for usage.\n' "$kv2pc_prog" "$*" "$0" >&2
  exit 2
}

# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------

cmd="" node="" follow=0 data_dir_flag="" participants="" coordinators="" base_port=""
while (($# > 0)); do
  arg=$1
  shift
  value="" has_value=0
  if [[ $arg == --*=* ]]; then
    value=${arg#*=} arg=${arg%%=*} has_value=1
  fi
  case $arg in
    --data-dir | --participants | --coordinators | --base-port)
      if ((!has_value)); then
        (($# > 0)) || usage_error "$arg needs a value"
        value=$1
        shift
      fi
      case $arg in
        --data-dir) data_dir_flag=$value ;;
        --participants) participants=$value ;;
        --coordinators) coordinators=$value ;;
        --base-port) base_port=$value ;;
      esac
      ;;
    -f | --follow) follow=1 ;;
    -h | --help) cmd=help ;;
    -*) usage_error "unknown option $arg" ;;
    *)
      if [[ -z $cmd ]]; then
        cmd=$arg
      elif [[ -z $node ]]; then
        node=$arg
      else
        usage_error "unexpected argument $arg"
      fi
      ;;
  esac
done

case $cmd in
  "") usage >&2; exit 2 ;;
  help) usage; exit 0 ;;
  start | stop | status | kill | restart | logs) ;;
  *) usage_error "unknown command $cmd" ;;
esac
if [[ $cmd != start && -n $participants$coordinators$base_port ]]; then
  usage_error "--participants, --coordinators and --base-port go with start only"
fi
if [[ $cmd != logs ]] && ((follow)); then
  usage_error "-f goes with logs only"
fi
case $cmd in
  kill | restart | logs) [[ -n $node ]] || usage_error "$cmd needs a NODE (see $0 status)" ;;
  *) [[ -z $node ]] || usage_error "$cmd takes no NODE (got $node)" ;;
esac

DATA_DIR=$(realpath -m -- "${data_dir_flag:-${KV2PC_DATA_DIR:-./cluster-data}}")
BIN_DIR=$(realpath -m -- "${KV2PC_BIN_DIR:-$REPO/build/bin}")
CONF=$DATA_DIR/cluster.conf
readonly DATA_DIR BIN_DIR CONF

# ---------------------------------------------------------------------------------------------
# Layout: cluster.conf <-> three parallel arrays, in file order (coordinators first).
# ---------------------------------------------------------------------------------------------

NAMES=() ROLES=() ENDPOINTS=()

conf_error() {
  kv2pc_die "$CONF line $1: $2"
}

# Reads cluster.conf into NAMES/ROLES/ENDPOINTS. Fails (status 1) when there is no file; dies
# when it is malformed.
load_conf() {
  [[ -f $CONF ]] || return 1
  NAMES=() ROLES=() ENDPOINTS=()
  local lineno=0 version="" kw name role endpoint extra i
  while read -r kw name role endpoint extra || [[ -n ${kw:-} ]]; do
    lineno=$((lineno + 1))
    case $kw in
      "" | "#"*) ;;
      version)
        [[ $name == 1 ]] || conf_error "$lineno" "version '$name' is not one this script knows (1)"
        version=1
        ;;
      vnodes) ;;
      node)
        [[ -n $endpoint && -z $extra ]] || conf_error "$lineno" "expected: node <name> <role> <endpoint>"
        [[ $name =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || conf_error "$lineno" "bad node name '$name'"
        [[ $role == coordinator || $role == participant ]] ||
          conf_error "$lineno" "role must be coordinator or participant, not '$role'"
        [[ $endpoint =~ ^tcp://[^:/]+:[0-9]+$ ]] || conf_error "$lineno" "endpoint must be tcp://HOST:PORT, not '$endpoint'"
        for i in "${!NAMES[@]}"; do
          [[ ${NAMES[i]} != "$name" ]] || conf_error "$lineno" "node $name appears twice"
        done
        NAMES+=("$name") ROLES+=("$role") ENDPOINTS+=("$endpoint")
        ;;
      *) conf_error "$lineno" "unknown keyword '$kw'" ;;
    esac
  done <"$CONF"
  [[ -n $version ]] || conf_error "$lineno" "no 'version 1' line"
  ((${#NAMES[@]} > 0)) || conf_error "$lineno" "no nodes"
}

# The default layout: coordinator-i on base+i, then participant-j on base+M+j.
make_layout() {
  local n=$1 m=$2 base=$3 i
  NAMES=() ROLES=() ENDPOINTS=()
  for ((i = 0; i < m; i++)); do
    NAMES+=("coordinator-$i") ROLES+=(coordinator) ENDPOINTS+=("tcp://127.0.0.1:$((base + i))")
  done
  for ((i = 0; i < n; i++)); do
    NAMES+=("participant-$i") ROLES+=(participant) ENDPOINTS+=("tcp://127.0.0.1:$((base + m + i))")
  done
}

write_conf() {
  local i tmp=$CONF.tmp.$$
  {
    echo "# kv2pc cluster layout: every process reads this file (see docs/architecture.md)."
    echo "# node <name> <role> <endpoint>"
    echo "version 1"
    echo "vnodes $VNODES"
    for i in "${!NAMES[@]}"; do
      echo "node ${NAMES[i]} ${ROLES[i]} ${ENDPOINTS[i]}"
    done
  } >"$tmp"
  mv -f -- "$tmp" "$CONF"
}

count_role() {
  local role=$1 r n=0
  for r in "${ROLES[@]}"; do
    [[ $r != "$role" ]] || n=$((n + 1))
  done
  echo "$n"
}

port_of() { echo "${1##*:}"; }

# The address to probe for an endpoint: a wildcard bind answers on loopback.
probe_host_of() {
  local host=${1#tcp://}
  host=${host%:*}
  case $host in
    "*" | 0.0.0.0) echo 127.0.0.1 ;;
    *) echo "$host" ;;
  esac
}

# Prints the index of node NAME, or dies listing the valid names.
node_index() {
  local i
  for i in "${!NAMES[@]}"; do
    if [[ ${NAMES[i]} == "$1" ]]; then
      echo "$i"
      return 0
    fi
  done
  kv2pc_die "unknown node '$1'; nodes in $CONF: ${NAMES[*]}"
}

require_conf() {
  load_conf || kv2pc_die "no cluster in $DATA_DIR (no cluster.conf); start one with $0 start"
}

# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------

pid_file() { echo "$DATA_DIR/$1/pid"; }
log_file() { echo "$DATA_DIR/$1/node.log"; }

# Prints "running PID", "dead PID" (PID file, no such node process) or "stopped -".
node_state() {
  local name=$1 file pid=""
  file=$(pid_file "$name")
  if [[ ! -f $file ]]; then
    echo "stopped -"
    return
  fi
  read -r pid <"$file" || true
  if kv2pc_pid_is_kv2pc "$pid" "$name"; then
    echo "running $pid"
  else
    echo "dead ${pid:--}"
  fi
}

ping_endpoint() {
  timeout 5 "$BIN_DIR/kv2pc" --timeout-ms 500 ping "$1" >/dev/null 2>&1
}

require_binaries() {
  local b
  for b in kv2pc kv2pc-coordinator kv2pc-participant; do
    [[ -x $BIN_DIR/$b ]] || kv2pc_die "$BIN_DIR/$b not found; build first (./run_cluster.sh start builds unless KV2PC_SKIP_BUILD=1)"
  done
}

# Stops the named nodes: SIGTERM to each that runs, up to 10 s for all to exit, SIGKILL to the
# rest. Removes their PID files (stale ones too) and says what it did. Fails if a process
# survives SIGKILL (it is then left with its PID file).
stop_nodes() {
  local name state pid file i
  local -a names=() pids=()
  for name in "$@"; do
    read -r state pid < <(node_state "$name")
    file=$(pid_file "$name")
    case $state in
      running)
        kill -TERM "$pid" 2>/dev/null || true
        names+=("$name") pids+=("$pid")
        ;;
      dead)
        rm -f -- "$file"
        echo "  $name: had already exited (removed its pid file, pid $pid)"
        ;;
    esac
  done

  # From here a node counts as gone once its PID stops naming it (kv2pc_pid_is_kv2pc): if the
  # PID were reused meanwhile, we must not wait for, let alone SIGKILL, the newcomer.
  local deadline=$(($(kv2pc_now_ms) + STOP_TIMEOUT_MS)) waiting=1
  while ((waiting)) && (($(kv2pc_now_ms) < deadline)); do
    waiting=0
    for i in "${!pids[@]}"; do
      ! kv2pc_pid_is_kv2pc "${pids[i]}" "${names[i]}" || waiting=1
    done
    ((!waiting)) || sleep 0.1
  done

  local -a killed=()
  for i in "${!pids[@]}"; do
    if kv2pc_pid_is_kv2pc "${pids[i]}" "${names[i]}"; then
      kill -KILL "${pids[i]}" 2>/dev/null || true
      killed+=("$i")
    fi
  done
  for i in "${killed[@]}"; do
    wait_gone "${pids[i]}" "${names[i]}" || true
  done

  local failed=0 how
  for i in "${!pids[@]}"; do
    how="stopped"
    [[ " ${killed[*]} " != *" $i "* ]] || how="killed with SIGKILL after $((STOP_TIMEOUT_MS / 1000)) s"
    if ! kv2pc_pid_is_kv2pc "${pids[i]}" "${names[i]}"; then
      rm -f -- "$(pid_file "${names[i]}")"
      echo "  ${names[i]}: $how (pid ${pids[i]})"
    else
      echo "  ${names[i]}: pid ${pids[i]} survived SIGKILL; left its pid file" >&2
      failed=1
    fi
  done
  return "$failed"
}

# Waits (bounded) until PID no longer is node NAME.
wait_gone() {
  local pid=$1 name=$2 deadline=$(($(kv2pc_now_ms) + GONE_TIMEOUT_MS))
  while kv2pc_pid_is_kv2pc "$pid" "$name"; do
    (($(kv2pc_now_ms) < deadline)) || return 1
    sleep 0.05
  done
}

# Nodes launched by this invocation and not yet known good; on_exit stops them if we fail.
LAUNCHED=()
PIDS=()
LAUNCH_OK=0
CONF_IS_NEW=0

on_exit() {
  if ((!LAUNCH_OK && ${#LAUNCHED[@]} > 0)); then
    echo "stopping the nodes this $cmd launched:" >&2
    # A child interrupted right after the fork may not have exec'd its binary yet, so its
    # command line does not say kv2pc; give each up to a second to become a node or exit.
    local i name deadline=$(($(kv2pc_now_ms) + 1000))
    for i in "${!PIDS[@]}"; do
      name=${NAMES[i]}
      while ! kv2pc_pid_gone "${PIDS[i]}" && ! kv2pc_pid_is_kv2pc "${PIDS[i]}" "$name" &&
        (($(kv2pc_now_ms) < deadline)); do
        sleep 0.05
      done
    done
    stop_nodes "${LAUNCHED[@]}" >&2 || true
  fi
  if ((!LAUNCH_OK && CONF_IS_NEW)); then
    # Nothing ran with this layout, so a retry may pick other ports or sizes.
    rm -f -- "$CONF"
  fi
}

# Launches node I in the background. MODE is start or restart: only restart falls back to the
# node-args a node was last started with.
launch_node() {
  local i=$1 mode=$2
  local name=${NAMES[i]} role=${ROLES[i]} dir=$DATA_DIR/${NAMES[i]} node_args=""
  if [[ -n ${KV2PC_NODE_ARGS+set} ]]; then
    node_args=$KV2PC_NODE_ARGS
  elif [[ $mode == restart && -f $dir/node-args ]]; then
    node_args=$(<"$dir/node-args")
  fi
  local -a extra=()
  read -r -d '' -a extra <<<"$node_args" || true

  mkdir -p -- "$dir"
  printf '%s\n' "$node_args" >"$dir/node-args"
  printf '=== %s: run_cluster.sh %s %s ===\n' "$(date '+%F %T')" "$mode" "$name" >>"$dir/node.log"
  # stdin from /dev/null and no inherited stdout: a test runner reading our output must not wait
  # for the node to exit.
  "$BIN_DIR/kv2pc-$role" --config "$CONF" --node "$name" --data-dir "$dir" "${extra[@]}" \
    </dev/null >>"$dir/node.log" 2>&1 &
  PIDS[i]=$!
  LAUNCHED+=("$name")
  echo "${PIDS[i]}" >"$dir/pid"
}

indent() {
  local line
  while IFS= read -r line; do
    echo "  | $line"
  done
}

# Prints what node NAME logged since run_cluster.sh last launched it: all of it when short,
# else its head (where a bad-flag error is) and its tail (where a crash is).
show_last_run_log() {
  local log marker run_lines
  log=$(log_file "$1")
  marker=$(grep -n '^=== .*: run_cluster.sh ' -- "$log" | tail -n 1 | cut -d: -f1)
  run_lines=$(tail -n +"$((${marker:-0} + 1))" -- "$log")
  echo "its log since this launch ($log):"
  if (($(wc -l <<<"$run_lines") <= 30)); then
    indent <<<"$run_lines"
  else
    head -n 10 <<<"$run_lines" | indent
    echo "  | ..."
    tail -n 15 <<<"$run_lines" | indent
  fi
}

startup_failed() {
  {
    echo "$kv2pc_prog: error: $1 $2"
    show_last_run_log "$1"
  } >&2
  exit 1
}

# Waits until node I answers ping; on_exit cleans up when it dies or stays silent.
wait_ready() {
  local i=$1
  local name=${NAMES[i]} endpoint=${ENDPOINTS[i]} pid=${PIDS[i]}
  local deadline=$(($(kv2pc_now_ms) + READY_TIMEOUT_S * 1000))
  while true; do
    # Our own child: its PID cannot name another process yet, so "gone" is enough here.
    if kv2pc_pid_gone "$pid"; then
      startup_failed "$name" "exited during startup"
    fi
    if ping_endpoint "$endpoint"; then
      return 0
    fi
    if (($(kv2pc_now_ms) >= deadline)); then
      startup_failed "$name" "did not answer ping on $endpoint within $READY_TIMEOUT_S s"
    fi
    sleep 0.2
  done
}

# Dies naming every node whose port already accepts connections.
check_ports_free() {
  local i port busy=()
  for i in "$@"; do
    port=$(port_of "${ENDPOINTS[i]}")
    if kv2pc_port_in_use "$(probe_host_of "${ENDPOINTS[i]}")" "$port"; then
      busy+=("${NAMES[i]} needs port $port (${ENDPOINTS[i]}), which is already in use")
    fi
  done
  if ((${#busy[@]} > 0)); then
    local msg
    for msg in "${busy[@]}"; do
      echo "$kv2pc_prog: error: $msg" >&2
    done
    echo "Nothing was started. Stop whatever holds the port, or use other ports:" \
      "$0 start --base-port P --data-dir <another dir>" >&2
    exit 1
  fi
}

# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------

validate_number() {
  local flag=$1 value=$2 min=$3 max=$4
  if [[ ! $value =~ ^[0-9]{1,6}$ ]] || ((10#$value < min || 10#$value > max)); then
    usage_error "$flag must be a number from $min to $max, not '$value'"
  fi
}

build() {
  "$REPO/scripts/install-deps.sh"
  if [[ ! -f $REPO/build/CMakeCache.txt ]]; then
    echo "configuring $REPO/build (first time)"
    kv2pc_configure "$REPO" "$REPO/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
  fi
  kv2pc_build "$REPO/build" kv2pc-coordinator kv2pc-participant kv2pc kv2pc-waldump kv2pc-bench
}

cmd_start() {
  # Validated, then normalized ("007" -> "7") so they compare as strings below.
  if [[ -n $participants ]]; then
    validate_number --participants "$participants" 1 1000
    participants=$((10#$participants))
  fi
  if [[ -n $coordinators ]]; then
    validate_number --coordinators "$coordinators" 1 100
    coordinators=$((10#$coordinators))
  fi
  if [[ -n $base_port ]]; then
    validate_number --base-port "$base_port" 1024 65535
    base_port=$((10#$base_port))
  fi

  if load_conf; then
    # An existing layout wins; flags may only repeat it.
    local have_p have_c have_base port ep
    have_p=$(count_role participant)
    have_c=$(count_role coordinator)
    have_base=65536
    for ep in "${ENDPOINTS[@]}"; do
      port=$(port_of "$ep")
      ((port >= have_base)) || have_base=$port
    done
    if [[ (-n $participants && $participants != "$have_p") ||
      (-n $coordinators && $coordinators != "$have_c") ||
      (-n $base_port && $base_port != "$have_base") ]]; then
      kv2pc_die "$DATA_DIR already holds a cluster of $have_p participant(s) and $have_c" \
        "coordinator(s) from port $have_base ($CONF), which your flags contradict. Start it as it is" \
        "(drop the flags), use another --data-dir, or remove $DATA_DIR (its data goes with it)" \
        "after $0 stop."
    fi
  else
    local n=${participants:-$DEFAULT_PARTICIPANTS} m=${coordinators:-$DEFAULT_COORDINATORS}
    local base=${base_port:-$DEFAULT_BASE_PORT}
    ((base + m + n - 1 <= 65535)) || usage_error "ports $base..$((base + m + n - 1)) run past 65535"
    make_layout "$n" "$m" "$base"
    CONF_IS_NEW=1
  fi

  local i state pid running=()
  for i in "${!NAMES[@]}"; do
    read -r state pid < <(node_state "${NAMES[i]}")
    case $state in
      running) running+=("${NAMES[i]} (pid $pid)") ;;
      dead) rm -f -- "$(pid_file "${NAMES[i]}")" ;;
    esac
  done
  if ((${#running[@]} > 0)); then
    local list
    printf -v list '%s, ' "${running[@]}"
    {
      echo "$kv2pc_prog: error: cluster already running; $0 status"
      echo "  running: ${list%, }"
      echo "  (to bring back a single stopped node: $0 restart NODE)"
    } >&2
    exit 1
  fi

  if [[ ${KV2PC_SKIP_BUILD:-0} != 1 ]]; then
    build
  fi
  require_binaries

  local -a part_idx=() coord_idx=()
  for i in "${!NAMES[@]}"; do
    if [[ ${ROLES[i]} == participant ]]; then part_idx+=("$i"); else coord_idx+=("$i"); fi
  done
  check_ports_free "${!NAMES[@]}"

  trap on_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  mkdir -p -- "$DATA_DIR"
  ((!CONF_IS_NEW)) || write_conf

  # Participants first, so a coordinator's first transaction finds them. Each group starts
  # together (recovery runs in parallel), then we wait for each member.
  for i in "${part_idx[@]}"; do launch_node "$i" start; done
  for i in "${part_idx[@]}"; do wait_ready "$i"; done
  for i in "${coord_idx[@]}"; do launch_node "$i" start; done
  for i in "${coord_idx[@]}"; do wait_ready "$i"; done
  LAUNCH_OK=1

  echo "kv2pc cluster started (data dir $DATA_DIR)"
  for i in "${!NAMES[@]}"; do
    printf '  %-14s pid %-7s %s\n' "${NAMES[i]}" "${PIDS[i]}" "${ENDPOINTS[i]}"
  done
  # Show commands the way this user can type them: a relative path when under the cwd, and
  # --data-dir only when the CLI would not find this data dir by itself.
  local cli=$BIN_DIR/kv2pc dd_flag="" stop_flag=""
  [[ $cli != "$PWD"/* ]] || cli=${cli#"$PWD"/}
  if [[ $DATA_DIR != "$(realpath -m -- "${KV2PC_DATA_DIR:-./cluster-data}")" ]]; then
    dd_flag=" --data-dir $DATA_DIR"
    stop_flag=$dd_flag
  fi
  echo "Connect:  $cli$dd_flag put a 1 ; $cli$dd_flag get a ; $cli$dd_flag   (interactive shell)"
  if ((${#coord_idx[@]} > 0)); then
    echo "          (or $cli --coordinator ${ENDPOINTS[${coord_idx[0]}]} ...)"
  fi
  echo "Status:   $0 status$stop_flag"
  echo "Stop:     $0 stop$stop_flag"
}

cmd_stop() {
  if ! load_conf; then
    echo "no cluster in $DATA_DIR (no cluster.conf); nothing to stop"
    return 0
  fi
  local name any=0
  for name in "${NAMES[@]}"; do
    [[ ! -f $(pid_file "$name") ]] || any=1
  done
  if ((!any)); then
    echo "nothing running in $DATA_DIR"
    return 0
  fi
  echo "stopping kv2pc cluster in $DATA_DIR"
  stop_nodes "${NAMES[@]}"
  echo "stopped; data kept in $DATA_DIR ($0 start reuses it)"
}

cmd_status() {
  if ! load_conf; then
    echo "no cluster in $DATA_DIR (no cluster.conf); start one with $0 start"
    return 3
  fi
  local i state pid answers healthy=0
  echo "kv2pc cluster in $DATA_DIR"
  printf '  %-14s %-12s %-8s %-24s %-8s %s\n' NODE ROLE PID ENDPOINT STATE PING
  for i in "${!NAMES[@]}"; do
    read -r state pid < <(node_state "${NAMES[i]}")
    answers=-
    if [[ $state == running ]]; then
      if ping_endpoint "${ENDPOINTS[i]}"; then
        answers=ok
        healthy=$((healthy + 1))
      else
        answers="no answer"
      fi
    fi
    printf '  %-14s %-12s %-8s %-24s %-8s %s\n' \
      "${NAMES[i]}" "${ROLES[i]}" "$pid" "${ENDPOINTS[i]}" "$state" "$answers"
  done
  if ((healthy == ${#NAMES[@]})); then
    echo "all ${#NAMES[@]} nodes running and answering"
    return 0
  fi
  echo "$healthy of ${#NAMES[@]} nodes running and answering"
  return 3
}

cmd_kill() {
  require_conf
  node_index "$node" >/dev/null
  local state pid
  read -r state pid < <(node_state "$node")
  case $state in
    stopped) kv2pc_die "$node is not running" ;;
    dead)
      rm -f -- "$(pid_file "$node")"
      kv2pc_die "$node is not running (removed its stale pid file, pid $pid)"
      ;;
  esac
  kill -KILL "$pid" 2>/dev/null || true
  wait_gone "$pid" "$node" || kv2pc_die "$node (pid $pid) is still there after SIGKILL"
  rm -f -- "$(pid_file "$node")"
  echo "killed $node (pid $pid) with SIGKILL"
}

cmd_restart() {
  require_conf
  local i state pid
  i=$(node_index "$node")
  require_binaries
  read -r state pid < <(node_state "$node")
  if [[ $state != stopped ]]; then
    echo "stopping $node"
    stop_nodes "$node"
  fi
  check_ports_free "$i"
  trap on_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  launch_node "$i" restart
  wait_ready "$i"
  LAUNCH_OK=1
  echo "restarted $node (pid ${PIDS[i]}, ${ENDPOINTS[i]})"
}

cmd_logs() {
  require_conf
  node_index "$node" >/dev/null
  local log
  log=$(log_file "$node")
  [[ -f $log ]] || kv2pc_die "$node has no log yet ($log)"
  if ((follow)); then
    exec tail -n 50 -f -- "$log"
  fi
  cat -- "$log"
}

"cmd_$cmd"
