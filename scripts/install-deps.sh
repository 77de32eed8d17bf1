#!/usr/bin/env bash
# Installs the Debian packages kv2pc needs to build and test, and nothing that is already there.
# run_cluster.sh and run_tests.sh call it first, so a fresh Debian 12 machine needs no manual step.
#
# Quiet when everything is installed: no apt-get runs at all, not even `apt-get update`. When
# something is missing it needs root (apt-get); without root it prints the command to run and fails.
set -euo pipefail

# Build tools, then one package per library that CMakeLists.txt finds.
readonly PACKAGES=(
  g++ cmake make pkg-config
  libzmq3-dev         # ZeroMQ, the transport between client, coordinator and participants
  cppzmq-dev          # zmq.hpp, the C++ binding (header-only)
  libmsgpack-cxx-dev  # message encoding (header-only)
  libsqlite3-dev      # participants' checkpointed data
  libspdlog-dev       # logging
  libgtest-dev        # unit and integration tests
)

prog=${0##*/}

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "$prog: warning: no dpkg-query (not Debian?); cannot check packages, assuming they are installed" >&2
  exit 0
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  # "install ok installed" only; a removed package whose config files remain reads differently.
  if [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

if ((EUID != 0)); then
  echo "$prog: error: missing Debian packages: ${missing[*]}" >&2
  echo "Install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

echo "$prog: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "$prog: done"
