// kv2pc-coordinator: parses flags, loads the cluster layout and runs a CoordinatorServer.
// Exit status: 0 after SIGTERM/SIGINT, 2 for bad flags or layout, 3 when the server cannot
// start (port in use, data dir locked, damaged log).
#include <cstdio>

#include "common/logging.h"
#include "common/server_main.h"
#include "coordinator/coordinator_server.h"

int main(int argc, char** argv) {
  kv2pc::Flags flags;
  kv2pc::DefineServerFlags(&flags, "coordinator");
  flags.Define("op-timeout-ms", "10000", "longest wait for a participant's READ/WRITE answer");
  flags.Define("vote-timeout-ms", "5000", "longest wait for a PREPARE vote before aborting");
  flags.Define("commit-retry-ms", "1000", "resend an unacknowledged DECIDE_COMMIT after this");
  flags.Define("txn-idle-timeout-ms", "30000",
               "an ACTIVE transaction without requests for this long is aborted");
  flags.Define("max-open-txns", "100000",
               "open transactions at most; BEGIN beyond it is refused with OVERLOADED");
  flags.Define("outcome-history", "100000",
               "COMMIT decisions kept in the decision log (and memory) after their END, so "
               "`kv2pc outcome` still answers COMMITTED; older ones answer UNKNOWN");
  int exit_code = 0;
  auto setup = kv2pc::SetUpServer(&flags, argc, argv, "coordinator", &exit_code);
  if (!setup) return exit_code;
  kv2pc::coordinator::CoordinatorOptions options;
  options.node = setup->node;
  options.data_dir = setup->data_dir;
  options.bind = setup->bind;
  options.wal_segment_size = setup->wal_segment_size;
  constexpr int64_t kHour = 3600000;
  auto op = kv2pc::MillisFlag(flags, "op-timeout-ms", 1, kHour, &exit_code);
  auto vote = kv2pc::MillisFlag(flags, "vote-timeout-ms", 1, kHour, &exit_code);
  auto retry = kv2pc::MillisFlag(flags, "commit-retry-ms", 10, kHour, &exit_code);
  auto idle = kv2pc::MillisFlag(flags, "txn-idle-timeout-ms", 1, 24 * kHour, &exit_code);
  if (!op || !vote || !retry || !idle) return exit_code;
  auto max_open = flags.GetInt("max-open-txns", 1, 100000000);
  if (!max_open.ok()) {
    std::fprintf(stderr, "error: %s\n", max_open.status().message().c_str());
    return kv2pc::kExitUsage;
  }
  options.max_open_txns = static_cast<size_t>(*max_open);
  // 0 keeps none (every ended commit then answers UNKNOWN); the top bound is ~8 GB of memory.
  auto history = flags.GetInt("outcome-history", 0, 100000000);
  if (!history.ok()) {
    std::fprintf(stderr, "error: %s\n", history.status().message().c_str());
    return kv2pc::kExitUsage;
  }
  options.outcome_history = static_cast<size_t>(*history);
  options.op_timeout = *op;
  options.vote_timeout = *vote;
  options.commit_retry = *retry;
  options.txn_idle_timeout = *idle;

  auto server = kv2pc::coordinator::CoordinatorServer::Create(setup->config, options);
  if (!server.ok()) {
    spdlog::error("cannot start: {}", server.status().ToString());
    std::fprintf(stderr, "error: %s\n", server.status().message().c_str());
    return kv2pc::kExitCannotStart;
  }
  (*server)->Run(setup->signal_fd);
  return 0;
}
