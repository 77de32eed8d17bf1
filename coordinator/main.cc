// kv2pc-coordinator: parses flags, loads the cluster layout and runs a CoordinatorServer.
// Exit status: 0 after SIGTERM/SIGINT, 2 for bad flags or layout, 3 when the server cannot
// start (port in use, data dir locked, damaged log).
#include <cstdio>

#include "common/config.h"
#include "common/flags.h"
#include "common/logging.h"
#include "coordinator/coordinator_server.h"

int main(int argc, char** argv) {
  using std::chrono::milliseconds;
  kv2pc::Flags flags;
  flags.Define("config", "", "cluster layout file (cluster.conf)");
  flags.Define("node", "", "this node's name in the layout, e.g. coordinator-0");
  flags.Define("data-dir", "", "directory for the decision log (created if missing)");
  flags.Define("bind", "", "endpoint to listen on instead of the layout's, e.g. tcp://*:7000");
  flags.Define("op-timeout-ms", "10000", "longest wait for a participant's READ/WRITE answer");
  flags.Define("vote-timeout-ms", "5000", "longest wait for a PREPARE vote before aborting");
  flags.Define("commit-retry-ms", "1000", "resend an unacknowledged DECIDE_COMMIT after this");
  flags.Define("txn-idle-timeout-ms", "30000",
               "an ACTIVE transaction without requests for this long is aborted");
  flags.Define("wal-segment-bytes", "16777216", "size of a pre-allocated log segment");
  flags.Define("log-level", "info", "trace, debug, info, warn, error");
  flags.Define("help", "", "show this help", true);
  kv2pc::Status s = flags.Parse(argc, argv);
  if (!s.ok() || flags.GetBool("help")) {
    if (!s.ok()) std::fprintf(stderr, "error: %s\n", s.message().c_str());
    std::fprintf(stderr, "usage: kv2pc-coordinator --config FILE --node NAME --data-dir DIR\n%s",
                 flags.Usage().c_str());
    return s.ok() ? 0 : 2;
  }
  for (const char* required : {"config", "node", "data-dir"}) {
    if (flags.Get(required).empty()) {
      std::fprintf(stderr, "error: --%s is required (see --help)\n", required);
      return 2;
    }
  }
  auto op_ms = flags.GetInt("op-timeout-ms", 1, 3600000);
  auto vote_ms = flags.GetInt("vote-timeout-ms", 1, 3600000);
  auto retry_ms = flags.GetInt("commit-retry-ms", 10, 3600000);
  auto idle_ms = flags.GetInt("txn-idle-timeout-ms", 1, 86400000);
  auto seg = flags.GetInt("wal-segment-bytes", 64 * 1024, int64_t{1} << 34);
  for (const auto* r : {&op_ms, &vote_ms, &retry_ms, &idle_ms, &seg}) {
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
  kv2pc::coordinator::CoordinatorOptions options;
  options.node = flags.Get("node");
  options.data_dir = flags.Get("data-dir");
  options.bind = flags.Get("bind");
  options.op_timeout = milliseconds(*op_ms);
  options.vote_timeout = milliseconds(*vote_ms);
  options.commit_retry = milliseconds(*retry_ms);
  options.txn_idle_timeout = milliseconds(*idle_ms);
  options.wal_segment_size = static_cast<uint64_t>(*seg);
  auto server = kv2pc::coordinator::CoordinatorServer::Create(*config, options);
  if (!server.ok()) {
    spdlog::error("cannot start: {}", server.status().ToString());
    std::fprintf(stderr, "error: %s\n", server.status().message().c_str());
    return 3;
  }
  (*server)->Run(*signal_fd);
  return 0;
}
