#!/usr/bin/env bash
# Checks that every C++ file of the repository is clang-formatted (.clang-format). Skipped
# (exit 77) when clang-format or git is not installed: formatting is a developer check, not a
# dependency of the build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
command -v clang-format >/dev/null 2>&1 || { echo "clang-format not installed: skipped"; exit 77; }
command -v git >/dev/null 2>&1 && git rev-parse --git-dir >/dev/null 2>&1 ||
  { echo "not a git checkout: skipped"; exit 77; }
mapfile -t files < <(git ls-files '*.cc' '*.h')
if ! clang-format --dry-run --Werror "${files[@]}"; then
  echo "some files are not formatted: run clang-format -i on them" >&2
  exit 1
fi
echo "${#files[@]} files formatted"
