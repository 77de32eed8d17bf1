#!/usr/bin/env bash
# Chaos testing (issue 5): builds kv2pc if needed, then runs kv2pc-chaos, a bank workload on a
# scratch cluster of its own (free 127.0.0.1 ports, a temporary directory) while a nemesis
# SIGKILLs a random coordinator or participant every few seconds and restarts it. At the end it
# checks that the total balance is unchanged, every acknowledged transfer is reflected and
# nothing stays in doubt, and prints a summary (client/chaos.h).
#
#   scripts/chaos.sh --minutes N [--seed S] [kv2pc-chaos flags]
#
# kv2pc-chaos flags: --seconds N, --coordinators C (2), --participants P (3), --clients N (8),
# --accounts N (60), --auditors N (1), --keep (leave the cluster's directory, logs included).
# Without --seed the seed comes from the clock; it is printed, and --seed S repeats the same
# kill schedule. The exit status is kv2pc-chaos's: 0 when the invariant held, 3 when it did not,
# 2 for bad flags.
#
# Environment: KV2PC_SKIP_BUILD=1 uses the binaries as they are; KV2PC_BIN_DIR (default
# build/bin) is where they are; KV2PC_CMAKE_ARGS as for run_tests.sh.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
readonly REPO
# shellcheck source=scripts/lib.sh
source "$REPO/scripts/lib.sh"

usage() {
  sed -n '2,18s/^# \{0,1\}//p' "$REPO/scripts/chaos.sh"
}

args=() seed=""
while (($# > 0)); do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --seed)
      (($# >= 2)) || { printf '%s: --seed needs a value\n' "$kv2pc_prog" >&2; exit 2; }
      seed=$2
      shift 2
      ;;
    --seed=*) seed=${1#*=}; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
if [[ -z $seed ]]; then
  # From the clock, so that runs differ; printed (and by kv2pc-chaos) so that one can be repeated.
  seed=$(($(kv2pc_now_ms) % 1000000000))
  echo "seed $seed (from the clock; pass --seed $seed to repeat the kill schedule)"
fi

BIN_DIR=$(realpath -m -- "${KV2PC_BIN_DIR:-$REPO/build/bin}")
readonly BIN_DIR
if [[ ${KV2PC_SKIP_BUILD:-0} != 1 ]]; then
  "$REPO/scripts/install-deps.sh"
  if [[ ! -f $REPO/build/CMakeCache.txt ]]; then
    echo "configuring $REPO/build (first time)"
    kv2pc_configure "$REPO" "$REPO/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
  fi
  kv2pc_build "$REPO/build" kv2pc-coordinator kv2pc-participant kv2pc-chaos
fi
[[ -x $BIN_DIR/kv2pc-chaos ]] ||
  kv2pc_die "$BIN_DIR/kv2pc-chaos not found; build first (without KV2PC_SKIP_BUILD=1 this script builds)"

exec "$BIN_DIR/kv2pc-chaos" --seed "$seed" "${args[@]}"
