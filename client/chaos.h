// Chaos: a bank workload over every participant while a nemesis SIGKILLs a random coordinator
// or participant every few seconds and restarts it (issue 5). `kv2pc-chaos` and
// scripts/chaos.sh run it for minutes; tests/integration/chaos_test.cc runs 60 s of it.
//
// The workload: `accounts` accounts ("acct-<n>", spread evenly over the participants) start at
// 1000 each. Each of `clients` threads loops: BEGIN on a coordinator, GetForUpdate two random
// accounts and its own counter "ops-<thread>", move a random amount (never below zero), Put
// all three, COMMIT; it switches coordinators when its own does not answer. `auditors` threads
// now and then read every balance in one transaction (shared locks: a serializable read).
// Each COMMIT ends in one of three ways, counted per thread: acknowledged (OK), aborted
// (ABORTED), or unknown (OUTCOME_UNKNOWN, a timeout, or any other error: the transaction id is
// kept and its coordinator asked at the end).
//
// The nemesis runs on the calling thread (the nodes die with the thread that started them,
// client/local_cluster.h): from its own RNG, seeded with `seed`, it draws the victim among all
// nodes, how long it stays down and the pause before the next kill, so a seed always gives the
// same schedule of kills (the workload around it depends on timing). One node is down at a
// time.
//
// At the deadline the workload stops, every node runs again, and once nothing is open anywhere
// (bounded by settle_timeout_ms) a fresh client checks:
//   (a) the balances sum to accounts * 1000, and none is negative;
//   (b) every acknowledged transfer is reflected: each "ops-<thread>" equals the thread's
//       acknowledged commits plus those of its unknown ones that their coordinator answers
//       COMMITTED (fewer: acknowledged commits were lost; more: a commit the client heard
//       ABORTED happened); and every unknown outcome is COMMITTED or ABORTED, never PENDING or
//       UNKNOWN;
//   (c) nothing stays in doubt: no open transaction at any node, empty IN_DOUBT lists;
//   (d) every completed audit saw accounts * 1000;
//   (e) no sanitizer reported anything in the node logs.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace kv2pc {

struct ChaosOptions {
  std::string bin_dir;                        // where kv2pc-coordinator and kv2pc-participant are
  std::chrono::milliseconds duration{60000};  // of the workload under the nemesis
  uint64_t seed = 1;                          // the nemesis' schedule (and the clients' RNGs)
  int coordinators = 2;
  int participants = 3;
  int accounts = 60;
  int clients = 8;   // transfer threads, spread over the coordinators
  int auditors = 1;  // threads reading all balances in one transaction
  // The pause between a restart and the next kill, and how long a killed node stays down:
  // uniform in [min, max].
  int min_kill_interval_ms = 2000;
  int max_kill_interval_ms = 5000;
  int min_down_ms = 200;
  int max_down_ms = 1500;
  // Per client call. Longer than the servers' own waits (--op-timeout-ms, --vote-timeout-ms
  // below), so a live coordinator's definite answer comes first; short, so a dead one costs
  // little.
  int client_timeout_ms = 3000;
  int settle_timeout_ms = 60000;  // after the workload: until nothing is open anywhere
  bool keep_dir = false;          // leave the cluster's directory (data, logs) behind
};

struct ChaosSummary {
  ChaosOptions options;
  double seconds = 0;        // the workload ran this long
  double total_seconds = 0;  // start to end, checks included
  int kills = 0;
  int restarts = 0;
  std::map<std::string, int> kills_by_node;
  // Transactions of the transfer threads.
  uint64_t committed = 0;  // acknowledged (COMMIT answered OK)
  // Ended without a commit and with a definite answer: ABORTED (by reason), or an operation
  // before COMMIT failed otherwise (by error code; the transaction was then abandoned).
  uint64_t aborted = 0;
  std::map<std::string, uint64_t> aborted_by_reason;
  uint64_t begin_failures = 0;  // BEGIN not answered (coordinator down) or refused
  // COMMIT answered neither OK nor ABORTED (OUTCOME_UNKNOWN, a timeout, TXN_ALREADY_ABORTED
  // after a wound, ...): each is resolved by QUERY_OUTCOME at its coordinator at the end.
  uint64_t unknown = 0;
  std::map<std::string, uint64_t> unknown_by_error;  // what the client heard
  uint64_t unknown_committed = 0;                    // the coordinator answered COMMITTED
  uint64_t unknown_aborted = 0;                      // ... ABORTED
  uint64_t unknown_unresolved = 0;                   // PENDING, UNKNOWN or no answer: a failure
  uint64_t audits_ok = 0;                            // completed audits that saw the right sum
  uint64_t audits_failed = 0;    // completed audits that saw another sum: a failure
  uint64_t audits_given_up = 0;  // audits that could not complete (aborted, timed out)
  int64_t expected_sum = 0;
  int64_t final_sum = -1;  // -1 when it could not be read
  // Over all threads: max(0, expected - counter) and max(0, counter - expected), expected
  // being the acknowledged commits plus the unknown ones resolved COMMITTED.
  uint64_t lost_acknowledged = 0;
  uint64_t unexpected_commits = 0;
  int64_t settle_ms = -1;  // from the end of the workload until nothing was open; -1: never
  std::string sanitizer_reports;
  std::string dir;       // the cluster's directory, when kept
  std::string logs_dir;  // a copy of the node logs, when a check failed and the dir is not kept
  std::vector<std::string> failures;  // one line per failed check; empty = invariant held
  bool invariant_held = false;
  std::string text;  // the summary kv2pc-chaos prints
};

// Runs the chaos described above and checks the result. `progress` (if not null) gets a line
// about every 5 s (elapsed, committed, aborted, kills) and one per kill and restart. Runs the
// nodes from the calling thread, which must therefore be the one that outlives them (any
// thread that does not return before RunChaos does). Never throws; a cluster that cannot start
// is a failure in the summary.
ChaosSummary RunChaos(const ChaosOptions& options, std::ostream* progress);

// `kv2pc-chaos [--minutes N | --seconds N] [--seed S] [--coordinators C] [--participants P]
// [--clients N] [--accounts N] [--auditors N] [--keep]`: the servers are taken from the
// directory of the running program. Prints progress and the summary to `out`; exit 0 if the
// invariant held, 3 if it did not, 2 for bad flags.
int ChaosCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace kv2pc
