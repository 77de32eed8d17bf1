// Command-line flags of the kv2pc CLI and how it finds the cluster. See client/cli.h for what
// the commands do and docs/architecture.md ("Cluster layout") for the layout file.
//
// Finding the coordinator, first match wins:
//   1. --coordinator tcp://HOST:PORT
//   2. the environment variable KV2PC_COORDINATOR
//   3. the first coordinator (coordinator-0 as run_cluster.sh writes it) in
//      <data dir>/cluster.conf, where the data dir is --data-dir, else KV2PC_DATA_DIR, else
//      ./cluster-data (where ./run_cluster.sh start puts its cluster).
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kv2pc {

// Exit statuses of the kv2pc CLI.
inline constexpr int kExitOk = 0;
inline constexpr int kExitNotFound = 1;  // `get` of a missing key; `ping` got no answer
inline constexpr int kExitUsage = 2;     // bad flags or command, no cluster found
inline constexpr int kExitError = 3;     // the operation failed (the message says why)

// Print "error: MESSAGE" (plus a pointer to `kv2pc help` for usage errors) on `err` and return
// the exit status to use: kExitUsage, or `exit_status`.
int UsageError(std::ostream& err, std::string_view message);
int Error(std::ostream& err, const Status& status, int exit_status);

inline constexpr int kDefaultTimeoutMs = 15000;
inline constexpr std::string_view kDefaultDataDir = "./cluster-data";

struct CliFlags {
  std::optional<std::string> coordinator;  // --coordinator
  std::optional<std::string> data_dir;     // --data-dir
  int timeout_ms = kDefaultTimeoutMs;      // --timeout-ms, > 0
  bool raw = false;                        // --raw: `get` prints the exact bytes
  bool help = false;                       // -h, --help
  std::vector<std::string> command;        // the command word and its arguments; empty = shell
};

// What the CLI reads from its environment; an empty variable counts as unset.
struct CliEnvironment {
  std::optional<std::string> coordinator;  // KV2PC_COORDINATOR
  std::optional<std::string> data_dir;     // KV2PC_DATA_DIR

  // Reads the variables of this process. REQUIRES: no thread is changing the environment.
  static CliEnvironment FromProcess();
};

// Parses the arguments after the program name. Flags come first, as "--flag value" or
// "--flag=value"; the first word that is not a flag (or everything after "--") starts the
// command, so values that look like flags ("put k --x") are left alone.
// Returns InvalidArgument for an unknown flag, a missing value or a bad --timeout-ms.
Result<CliFlags> ParseCliFlags(const std::vector<std::string>& args);

// The data directory: --data-dir, else KV2PC_DATA_DIR, else ./cluster-data.
std::string DataDir(const CliFlags& flags, const CliEnvironment& env);

// The endpoint of the coordinator to talk to (rules at the top of this file).
// Returns NotFound ("no kv2pc cluster found in D (start one with ...)") when there is neither a
// flag, nor the variable, nor a layout file; InvalidArgument when the layout cannot be read
// or parsed (the message names the file).
Result<std::string> FindCoordinator(const CliFlags& flags, const CliEnvironment& env);

// The endpoint for `ping TARGET`: TARGET itself when it contains "://", otherwise the node of
// that name in the layout file. NotFound when there is no layout file or no such node.
Result<std::string> ResolvePingTarget(std::string_view target, const CliFlags& flags,
                                      const CliEnvironment& env);

// Every node of the layout file (for `status` without a node): name and endpoint, in layout
// order; only the participants if `participants_only`. NotFound when there is no layout file;
// InvalidArgument when it cannot be parsed.
Result<std::vector<std::pair<std::string, std::string>>> LayoutNodes(
    const CliFlags& flags, const CliEnvironment& env, bool participants_only = false);

}  // namespace kv2pc
