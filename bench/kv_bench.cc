// kv2pc-bench: an asynchronous load generator for a running kv2pc cluster.
//
//   kv2pc-bench [--coordinator URL] [--data-dir D] --workload single|transfer|readonly|ycsb-a|hot
//               --clients N --duration S [--keys K] [--value-size B] [--hot-keys H]
//               [--threads T] [--seed S] [--warmup S] [--timeout-ms MS] [--max-attempts A]
//               [--shared-reads] [--api exec|interactive] [--json] [--floor] [--load]
//
// N logical clients run transactions back to back (workloads.h says which), driven by T
// threads with one event loop each (async_driver.h). Before the run it can write every key's
// initial value (--load) and measure what a transaction cannot beat on this machine (--floor,
// floor.h). It prints a progress line every second on stderr and a report at the end: on
// stdout, or with --json the report on stderr and one JSON object on stdout (kv_report.cc).
// docs/benchmarks.md, "kv2pc-bench", explains the figures and records results.
//
// Finding the cluster, as the kv2pc CLI does (client/cli_options.h): --coordinator, else
// KV2PC_COORDINATOR, else the layout <data dir>/cluster.conf, where the data dir is --data-dir,
// else KV2PC_DATA_DIR, else ./cluster-data. With the layout, the clients spread over all of its
// coordinators; the layout also gives the participants that transfer and --floor need.
//
// Exit status: 0 the run finished (whatever the figures); 1 the run failed (--load could not
// write every key, an I/O error in --floor, no socket); 2 usage error; 3 the cluster could not
// be reached (no layout, a coordinator does not answer PING, or not one transaction committed
// and every one failed); 130 interrupted (SIGINT/SIGTERM), after the report of what ran.
#include "bench/kv_bench.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "client/cli_options.h"
#include "common/config.h"
#include "common/flags.h"
#include "common/logging.h"
#include "common/types.h"

