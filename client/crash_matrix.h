// The crash matrix: for every fail point with `crash`, a scratch cluster runs one transaction
// that writes a key on each of three participants, the process crashes at that point, it is
// restarted (by PID, as `run_cluster.sh restart` would), and the outcome is checked. (Rows of
// the read-only path only read participant-1's key; rows of the one-phase path write only
// that key, so the commit is one-phase, and check that the other keys stay as they were.)
//   - all-or-nothing: the three keys hold all the old or all the new values;
//   - an acknowledged commit is durable (and an acknowledged abort left nothing behind);
//   - `kv2pc outcome` agrees with the data (an OUTCOME_UNKNOWN client can learn the truth);
//   - nothing stays in doubt and the keys' locks are free: a new transaction writes them.
// With `coordinator_lost`, a crashed coordinator is not restarted at first: the participants
// must resolve what they can among themselves (cooperative termination, idle timeouts), and
// whatever stays in doubt must be listed by IN_DOUBT; then it comes back and the checks above
// run. `kv2pc crash-matrix` prints the table; tests/integration/crash_test.cc runs each row.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"

namespace kv2pc {

struct CrashCase {
  std::string point;              // a fail point of the catalogue (common/failpoint.h)
  bool coordinator_lost = false;  // a crashed coordinator stays down until participants settle
};

struct CrashRow {
  CrashCase c;
  std::string crashed;              // the node that crashed
  std::string client_heard;         // COMMITTED, ABORTED (REASON), OUTCOME_UNKNOWN, ...
  std::string outcome;              // COMMIT or ABORT (what the data shows at the end)
  std::string without_coordinator;  // coordinator_lost: what the participants did alone
  bool all_or_nothing = false;
  bool ack_durable = false;     // what the client heard is what happened (true if it heard
                                // nothing definite)
  bool outcome_agrees = false;  // QUERY_OUTCOME at the coordinator matches the data
  bool locks_released = false;
  int64_t resolve_ms = -1;  // from the restart until nothing is open anywhere
  std::string failure;      // why the row failed; empty = passed
  bool passed() const { return failure.empty(); }
};

struct CrashMatrixOptions {
  std::string bin_dir;     // where kv2pc-coordinator and kv2pc-participant are
  bool keep_dirs = false;  // leave each scratch cluster's directory (logs) behind
};

// Every fail point of the catalogue, each once with the coordinator restarted at once and,
// for coordinator points, once with it lost until the participants settle.
std::vector<CrashCase> AllCrashCases();

// Runs one case on a fresh scratch cluster. The row says what happened and whether every
// check held; `logs` (if not null) receives the node logs when it failed.
CrashRow RunCrashCase(const CrashMatrixOptions& options, const CrashCase& c,
                      std::string* logs = nullptr);

// The table `kv2pc crash-matrix` prints: a header, then one line per row.
std::string CrashTableHeader();
std::string CrashTableLine(const CrashRow& row);

// `kv2pc crash-matrix [--only NAME] [--keep] [--no-coordinator-lost]`: the servers are taken
// from the directory of the running kv2pc. Exit 0 if every row passed, 3 otherwise.
int CrashMatrixCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace kv2pc
