#!/usr/bin/env bash
# Builds kv2pc and runs its CTest suite; CI runs exactly this (.ci/run).
#
#   ./run_tests.sh                          default suite (everything not labelled slow), in build/
#   ./run_tests.sh --sanitize asan-ubsan    the same under ASan+UBSan, in build-asan-ubsan/
#   ./run_tests.sh --sanitize tsan          the same under TSan, in build-tsan/
#   ./run_tests.sh --label slow             only the tests labelled slow (long, timing-sensitive)
#   ./run_tests.sh -R wal -V                anything else goes to ctest as it is
#
# Extra configure arguments: KV2PC_CMAKE_ARGS="-DKV2PC_WERROR=ON" ./run_tests.sh
# The exit status is ctest's, and CTest's summary is the last thing printed.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
readonly REPO
# shellcheck source=scripts/lib.sh
source "$REPO/scripts/lib.sh"

usage() {
  sed -n '2,12s/^# \{0,1\}//p' "$REPO/run_tests.sh"
}

usage_error() {
  printf '%s: %s\nRun %s --help for usage.\n' "$kv2pc_prog" "$*" "$0" >&2
  exit 2
}

sanitize=none label="" ctest_extra=()
while (($# > 0)); do
  case $1 in
    --sanitize | --label)
      (($# >= 2)) || usage_error "$1 needs a value"
      if [[ $1 == --sanitize ]]; then sanitize=$2; else label=$2; fi
      shift 2
      ;;
    --sanitize=*) sanitize=${1#*=}; shift ;;
    --label=*) label=${1#*=}; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; ctest_extra+=("$@"); break ;;
    *) ctest_extra+=("$1"); shift ;;
  esac
done

case $sanitize in
  none) build_dir=$REPO/build ;;
  asan-ubsan | tsan) build_dir=$REPO/build-$sanitize ;;
  *) usage_error "--sanitize takes asan-ubsan or tsan, not '$sanitize'" ;;
esac

"$REPO/scripts/install-deps.sh"

configure_args=(-DBUILD_TESTING=ON "-DKV2PC_SANITIZE=$sanitize")
if [[ ! -f $build_dir/CMakeCache.txt ]]; then
  echo "configuring $build_dir (first time)"
  configure_args+=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
fi
kv2pc_configure "$REPO" "$build_dir" "${configure_args[@]}"
echo "building in $build_dir"
kv2pc_build "$build_dir"

# Tests labelled slow (long runs, timing-sensitive) stay out of the default suite; --label picks
# exactly one label, slow included. --no-tests=error: a filter that matches nothing is a failure,
# not a green run that tested nothing.
filter=(-LE slow)
if [[ -n $label ]]; then
  filter=(-L "$label")
fi
ctest_args=(--test-dir "$build_dir" --output-on-failure -j2 --timeout 300 --no-tests=error
  "${filter[@]}" "${ctest_extra[@]}")
if [[ $sanitize == tsan ]]; then
  # libzmq is not instrumented: its frames (and only its) are suppressed, see tests/tsan.supp.
  export TSAN_OPTIONS="suppressions=$REPO/tests/tsan.supp halt_on_error=1 ${TSAN_OPTIONS:-}"
fi
echo "ctest ${ctest_args[*]}"
exec ctest "${ctest_args[@]}"
