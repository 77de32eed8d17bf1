// kv2pc-participant: parses flags, loads the cluster layout and runs a ParticipantServer.
// Exit status: 0 after SIGTERM/SIGINT, 2 for bad flags or layout, 3 when the server cannot
// start (port in use, data dir locked, damaged log).
#include <cstdio>

#include "common/logging.h"
#include "common/server_main.h"
#include "participant/participant_server.h"

int main(int argc, char** argv) {
  kv2pc::Flags flags;
  kv2pc::DefineServerFlags(&flags, "participant");
  flags.Define("lock-timeout-ms", "5000", "longest wait for a lock before the txn aborts");
  flags.Define("checkpoint-interval-ms", "1000", "how often committed data goes to SQLite");
  flags.Define("outcome-query-interval-ms", "1000",
               "how often an undecided PREPARED transaction asks its coordinator");
  flags.Define("outcome-query-max-interval-ms", "10000",
               "while the coordinator cannot be reached, the delay between questions doubles "
               "per transaction up to this");
  flags.Define("outcome-query-timeout-ms", "2000",
               "how long a question to another node (QUERY_OUTCOME, ABORT_NOTICE) waits for "
               "its answer before the node counts as unreachable");
  flags.Define("txn-idle-timeout-ms", "30000",
               "an ACTIVE transaction idle this long is aborted unless its coordinator still "
               "runs it");
  int exit_code = 0;
  auto setup = kv2pc::SetUpServer(&flags, argc, argv, "participant", &exit_code);
  if (!setup) return exit_code;
  kv2pc::participant::ParticipantOptions options;
  options.node = setup->node;
  options.data_dir = setup->data_dir;
  options.bind = setup->bind;
  options.wal_segment_size = setup->wal_segment_size;
  constexpr int64_t kHour = 3600000;
  auto lock = kv2pc::MillisFlag(flags, "lock-timeout-ms", 1, kHour, &exit_code);
  auto ckpt = kv2pc::MillisFlag(flags, "checkpoint-interval-ms", 1, kHour, &exit_code);
  auto query = kv2pc::MillisFlag(flags, "outcome-query-interval-ms", 10, kHour, &exit_code);
  auto query_max = kv2pc::MillisFlag(flags, "outcome-query-max-interval-ms", 10, kHour, &exit_code);
  auto query_timeout = kv2pc::MillisFlag(flags, "outcome-query-timeout-ms", 10, kHour, &exit_code);
  auto idle = kv2pc::MillisFlag(flags, "txn-idle-timeout-ms", 1, 24 * kHour, &exit_code);
  if (!lock || !ckpt || !query || !query_max || !query_timeout || !idle) return exit_code;
  if (*query_max < *query) {
    std::fprintf(stderr,
                 "error: --outcome-query-max-interval-ms (%lld) is less than "
                 "--outcome-query-interval-ms (%lld)\n",
                 static_cast<long long>(query_max->count()),
                 static_cast<long long>(query->count()));
    return kv2pc::kExitUsage;
  }
  options.lock_timeout = *lock;
  options.checkpoint_interval = *ckpt;
  options.outcome_query_interval = *query;
  options.outcome_query_max_interval = *query_max;
  options.outcome_query_timeout = *query_timeout;
  options.txn_idle_timeout = *idle;

  auto server = kv2pc::participant::ParticipantServer::Create(setup->config, options);
  if (!server.ok()) {
    spdlog::error("cannot start: {}", server.status().ToString());
    std::fprintf(stderr, "error: %s\n", server.status().message().c_str());
    return kv2pc::kExitCannotStart;
  }
  (*server)->Run(setup->signal_fd);
  return 0;
}
