// What kv2pc-coordinator's and kv2pc-participant's main() share: the flags every server takes,
// checking them, logging, the cluster layout and the termination signal. Exit statuses:
// 0 after SIGTERM/SIGINT, 2 for bad flags or layout, 3 when the server cannot start.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "common/config.h"
#include "common/flags.h"

namespace kv2pc {

inline constexpr int kExitUsage = 2;
inline constexpr int kExitCannotStart = 3;

struct ServerSetup {
  ClusterConfig config;
  std::string node;
  std::string data_dir;
  std::string bind;
  uint64_t wal_segment_size = 0;
  int signal_fd = -1;
};

// Defines config, node, data-dir, bind, wal-segment-bytes, log-level and help. `role` names
// the program in help texts ("participant" or "coordinator").
void DefineServerFlags(Flags* flags, const std::string& role);

// Parses argv and sets everything up. On --help, or an error (printed as one "error: ..."
// line with the usage), returns nullopt with *exit_code set.
std::optional<ServerSetup> SetUpServer(Flags* flags, int argc, char** argv, const std::string& role,
                                       int* exit_code);

// A flag holding milliseconds in [min_ms, max_ms]; prints the error and sets *exit_code on
// failure.
std::optional<std::chrono::milliseconds> MillisFlag(const Flags& flags, const std::string& name,
                                                    int64_t min_ms, int64_t max_ms, int* exit_code);

}  // namespace kv2pc
