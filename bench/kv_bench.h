// kv2pc-bench, shared between its parts: the configuration (kv_bench.cc parses it), and the
// report that kv_report.cc prints as text or as one JSON object. The tool, its flags and its
// exit statuses: kv_bench.cc. How to read the report: docs/benchmarks.md, "kv2pc-bench".
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "bench/async_driver.h"
#include "bench/floor.h"
#include "bench/machine.h"
#include "bench/workloads.h"

namespace kv2pc::bench {

struct BenchConfig {
  WorkloadOptions workload;
  size_t clients = 0;
  size_t threads = 1;
  double duration_s = 0;
  double warmup_s = 1;
  uint64_t seed = 1;
  int timeout_ms = 15000;
  int max_attempts = 100;
  bool json = false;
  bool floor = false;
  bool load = false;
  bool exec = true;                             // --api exec (default) or interactive
  std::optional<std::string> coordinator_flag;  // --coordinator (or KV2PC_COORDINATOR)
  std::string data_dir;                         // --data-dir, KV2PC_DATA_DIR or ./cluster-data
};

// Where the cluster is, as found from the flags and the layout file.
struct ClusterTarget {
  std::vector<std::string> coordinator_names;  // parallel to coordinators ("" when unknown)
  std::vector<std::string> coordinators;       // endpoints the clients use
  std::string layout_path;                     // empty when no layout was read
  size_t participants = 0;                     // from the layout; 0 when unknown
  int vnodes = 0;
  std::string first_participant;  // name and endpoint, for the floor's r_p
  std::string first_participant_endpoint;
};

struct LoadReport {
  uint64_t keys = 0;
  uint64_t txns = 0;
  uint64_t aborted = 0;
  double seconds = 0;
};

struct BenchReport {
  MachineInfo machine;      // at start
  double io_pressure = -1;  // IoPressureAvg10 at start
  double load_end[3] = {};  // load averages at the end (includes the bench and the cluster)
  std::string data_fs;      // file system of the data dir, when it exists
  ClusterTarget target;
  std::optional<LoadReport> load;
  std::optional<Floor> floor;
  DriverResult run;
};

// The human-readable report.
void PrintText(FILE* out, const BenchConfig& config, const BenchReport& report);
// The same as one JSON object and a newline.
void PrintJson(FILE* out, const BenchConfig& config, const BenchReport& report);

}  // namespace kv2pc::bench
