// Logging (spdlog) and fail-stop checks.
//
// Servers log to stderr (run_cluster.sh sends it to <data-dir>/<node>/node.log), one line per
// event, prefixed with the node name. KV2PC_CHECK is for broken invariants only: it logs and
// aborts the process, leaving recovery to restore a consistent state (LogCabin's PANIC).
// Expected failures are Status values, never checks.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

#include "common/status.h"

namespace kv2pc {

// Sets the default logger: stderr, pattern "time [node] level message". `level` is one of
// trace, debug, info, warn, error, critical, off. Returns InvalidArgument on a bad level.
Status InitLogging(std::string_view node_name, std::string_view level);

// Fail-stop: logs `why` as critical, flushes the log and exits at once with status 70
// (EX_SOFTWARE), without running destructors. For failures after which the process must not
// go on, such as a failed fsync: recovery at the next start restores what was durable.
[[noreturn]] void FailStop(std::string_view why);

[[noreturn]] void CheckFailed(const char* file, int line, const char* expr, std::string_view msg);

}  // namespace kv2pc

#define KV2PC_CHECK(cond, msg)                                         \
  do {                                                                 \
    if (!(cond)) ::kv2pc::CheckFailed(__FILE__, __LINE__, #cond, msg); \
  } while (0)
