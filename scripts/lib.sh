# shellcheck shell=bash
# Helpers shared by run_cluster.sh, run_tests.sh and tests/scripts/*.sh: messages, the clock,
# port probes, "is this PID one of our nodes", and the quiet configure/build steps.
# Source it after `set -euo pipefail`; it only defines functions and never exits on its own.
#
# Port probes use bash's /dev/tcp instead of ss/netstat/lsof, which a fresh Debian may lack.

kv2pc_prog=${0##*/}

kv2pc_die() {
  printf '%s: error: %s\n' "$kv2pc_prog" "$*" >&2
  exit 1
}

# Milliseconds since the epoch, without forking `date`. EPOCHREALTIME (bash >= 5) prints
# seconds and microseconds separated by the locale's decimal point, so keep only the digits.
kv2pc_now_ms() {
  local us=${EPOCHREALTIME//[!0-9]/}
  echo $((us / 1000))
}

# Succeeds when something accepts TCP connections on host:port. A refused connect on loopback
# fails at once; the probe opens and closes one connection, which a ZeroMQ socket ignores.
kv2pc_port_in_use() {
  local host=$1 port=$2
  (exec 3<>"/dev/tcp/${host}/${port}") 2>/dev/null
}

# Succeeds when PID is a live process (not a zombie) whose command line mentions kv2pc and, when
# NODE is given, "--node NODE". This guards against PID reuse: a PID file left by a crashed node
# may by now name an unrelated process, which we must never signal. A zombie's cmdline is empty,
# so a killed node that its parent has not reaped yet counts as gone.
kv2pc_pid_is_kv2pc() {
  local pid=$1 node=${2:-} cmdline
  [[ $pid =~ ^[1-9][0-9]*$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # NULs separate the arguments (and end the last one); as spaces, words can be matched whole.
  cmdline=$(tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *kv2pc* ]] || return 1
  [[ -z $node || $cmdline == *" --node $node "* ]]
}

# Succeeds when PID no longer runs (absent, or a zombie waiting for its parent).
kv2pc_pid_gone() {
  local pid=$1 stat
  stat=$(cat "/proc/${pid}/stat" 2>/dev/null) || return 0
  # Field 3 is the state; field 2 (comm) may contain spaces but ends at the last ')'.
  stat=${stat##*) }
  [[ ${stat%% *} == Z ]]
}

# Configures a build tree quietly: output goes to <build_dir>/configure.log and is shown only
# when cmake fails. Extra arguments are passed to cmake, then the words of $KV2PC_CMAKE_ARGS.
kv2pc_configure() {
  local repo=$1 build_dir=$2
  shift 2
  local -a user_args=()
  read -r -d '' -a user_args <<<"${KV2PC_CMAKE_ARGS:-}" || true
  mkdir -p "$build_dir"
  if ! cmake -S "$repo" -B "$build_dir" "$@" "${user_args[@]}" >"$build_dir/configure.log" 2>&1; then
    cat "$build_dir/configure.log" >&2
    kv2pc_die "cmake configure failed (log above, also in $build_dir/configure.log)"
  fi
}

# Builds targets (all when none given) with one job per core. make's bookkeeping lines are
# dropped, so an up-to-date tree prints nothing and a real build shows what it compiles; compiler
# errors always show.
kv2pc_build() {
  local build_dir=$1
  shift
  local -a targets=()
  if (($# > 0)); then
    targets=(--target "$@")
  fi
  local noise='^\[ *[0-9]+%\] Built target |^Consolidate compiler generated dependencies|^Scanning dependencies of target'
  # pipefail makes the pipeline's status cmake's; `|| true` keeps grep's "no lines" from counting.
  if ! cmake --build "$build_dir" -j "$(nproc)" "${targets[@]}" 2>&1 | { grep -Ev "$noise" || true; }; then
    kv2pc_die "build failed (errors above)"
  fi
}
