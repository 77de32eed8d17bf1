// kv2pc-wal-bench, shared between its parts: the configuration, one measured case of wal::Log
// (wal_cases.cc), and the report that prints them (wal_report.cc). The tool itself, its flags
// and what it measures: wal_bench.cc. Results and their analysis: docs/benchmarks.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/machine.h"
#include "bench/raw_fsync.h"
#include "bench/stats.h"
#include "common/status.h"
#include "wal/log_format.h"

namespace kv2pc::bench {

struct WalBenchConfig {
  std::string parent_dir;        // where the scratch directory is made
  std::string dir_origin;        // how parent_dir was chosen, for the header
  double seconds = 3;            // timed, per case
  double warmup_s = 0.5;         // untimed, before each case
  std::vector<size_t> threads;   // appender-thread cases: Append + WaitDurable in a loop
  std::vector<size_t> inflight;  // event-loop cases: records kept in flight by one thread
  std::vector<size_t> sizes;     // payload sizes in bytes
  uint64_t segment_size = wal::kDefaultSegmentSize;
  bool json = false;
};

// How a case drives the log.
enum class WalMode {
  // `n` threads, each looping Append + WaitDurable: one blocked thread per pending record.
  kThreads,
  // One thread keeps `n` records in flight, learning of durability the way kv2pc's servers
  // do: on_durable -> eventfd (Notifier) -> DurableWaiters::Poll. No thread per record.
  kEventLoop,
};

struct WalCaseResult {
  WalMode mode = WalMode::kThreads;
  size_t n = 0;  // appender threads, or records in flight
  size_t payload_size = 0;
  double open_ms = 0;  // Log::Open on an empty directory: creating the first segment
  uint64_t appends = 0;
  double appends_per_s = 0;
  uint64_t flushes = 0;  // on_durable calls: one write + one fdatasync each
  double flushes_per_s = 0;
  double records_per_flush = 0;
  int64_t batch_p50 = 0;  // records made durable by one flush
  int64_t batch_max = 0;
  size_t rotations = 0;    // segments started inside the timed window
  LatencySummary latency;  // Append start -> the appender learns the record is durable
  LatencySummary cycle;    // between consecutive flushes
  LatencySummary wake;     // flush reported (on_durable) -> the appender learns of it
  LatencySummary spread;   // per flush: first to last of its appenders learning of it
  // Scheduler accounting over the timed window (machine.h SchedStat): run-queue wait of the
  // flusher per flush and of the appenders per append; CPU time of all of them per append.
  double flusher_wait_per_flush_ms = 0;
  double appender_wait_per_append_ms = 0;
  double cpu_per_append_us = 0;
};

// Opens a fresh log in scratch/<case name>, runs one case for warmup_s + seconds, closes the
// log and deletes its directory. Returns the WAL's error if an Append or a wait fails.
Result<WalCaseResult> RunWalCase(const std::string& scratch, WalMode mode, size_t n,
                                 size_t payload_size, const WalBenchConfig& config);

struct WalBenchReport {
  MachineInfo machine;      // at start
  double load_end[3] = {};  // includes this run's own threads
  double io_pressure = -1;  // IoPressureAvg10 at start: someone else using the disk
  std::string fs_type;
  std::string scratch;
  // Raw fdatasync, measured before ([0]) and after ([1]) the WAL cases: the disk drifts, and
  // the two show by how much while the WAL was measured.
  RawSyncResult raw_append[2];
  RawSyncResult raw_overwrite[2];
  // What the ratios divide by: the mean ops/s of before and after.
  double base_append = 0;
  double base_overwrite = 0;
  std::vector<WalCaseResult> cases;
};

// The human-readable report: header, raw fdatasync, WAL table, diagnostics, targets.
void PrintText(FILE* out, const WalBenchConfig& config, const WalBenchReport& rep);
// The same as one JSON object.
void PrintJson(FILE* out, const WalBenchConfig& config, const WalBenchReport& rep);

}  // namespace kv2pc::bench