namespace kv2pc::bench {
namespace {

constexpr int kExitRunFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitUnreachable = 3;
constexpr int kExitInterrupted = 130;

// The most logical clients: each has at most 2 requests in flight, far below the 100,000
// messages a kv2pc socket queues per peer (docs/protocol.md, "Framing").
constexpr int64_t kMaxClients = 10000;
constexpr int64_t kMaxThreads = 64;
// --load writes with this many transactions in flight, whatever --clients says.
constexpr size_t kLoadClients = 16;
// Reaching the cluster before the run: the first PING of each coordinator.
constexpr int kReachTimeoutMs = 5000;

Result<double> ParseSeconds(const Flags& flags, const std::string& name, bool positive) {
  const std::string& value = flags.Get(name);
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !(v >= 0 && v <= 86400) || (positive && v == 0)) {
    return Status::InvalidArgument("--" + name + " must be a " + (positive ? "positive " : "") +
                                   "number of seconds, not '" + value + "'");
  }
  return v;
}

Result<BenchConfig> ParseConfig(const Flags& flags) {
  BenchConfig c;
  for (const char* required : {"workload", "clients", "duration"}) {
    if (!flags.IsSet(required)) {
      return Status::InvalidArgument(std::string("--") + required + " is required");
    }
  }
  std::optional<WorkloadKind> kind = ParseWorkload(flags.Get("workload"));
  if (!kind) {
    return Status::InvalidArgument(
        "--workload must be single, transfer, readonly, ycsb-a or hot, "
        "not '" +
        flags.Get("workload") + "'");
  }
  c.workload.kind = *kind;
  KV2PC_ASSIGN_OR_RETURN(int64_t clients, flags.GetInt("clients", 1, kMaxClients));
  c.clients = static_cast<size_t>(clients);
  KV2PC_ASSIGN_OR_RETURN(c.duration_s, ParseSeconds(flags, "duration", true));
  KV2PC_ASSIGN_OR_RETURN(c.warmup_s, ParseSeconds(flags, "warmup", false));
  KV2PC_ASSIGN_OR_RETURN(int64_t keys, flags.GetInt("keys", 1, 100000000));
  c.workload.keys = static_cast<uint64_t>(keys);
  KV2PC_ASSIGN_OR_RETURN(int64_t value_size,
                         flags.GetInt("value-size", 0, static_cast<int64_t>(kMaxValueSize)));
  c.workload.value_size = static_cast<size_t>(value_size);
  KV2PC_ASSIGN_OR_RETURN(int64_t hot_keys, flags.GetInt("hot-keys", 2, 100000000));
  c.workload.hot_keys = static_cast<uint64_t>(hot_keys);
  KV2PC_ASSIGN_OR_RETURN(int64_t threads, flags.GetInt("threads", 1, kMaxThreads));
  c.threads = static_cast<size_t>(threads);
  KV2PC_ASSIGN_OR_RETURN(int64_t seed, flags.GetInt("seed", 0, INT64_MAX));
  c.seed = static_cast<uint64_t>(seed);
  KV2PC_ASSIGN_OR_RETURN(int64_t timeout_ms, flags.GetInt("timeout-ms", 1, 3600000));
  c.timeout_ms = static_cast<int>(timeout_ms);
  KV2PC_ASSIGN_OR_RETURN(int64_t max_attempts, flags.GetInt("max-attempts", 1, 1000000));
  c.max_attempts = static_cast<int>(max_attempts);
  c.json = flags.GetBool("json");
  c.floor = flags.GetBool("floor");
  c.load = flags.GetBool("load");
  c.workload.shared_reads = flags.GetBool("shared-reads");
  const std::string api = flags.Get("api");
  if (api != "exec" && api != "interactive") {
    return Status::InvalidArgument("--api is '" + api + "'; expected exec or interactive");
  }
  c.exec = api == "exec";
  if (flags.IsSet("coordinator")) c.coordinator_flag = flags.Get("coordinator");
  // The CLI's rules for the data dir (client/cli_options.h), with its own functions.
  CliFlags cli;
  if (flags.IsSet("data-dir")) cli.data_dir = flags.Get("data-dir");
  c.data_dir = DataDir(cli, CliEnvironment::FromProcess());
  return c;
}

bool IsFile(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

// Finds the coordinators (and, from the layout, the participants). *layout is filled when a
// layout file was read.
Result<ClusterTarget> FindTarget(const BenchConfig& config, std::optional<ClusterConfig>* layout,
                                 int* exit_code) {
  CliFlags cli;
  cli.coordinator = config.coordinator_flag;
  cli.data_dir = config.data_dir;
  const CliEnvironment env = CliEnvironment::FromProcess();
  Result<std::string> endpoint = FindCoordinator(cli, env);
  if (!endpoint.ok()) {
    *exit_code = endpoint.status().IsNotFound() ? kExitUnreachable : kExitUsage;
    return endpoint.status();
  }
  ClusterTarget t;
  const std::string path = (std::filesystem::path(config.data_dir) / "cluster.conf").string();
  if (IsFile(path)) {
    Result<ClusterConfig> loaded = ClusterConfig::Load(path);
    if (!loaded.ok()) {
      *exit_code = kExitUsage;
      return Status::InvalidArgument(loaded.status().message());
    }
    *layout = std::move(loaded).value();
    t.layout_path = path;
    t.participants = (*layout)->participants().size();
    t.vnodes = (*layout)->vnodes();
    if (t.participants > 0) {
      t.first_participant = (*layout)->participants().front()->name;
      t.first_participant_endpoint = (*layout)->participants().front()->endpoint;
    }
  }
  const bool explicit_endpoint = config.coordinator_flag.has_value() || env.coordinator.has_value();
  if (explicit_endpoint || !layout->has_value()) {
    t.coordinators.push_back(*endpoint);
    std::string name;
    if (layout->has_value()) {
      for (const NodeInfo* n : (*layout)->coordinators()) {
        if (n->endpoint == *endpoint) name = n->name;
      }
    }
    t.coordinator_names.push_back(name);
  } else {
    for (const NodeInfo* n : (*layout)->coordinators()) {
      t.coordinators.push_back(n->endpoint);
      t.coordinator_names.push_back(n->name);
    }
  }
  return t;
}

// The directory whose file system the floor's fdatasync measures: the cluster's data dir when
// it exists, else $TMPDIR, else the current directory.
std::string SyncParent(const BenchConfig& config) {
  std::error_code ec;
  if (std::filesystem::is_directory(config.data_dir, ec)) return config.data_dir;
  if (const char* tmp = std::getenv("TMPDIR"); tmp != nullptr && *tmp != '\0') return tmp;
  return ".";
}

std::string ErrorKinds(const RunStats& s) {
  std::string out;
  for (const auto& [kind, e] : s.errors_by_kind) {
    out +=
        (out.empty() ? "" : "; ") + std::to_string(e.count) + " x " + kind + " (" + e.example + ")";
  }
  return out;
}

Result<LoadReport> Load(const BenchConfig& config, const ClusterTarget& target,
                        const Workload& workload, zmq::context_t* context, int signal_fd) {
  std::atomic<uint64_t> next_batch{0};
  DriverOptions o;
  o.coordinators = target.coordinators;
  o.clients = kLoadClients;
  o.threads = config.threads;
  o.timeout = std::chrono::milliseconds(config.timeout_ms);
  o.max_attempts = config.max_attempts;
  o.seed = config.seed;
  o.progress = true;
  o.label = "load";
  o.exec = config.exec;
  o.signal_fd = signal_fd;
  o.next_plan = [&](size_t, uint64_t, Rng*) { return workload.LoadBatch(next_batch++); };
  std::fprintf(stderr, "[load] writing %llu keys, %llu per transaction\n",
               static_cast<unsigned long long>(config.workload.keys),
               static_cast<unsigned long long>(workload.LoadBatchKeys()));
  KV2PC_ASSIGN_OR_RETURN(DriverResult r, RunDriver(o, context));
  if (r.interrupted) return Status::Aborted("interrupted during --load");
  if (r.total.errors > 0) {
    return Status::Unavailable("--load: " + std::to_string(r.total.errors) +
                               " transactions failed: " + ErrorKinds(r.total));
  }
  LoadReport rep;
  rep.keys = config.workload.keys;
  rep.txns = r.total.committed;
  rep.aborted = r.total.aborted;
  rep.seconds = r.elapsed_s;
  std::fprintf(stderr, "[load] done: %llu transactions in %.2f s\n",
               static_cast<unsigned long long>(rep.txns), rep.seconds);
  return rep;
}

int Run(const BenchConfig& config, int signal_fd) {
  std::optional<ClusterConfig> layout;
  int exit_code = kExitUsage;
  Result<ClusterTarget> target = FindTarget(config, &layout, &exit_code);
  if (!target.ok()) {
    std::fprintf(stderr, "kv2pc-bench: %s\n", target.status().message().c_str());
    return exit_code;
  }
  Result<std::unique_ptr<Workload>> workload =
      Workload::Create(config.workload, layout.has_value() ? &*layout : nullptr);
  if (!workload.ok()) {
    std::fprintf(stderr, "kv2pc-bench: %s\n", workload.status().message().c_str());
    return kExitUsage;
  }

  zmq::context_t context(static_cast<int>(std::min<size_t>(config.threads, 4)));
  const int reach_ms = std::min(config.timeout_ms, kReachTimeoutMs);
  for (const std::string& endpoint : target->coordinators) {
    Status s = PingOnce(&context, endpoint, reach_ms);
    if (!s.ok()) {
      std::fprintf(stderr, "kv2pc-bench: cannot reach the coordinator at %s: %s\n",
                   endpoint.c_str(), s.message().c_str());
      return kExitUnreachable;
    }
  }

  BenchReport report;
  report.machine = GetMachineInfo();
  report.io_pressure = IoPressureAvg10();
  report.target = *target;
  if (layout.has_value()) {
    Result<std::string> fs = FileSystemName(config.data_dir);
    if (fs.ok()) report.data_fs = *fs;
  }

  if (config.floor) {
    FloorInputs in;
    in.sync_parent = SyncParent(config);
    in.coordinator = target->coordinators.front();
    in.participant = target->first_participant_endpoint;
    in.participant_name = target->first_participant;
    in.write_size = std::max<size_t>(128, config.workload.value_size + 64);
    in.timeout_ms = config.timeout_ms;
    std::fprintf(stderr, "[floor] measuring fdatasync in %s and PING round trips ...\n",
                 in.sync_parent.c_str());
    Result<Floor> floor = MeasureFloor(in, &context);
    if (!floor.ok()) {
      std::fprintf(stderr, "kv2pc-bench: --floor: %s\n", floor.status().ToString().c_str());
      return floor.status().IsUnavailable() ? kExitUnreachable : kExitRunFailed;
    }
    report.floor = *floor;
  }

  if (config.load) {
    Result<LoadReport> load = Load(config, *target, **workload, &context, signal_fd);
    if (!load.ok()) {
      std::fprintf(stderr, "kv2pc-bench: %s\n", load.status().message().c_str());
      return load.status().IsAborted() ? kExitInterrupted : kExitRunFailed;
    }
    report.load = *load;
  }

  DriverOptions o;
  o.coordinators = target->coordinators;
  o.clients = config.clients;
  o.threads = config.threads;
  o.timeout = std::chrono::milliseconds(config.timeout_ms);
  o.max_attempts = config.max_attempts;
  o.warmup_s = config.warmup_s;
  o.duration_s = config.duration_s;
  o.seed = config.seed;
  o.progress = true;
  o.label = std::string(WorkloadName(config.workload.kind));
  o.exec = config.exec;
  o.signal_fd = signal_fd;
  const Workload& w = **workload;
  o.next_plan = [&w](size_t client, uint64_t n, Rng* rng) {
    return std::optional<TxnPlan>(w.Next(rng, client, n));
  };
  Result<DriverResult> run = RunDriver(o, &context);
  if (!run.ok()) {
    std::fprintf(stderr, "kv2pc-bench: %s\n", run.status().ToString().c_str());
    return kExitRunFailed;
  }
  report.run = std::move(run).value();
  LoadAverages(report.load_end);

  if (config.json) {
    PrintText(stderr, config, report);
    PrintJson(stdout, config, report);
  } else {
    PrintText(stdout, config, report);
  }
  std::fflush(stdout);
  if (report.run.interrupted) return kExitInterrupted;
  if (report.run.total.committed == 0 && report.run.total.errors > 0) {
    std::fprintf(stderr, "kv2pc-bench: no transaction committed; every one failed (see errors)\n");
    return kExitUnreachable;
  }
  return 0;
}

void DefineFlags(Flags* flags) {
  flags->Define("coordinator", "",
                "coordinator endpoint tcp://HOST:PORT (default: KV2PC_COORDINATOR, else every "
                "coordinator of the layout in the data dir)");
  flags->Define("data-dir", "",
                "cluster data dir holding cluster.conf (default: KV2PC_DATA_DIR, else "
                "./cluster-data)");
  flags->Define("workload", "", "single | transfer | readonly | ycsb-a | hot (required)");
  flags->Define("clients", "", "logical clients: transactions in flight at once (required)");
  flags->Define("duration", "", "measured seconds, after the warm-up (required)");
  flags->Define("warmup", "1", "seconds run before the measured window, not counted");
  flags->Define("keys", "10000", "number of keys");
  flags->Define("value-size", "100", "bytes per value");
  flags->Define("hot-keys", "10", "hot: the keys its transactions pick 2 of");
  flags->Define("threads", "1", "worker threads (each one event loop and its sockets)");
  flags->Define("seed", "1", "seed of the clients' random choices");
  flags->Define("timeout-ms", "15000", "per request; no reply by then counts as an error");
  flags->Define("max-attempts", "100",
                "attempts per transaction before it counts as an error (retries of aborts)");
  flags->Define("json", "", "print the report as one JSON object on stdout (text on stderr)", true);
  flags->Define("floor", "",
                "first measure fdatasync and PING round trips and print the latency floor", true);
  flags->Define("load", "", "first write every key's initial value", true);
  flags->Define("shared-reads", "",
                "transfer and hot read under shared locks (upgraded at the PUT) instead of GET "
                "for_update",
                true);
  flags->Define("api", "exec",
                "exec: a transaction's reads in one EXEC request, its writes and commit in "
                "another; interactive: BEGIN, each GET and PUT, COMMIT as separate requests");
  flags->Define("help", "", "print this help", true);
}

constexpr const char* kUsage =
    "usage: kv2pc-bench [--coordinator URL] [--data-dir D] --workload "
    "single|transfer|readonly|ycsb-a|hot\n"
    "                   --clients N --duration S [flags]\n";

int Main(int argc, char** argv) {
  Flags flags;
  DefineFlags(&flags);
  Status s = flags.Parse(argc, argv);
  if (s.ok() && !flags.positional().empty()) {
    s = Status::InvalidArgument("unexpected argument '" + flags.positional()[0] + "'");
  }
  if (s.ok() && flags.GetBool("help")) {
    std::printf("%s%s", kUsage, flags.Usage().c_str());
    return 0;
  }
  Result<BenchConfig> config = s.ok() ? ParseConfig(flags) : Result<BenchConfig>(s);
  if (!config.ok()) {
    std::fprintf(stderr, "kv2pc-bench: %s\n%sRun kv2pc-bench --help for the flags.\n",
                 config.status().message().c_str(), kUsage);
    return kExitUsage;
  }
  (void)InitLogging("kv2pc-bench", "warn");       // RpcClient's warnings go to stderr
  Result<int> signal_fd = TerminationSignalFd();  // before any thread starts
  return Run(*config, signal_fd.ok() ? *signal_fd : -1);
}

}  // namespace
}  // namespace kv2pc::bench

int main(int argc, char** argv) { return kv2pc::bench::Main(argc, argv); }
