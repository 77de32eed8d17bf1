// kv2pc-participant: parses flags, loads the cluster layout and runs a ParticipantServer.
// Exit status: 0 after SIGTERM/SIGINT, 2 for bad flags or layout, 3 when the server cannot
// start (port in use, data dir locked, damaged log).
#include <cstdio>

#include "common/config.h"
#include "common/flags.h"
#include "common/logging.h"
#include "participant/participant_server.h"

int main(int argc, char** argv) {
  using namespace std::chrono;
  kv2pc::Flags flags;
  flags.Define("config", "", "cluster layout file (cluster.conf)");
  flags.Define("node", "", "this node's name in the layout, e.g. participant-0");
  flags.Define("data-dir", "", "directory for the WAL and data.sqlite (created if missing)");
  flags.Define("bind", "", "endpoint to listen on instead of the layout's, e.g. tcp://*:7001");
  flags.Define("lock-timeout-ms", "5000", "longest wait for a lock before the txn aborts");
  flags.Define("checkpoint-interval-ms", "1000", "how often committed data goes to SQLite");
  flags.Define("outcome-query-interval-ms", "1000",
               "how often an in-doubt transaction asks its coordinator");
  flags.Define("txn-idle-timeout-ms", "30000",
               "an ACTIVE transaction idle this long is aborted unless its coordinator still "
               "runs it");
  flags.Define("wal-segment-bytes", "16777216", "size of a pre-allocated WAL segment");
  flags.Define("log-level", "info", "trace, debug, info, warn, error");
  flags.Define("help", "", "show this help", true);
  kv2pc::Status s = flags.Parse(argc, argv);
  if (!s.ok() || flags.GetBool("help")) {
    if (!s.ok()) std::fprintf(stderr, "error: %s\n", s.message().c_str());
    std::fprintf(stderr, "usage: kv2pc-participant --config FILE --node NAME --data-dir DIR\n%s",
                 flags.Usage().c_str());
    return s.ok() ? 0 : 2;
  }
  for (const char* required : {"config", "node", "data-dir"}) {
    if (flags.Get(required).empty()) {
      std::fprintf(stderr, "error: --%s is required (see --help)\n", required);
      return 2;
    }
  }
  auto lock_ms = flags.GetInt("lock-timeout-ms", 1, 3600000);
  auto ckpt_ms = flags.GetInt("checkpoint-interval-ms", 1, 3600000);
  auto query_ms = flags.GetInt("outcome-query-interval-ms", 10, 3600000);
  auto idle_ms = flags.GetInt("txn-idle-timeout-ms", 1, 86400000);
  auto seg = flags.GetInt("wal-segment-bytes", 64 * 1024, int64_t{1} << 34);
  for (const auto* r : {&lock_ms, &ckpt_ms, &query_ms, &idle_ms, &seg}) {
    if (!r->ok()) {
      std::fprintf(stderr, "error: %s\n", r->status().message().c_str());
      return 2;
    }
  }
  s = kv2pc::InitLogging(flags.Get("node"), flags.Get("log-level"));
  if (!s.ok()) {
    std::fprintf(stderr, "error: %s\n", s.message().c_str());
    return 2;
  }
  auto config = kv2pc::ClusterConfig::Load(flags.Get("config"));
  if (!config.ok()) {
    std::fprintf(stderr, "error: %s\n", config.status().message().c_str());
    return 2;
  }
  auto signal_fd = kv2pc::TerminationSignalFd();
  if (!signal_fd.ok()) {
    std::fprintf(stderr, "error: %s\n", signal_fd.status().message().c_str());
    return 3;
  }
  kv2pc::participant::ParticipantOptions options;
  options.node = flags.Get("node");
  options.data_dir = flags.Get("data-dir");
  options.bind = flags.Get("bind");
  options.lock_timeout = milliseconds(*lock_ms);
  options.checkpoint_interval = milliseconds(*ckpt_ms);
  options.outcome_query_interval = milliseconds(*query_ms);
  options.txn_idle_timeout = milliseconds(*idle_ms);
  options.wal_segment_size = static_cast<uint64_t>(*seg);
  auto server = kv2pc::participant::ParticipantServer::Create(*config, options);
  if (!server.ok()) {
    spdlog::error("cannot start: {}", server.status().ToString());
    std::fprintf(stderr, "error: %s\n", server.status().message().c_str());
    return 3;
  }
  (*server)->Run(*signal_fd);
  return 0;
}
