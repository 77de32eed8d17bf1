// kv2pc-wal-bench: how close group commit in wal::Log comes to the disk's fdatasync rate.
//
// Measures, in one run, on the file system of one directory:
//   1. the raw fdatasync rate (raw_fsync.h): 128-byte append + fdatasync, and 128-byte
//      overwrite of a pre-allocated zero-filled file + fdatasync (what the WAL does);
//   2. durable appends per second through wal::Log, for each payload size and each number of
//      appender threads, every appender looping Append + WaitDurable;
// and prints a table (or, with --json, a JSON object on stdout and the table on stderr), the
// targets of issue #3 with PASS/MISS, and the diagnostics needed to explain a miss: flushes
// (one per on_durable call, i.e. one write + one fdatasync each), records per flush, the
// flusher's cycle time and how late appenders return after their flush. Results and their
// analysis: docs/benchmarks.md.
//
// Segment creation is excluded from the timed window for the first segment (Log::Open creates
// and zero-fills it before any thread starts; its duration is printed) and included, counted
// in the "rot" column, for rotations that happen while measuring: that is what a server pays
// today, since nothing recycles segments yet.
//
// Exit status: 0 whatever the figures (a missed target is information, not an error),
// 1 usage error, 2 an I/O or WAL error.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bench/machine.h"
#include "bench/raw_fsync.h"
#include "bench/stats.h"
#include "common/flags.h"
#include "wal/log.h"

namespace kv2pc::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Any non-zero type will do: the log's framing does not interpret it, and the directory is
// deleted afterwards, so no reader ever decodes these payloads.
constexpr uint8_t kBenchRecordType = 0xBE;

// Issue #3: one appender within 10% of the raw fdatasync rate; 64 appenders with 128-byte
// records at least 30 times it.
constexpr double kSingleAppenderMinRatio = 0.90;
constexpr double kManyAppendersMinRatio = 30.0;
constexpr size_t kManyAppenders = 64;
constexpr size_t kTargetPayloadSize = 128;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

void SleepSeconds(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

struct Config {
  std::string parent_dir;  // where the scratch directory is made
  std::string dir_origin;  // how parent_dir was chosen, for the header
  double seconds = 3;
  double warmup_s = 0.5;
  std::vector<size_t> threads;
  std::vector<size_t> sizes;
  uint64_t segment_size = wal::kDefaultSegmentSize;
  bool json = false;
};

// One flush of the log as seen by on_durable: when it was reported and the durable LSN then.
struct FlushEvent {
  int64_t t_ns;
  Lsn durable_lsn;
};

// One Append + WaitDurable by one appender.
struct Op {
  Lsn lsn;
  int64_t start_ns;  // before Append
  int64_t done_ns;   // after WaitDurable returned
};

// Collects a FlushEvent per on_durable call. on_durable runs on the flusher thread, or on a
// failing thread when the log fails; mu_ makes the two safe, and costs one uncontended lock per
// flush.
class FlushRecorder {
 public:
  void set_log(const wal::Log* log) { log_.store(log, std::memory_order_release); }
  void OnDurable() {
    const wal::Log* log = log_.load(std::memory_order_acquire);
    if (log == nullptr) return;
    FlushEvent e{NowNs(), log->durable_lsn()};
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(e);
  }
  // REQUIRES: the Log has been destroyed (no more calls).
  std::vector<FlushEvent> TakeEvents() { return std::move(events_); }

 private:
  std::atomic<const wal::Log*> log_{nullptr};
  std::mutex mu_;
  std::vector<FlushEvent> events_;  // guarded by mu_
};

struct WalCaseResult {
  size_t threads = 0;
  size_t payload_size = 0;
  double open_ms = 0;  // Log::Open on an empty directory: creating the first segment
  uint64_t appends = 0;
  double appends_per_s = 0;
  uint64_t flushes = 0;
  double flushes_per_s = 0;
  double records_per_flush = 0;
  int64_t batch_p50 = 0;  // records made durable by one flush
  int64_t batch_max = 0;
  size_t rotations = 0;    // segments started inside the timed window
  LatencySummary latency;  // Append start -> WaitDurable returned
  LatencySummary cycle;    // between consecutive flushes
  LatencySummary wake;     // flush reported (on_durable) -> WaitDurable returned
  LatencySummary spread;   // per flush: first to last of its appenders returning
  // Scheduler accounting over the timed window (machine.h SchedStat): run-queue wait of the
  // flusher per flush and of the appenders per append; CPU time of all of them per append.
  double flusher_wait_per_flush_ms = 0;
  double appender_wait_per_append_ms = 0;
  double cpu_per_append_us = 0;
};

void Appender(wal::Log* log, const std::string& payload, std::atomic<bool>* stop,
              std::atomic<int>* tid, std::vector<Op>* ops, Status* error) {
  tid->store(CurrentThreadId());
  ops->reserve(4096);
  while (!stop->load(std::memory_order_relaxed)) {
    const int64_t start = NowNs();
    Result<Lsn> lsn = log->Append(kBenchRecordType, payload);
    Status s = lsn.ok() ? log->WaitDurable(*lsn) : lsn.status();
    if (!s.ok()) {
      *error = s;
      stop->store(true);
      return;
    }
    ops->push_back({*lsn, start, NowNs()});
  }
}

using SchedSnapshot = std::map<int, SchedStat>;

SchedSnapshot TakeSchedSnapshot() {
  SchedSnapshot snap;
  for (int tid : ThreadIds()) {
    SchedStat st;
    if (ReadSchedStat(tid, &st)) snap[tid] = st;
  }
  return snap;
}

// Splits the scheduler time between two snapshots into the flusher's (every thread that is
// neither the main thread nor an appender: the Log starts exactly one) and the appenders'.
void AnalyzeSched(const SchedSnapshot& begin, const SchedSnapshot& end, int main_tid,
                  const std::vector<std::atomic<int>>& appender_tids, WalCaseResult* r) {
  std::set<int> appenders;
  for (const std::atomic<int>& tid : appender_tids) appenders.insert(tid.load());
  SchedStat flusher;
  SchedStat appender;
  for (const auto& [tid, b] : begin) {
    auto e = end.find(tid);
    if (tid == main_tid || e == end.end()) continue;
    SchedStat& sum = appenders.count(tid) != 0 ? appender : flusher;
    sum.cpu_ns += e->second.cpu_ns - b.cpu_ns;
    sum.wait_ns += e->second.wait_ns - b.wait_ns;
  }
  if (r->flushes > 0) {
    r->flusher_wait_per_flush_ms = static_cast<double>(flusher.wait_ns) / 1e6 / r->flushes;
  }
  if (r->appends > 0) {
    const auto n = static_cast<double>(r->appends);
    r->appender_wait_per_append_ms = static_cast<double>(appender.wait_ns) / 1e6 / n;
    r->cpu_per_append_us = static_cast<double>(flusher.cpu_ns + appender.cpu_ns) / 1e3 / n;
  }
}

// Derives the figures of one case from what the appenders and on_durable recorded inside the
// timed window [begin_ns, end_ns).
void Analyze(const std::vector<std::vector<Op>>& ops, const std::vector<FlushEvent>& events,
             int64_t begin_ns, int64_t end_ns, WalCaseResult* r) {
  const double window_s = static_cast<double>(end_ns - begin_ns) / 1e9;
  auto in_window = [&](int64_t t) { return t >= begin_ns && t < end_ns; };

  std::vector<int64_t> batches;
  std::vector<int64_t> cycles;
  for (size_t i = 1; i < events.size(); ++i) {
    if (!in_window(events[i].t_ns)) continue;
    batches.push_back(static_cast<int64_t>(events[i].durable_lsn - events[i - 1].durable_lsn));
    cycles.push_back(events[i].t_ns - events[i - 1].t_ns);
  }
  r->flushes = batches.size();
  r->flushes_per_s = static_cast<double>(r->flushes) / window_s;
  if (!batches.empty()) {
    std::sort(batches.begin(), batches.end());
    r->batch_p50 = Quantile(batches, 0.5);
    r->batch_max = batches.back();
  }
  r->cycle = Summarize(&cycles);

  std::vector<int64_t> latencies;
  std::vector<int64_t> wakes;
  // Per flush event: when the first and the last appender it released returned.
  std::vector<int64_t> first_done(events.size(), INT64_MAX);
  std::vector<int64_t> last_done(events.size(), INT64_MIN);
  for (const std::vector<Op>& thread_ops : ops) {
    for (const Op& op : thread_ops) {
      if (!in_window(op.done_ns)) continue;
      latencies.push_back(op.done_ns - op.start_ns);
      // The first flush that covered op.lsn. on_durable runs just after the flusher's
      // notify_all, so an appender can return before the event's timestamp: clamp to 0.
      auto it = std::lower_bound(events.begin(), events.end(), op.lsn,
                                 [](const FlushEvent& e, Lsn lsn) { return e.durable_lsn < lsn; });
      if (it == events.end()) continue;
      wakes.push_back(std::max<int64_t>(0, op.done_ns - it->t_ns));
      const auto i = static_cast<size_t>(it - events.begin());
      first_done[i] = std::min(first_done[i], op.done_ns);
      last_done[i] = std::max(last_done[i], op.done_ns);
    }
  }
  std::vector<int64_t> spreads;
  for (size_t i = 0; i < events.size(); ++i) {
    if (last_done[i] != INT64_MIN) spreads.push_back(last_done[i] - first_done[i]);
  }
  r->spread = Summarize(&spreads);
  r->appends = latencies.size();
  r->appends_per_s = static_cast<double>(r->appends) / window_s;
  r->records_per_flush = r->flushes == 0 ? 0 : static_cast<double>(r->appends) / r->flushes;
  r->latency = Summarize(&latencies);
  r->wake = Summarize(&wakes);
}

Result<WalCaseResult> RunWalCase(const std::string& scratch, size_t threads, size_t payload_size,
                                 const Config& config) {
  WalCaseResult r;
  r.threads = threads;
  r.payload_size = payload_size;
  const std::string dir =
      scratch + "/wal-" + std::to_string(payload_size) + "-" + std::to_string(threads);

  FlushRecorder recorder;
  wal::LogOptions options;
  options.dir = dir;
  options.segment_size = config.segment_size;
  options.on_durable = [&recorder] { recorder.OnDurable(); };
  const int64_t open_start = NowNs();
  Result<std::unique_ptr<wal::Log>> opened =
      wal::Log::Open(options, [](const wal::RecordView&) { return Status::OK(); });
  if (!opened.ok()) return opened.status();
  std::unique_ptr<wal::Log> log = std::move(*opened);
  r.open_ms = static_cast<double>(NowNs() - open_start) / 1e6;
  recorder.set_log(log.get());

  const std::string payload(payload_size, 'p');
  std::atomic<bool> stop{false};
  std::vector<std::vector<Op>> ops(threads);
  std::vector<Status> errors(threads);
  std::vector<std::atomic<int>> tids(threads);
  std::vector<std::thread> appenders;
  appenders.reserve(threads);
  for (size_t i = 0; i < threads; ++i) {
    appenders.emplace_back(Appender, log.get(), std::cref(payload), &stop, &tids[i], &ops[i],
                           &errors[i]);
  }
  SleepSeconds(config.warmup_s);
  const size_t segments_begin = log->SegmentPaths().size();
  const SchedSnapshot sched_begin = TakeSchedSnapshot();
  const int64_t begin_ns = NowNs();
  SleepSeconds(config.seconds);
  const int64_t end_ns = NowNs();
  const SchedSnapshot sched_end = TakeSchedSnapshot();
  r.rotations = log->SegmentPaths().size() - segments_begin;
  stop.store(true);
  for (std::thread& t : appenders) t.join();
  log.reset();  // after this, on_durable is never called again (see LogOptions::on_durable)
  for (const Status& s : errors) {
    if (!s.ok()) return s;
  }
  Analyze(ops, recorder.TakeEvents(), begin_ns, end_ns, &r);
  AnalyzeSched(sched_begin, sched_end, CurrentThreadId(), tids, &r);
  std::error_code ec;  // free the segments now: later cases need the disk space
  std::filesystem::remove_all(dir, ec);
  return r;
}

// ---- Output -------------------------------------------------------------------------------

struct Report {
  MachineInfo machine;
  double load_end[3] = {};
  std::string fs_type;
  std::string scratch;
  double io_pressure[2] = {-1, -1};  // IoPressureAvg10 at start and end
  // Raw fdatasync, measured before ([0]) and after ([1]) the WAL cases: the disk drifts, and
  // the two show by how much while the WAL was measured.
  RawSyncResult raw_append[2];
  RawSyncResult raw_overwrite[2];
  // What the ratios divide by: the mean ops/s of before and after.
  double base_append = 0;
  double base_overwrite = 0;
  std::vector<WalCaseResult> cases;
};

double Ratio(double v, double base) { return base > 0 ? v / base : 0; }

const WalCaseResult* FindCase(const Report& rep, size_t threads, size_t size) {
  for (const WalCaseResult& c : rep.cases) {
    if (c.threads == threads && c.payload_size == size) return &c;
  }
  return nullptr;
}

struct Target {
  std::string name;
  double required_ratio;
  const WalCaseResult* result;  // nullptr: the case was not run
};

std::vector<Target> Targets(const Report& rep) {
  return {
      {"1 appender, 128 B: within 10% of raw fdatasync", kSingleAppenderMinRatio,
       FindCase(rep, 1, kTargetPayloadSize)},
      {"64 appenders, 128 B: >= 30x raw fdatasync", kManyAppendersMinRatio,
       FindCase(rep, kManyAppenders, kTargetPayloadSize)},
  };
}

const char* Verdict(double ratio, double required) { return ratio >= required ? "PASS" : "MISS"; }

void PrintText(FILE* out, const Config& config, const Report& rep) {
  const MachineInfo& m = rep.machine;
  std::fprintf(out, "kv2pc-wal-bench  %s\n", m.date_utc.c_str());
  std::fprintf(out, "machine: nproc %ld, CPU %s, kernel %s\n", m.nproc, m.cpu_model.c_str(),
               m.kernel.c_str());
  std::fprintf(out,
               "load:    %.2f %.2f %.2f at start, %.2f %.2f %.2f at end (1/5/15 min); I/O "
               "pressure (PSI some avg10) %.1f%% at start, %.1f%% at end\n",
               m.load_avg[0], m.load_avg[1], m.load_avg[2], rep.load_end[0], rep.load_end[1],
               rep.load_end[2], rep.io_pressure[0], rep.io_pressure[1]);
  std::fprintf(out, "dir:     %s on %s (fresh, made by mkdtemp in %s; removed at exit)\n",
               rep.scratch.c_str(), rep.fs_type.c_str(), config.dir_origin.c_str());
  if (rep.fs_type == "tmpfs" || rep.fs_type == "ramfs") {
    std::fprintf(out, "WARNING: %s keeps files in memory; fdatasync is a no-op there\n",
                 rep.fs_type.c_str());
  }
  std::fprintf(out,
               "timing:  %.1f s per case after %.1f s warm-up; segment_size %llu MiB; first "
               "segment created by Log::Open before timing (excluded), rotations while timing "
               "counted in 'rot' (included)\n\n",
               config.seconds, config.warmup_s,
               static_cast<unsigned long long>(config.segment_size >> 20));

  const double ba = rep.base_append;
  const double bo = rep.base_overwrite;
  std::fprintf(out, "Raw fdatasync, 128 B per write, measured before and after the WAL cases\n");
  std::fprintf(out, "  %-34s %9s %8s %8s %8s %10s\n", "variant", "ops/s", "p50 ms", "p99 ms",
               "p99.9 ms", "runq ms/op");
  for (int mode = 0; mode < 2; ++mode) {
    for (int when = 0; when < 2; ++when) {
      const RawSyncResult& r = mode == 0 ? rep.raw_append[when] : rep.raw_overwrite[when];
      const std::string name =
          std::string(mode == 0 ? "append to a growing file" : "overwrite pre-allocated zeros") +
          (when == 0 ? ", before" : ", after");
      std::fprintf(out, "  %-34s %9.0f %8.3f %8.3f %8.3f %10.3f\n", name.c_str(), r.ops_per_s,
                   r.latency.p50_ms, r.latency.p99_ms, r.latency.p999_ms, r.runq_wait_per_op_ms);
    }
  }
  std::fprintf(out,
               "  baseline (mean of before and after): append %.0f/s, overwrite %.0f/s; "
               "overwrite / append %.2fx\n"
               "  drift (after / before): append %.2fx, overwrite %.2fx; runq: time runnable "
               "but waiting for a CPU (machine load)\n\n",
               ba, bo, Ratio(bo, ba),
               Ratio(rep.raw_append[1].ops_per_s, rep.raw_append[0].ops_per_s),
               Ratio(rep.raw_overwrite[1].ops_per_s, rep.raw_overwrite[0].ops_per_s));

  std::fprintf(out,
               "wal::Log, each appender looping Append + WaitDurable (latency: Append "
               "start to WaitDurable return)\n");
  std::fprintf(out, "  %6s %4s %10s %9s %8s %7s %7s %8s %7s %7s %3s\n", "size", "thr", "appends/s",
               "flushes/s", "rec/fl", "p50 ms", "p99 ms", "p99.9 ms", "x ovw", "x app", "rot");
  for (const WalCaseResult& c : rep.cases) {
    std::fprintf(out, "  %6zu %4zu %10.0f %9.0f %8.1f %7.3f %7.3f %8.3f %7.2f %7.2f %3zu\n",
                 c.payload_size, c.threads, c.appends_per_s, c.flushes_per_s, c.records_per_flush,
                 c.latency.p50_ms, c.latency.p99_ms, c.latency.p999_ms, Ratio(c.appends_per_s, bo),
                 Ratio(c.appends_per_s, ba), c.rotations);
  }
  std::fprintf(out,
               "  x ovw / x app: appends/s over the raw overwrite / append rate; rec/fl: "
               "appends per flush (= per fdatasync)\n\n");

  std::fprintf(out,
               "Group-commit diagnostics (a flush = one on_durable call = one write + one "
               "fdatasync)\n");
  std::fprintf(out, "  %6s %4s %8s %8s %8s %5s %5s %8s %8s %8s %7s %7s %6s\n", "size", "thr",
               "cycle50", "cycle99", "cyclemax", "batch", "max", "wake99", "sprd50", "sprd99",
               "flrunq", "aprunq", "cpu/ap");
  for (const WalCaseResult& c : rep.cases) {
    std::fprintf(out,
                 "  %6zu %4zu %8.3f %8.3f %8.3f %5lld %5lld %8.3f %8.3f %8.3f %7.3f %7.3f %6.1f\n",
                 c.payload_size, c.threads, c.cycle.p50_ms, c.cycle.p99_ms, c.cycle.max_ms,
                 static_cast<long long>(c.batch_p50), static_cast<long long>(c.batch_max),
                 c.wake.p99_ms, c.spread.p50_ms, c.spread.p99_ms, c.flusher_wait_per_flush_ms,
                 c.appender_wait_per_append_ms, c.cpu_per_append_us);
  }
  double open_ms = 0;
  for (const WalCaseResult& c : rep.cases) open_ms = std::max(open_ms, c.open_ms);
  std::fprintf(out,
               "  ms, except batch/max (records per flush, p50 and max) and cpu/ap (us of CPU, all "
               "WAL threads, per append).\n"
               "  cycle: between consecutive flushes (raw overwrite p50 was %.3f ms); wake: flush "
               "reported (on_durable) to\n"
               "  WaitDurable return; sprd: first to last appender of one flush returning (condvar "
               "herd); flrunq/aprunq:\n"
               "  run-queue wait of the flusher per flush / of the appenders per append. Creating "
               "a segment took up to %.0f ms.\n\n",
               rep.raw_overwrite[0].latency.p50_ms, open_ms);

  std::fprintf(out, "Targets (issue #3; information only, never the exit status)\n");
  for (const Target& t : Targets(rep)) {
    if (t.result == nullptr) {
      std::fprintf(out, "  %-48s not measured (case not in --threads/--sizes)\n", t.name.c_str());
      continue;
    }
    const double v = t.result->appends_per_s;
    const double r_ovw = Ratio(v, bo);
    const double r_app = Ratio(v, ba);
    std::fprintf(out, "  %-48s %.0f appends/s = %.2fx overwrite raw %s, %.2fx append raw %s\n",
                 t.name.c_str(), v, r_ovw, Verdict(r_ovw, t.required_ratio), r_app,
                 Verdict(r_app, t.required_ratio));
  }
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

void PrintJson(FILE* out, const Config& config, const Report& rep) {
  const MachineInfo& m = rep.machine;
  const double ba = rep.base_append;
  const double bo = rep.base_overwrite;
  std::fprintf(out, "{\"tool\":\"kv2pc-wal-bench\",\"date\":%s,\n", JsonString(m.date_utc).c_str());
  std::fprintf(out,
               " \"machine\":{\"nproc\":%ld,\"cpu\":%s,\"kernel\":%s,\"fs\":%s,"
               "\"load_start\":[%.2f,%.2f,%.2f],\"load_end\":[%.2f,%.2f,%.2f],"
               "\"io_pressure_avg10_start\":%.2f,\"io_pressure_avg10_end\":%.2f},\n",
               m.nproc, JsonString(m.cpu_model).c_str(), JsonString(m.kernel).c_str(),
               JsonString(rep.fs_type).c_str(), m.load_avg[0], m.load_avg[1], m.load_avg[2],
               rep.load_end[0], rep.load_end[1], rep.load_end[2], rep.io_pressure[0],
               rep.io_pressure[1]);
  std::fprintf(out,
               " \"dir\":%s,\"dir_origin\":%s,\"seconds\":%.3f,\"warmup_seconds\":%.3f,"
               "\"segment_size\":%llu,\"segment_creation\":\"first excluded, rotations "
               "included\",\n",
               JsonString(rep.scratch).c_str(), JsonString(config.dir_origin).c_str(),
               config.seconds, config.warmup_s,
               static_cast<unsigned long long>(config.segment_size));
  auto raw_json = [](const RawSyncResult& r) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "{\"ops_per_s\":%.1f,\"runq_ms_per_op\":%.4f,", r.ops_per_s,
                  r.runq_wait_per_op_ms);
    return buf + ("\"latency\":" + ToJson(r.latency)) + "}";
  };
  std::fprintf(
      out,
      " \"raw_fdatasync\":{\"write_size\":128,\n"
      "  \"append\":{\"baseline_ops_per_s\":%.1f,\n   \"before\":%s,\n   \"after\":%s},\n"
      "  \"overwrite\":{\"baseline_ops_per_s\":%.1f,\n   \"before\":%s,\n   \"after\":%s}},\n",
      ba, raw_json(rep.raw_append[0]).c_str(), raw_json(rep.raw_append[1]).c_str(), bo,
      raw_json(rep.raw_overwrite[0]).c_str(), raw_json(rep.raw_overwrite[1]).c_str());
  std::fprintf(out, " \"wal\":[");
  for (size_t i = 0; i < rep.cases.size(); ++i) {
    const WalCaseResult& c = rep.cases[i];
    std::fprintf(out,
                 "%s\n  {\"payload_size\":%zu,\"threads\":%zu,\"appends_per_s\":%.1f,"
                 "\"flushes_per_s\":%.1f,\"records_per_flush\":%.2f,\"batch_p50\":%lld,"
                 "\"batch_max\":%lld,\"ratio_to_overwrite\":%.3f,\"ratio_to_append\":%.3f,"
                 "\"rotations\":%zu,\"open_ms\":%.1f,\"flusher_runq_ms_per_flush\":%.4f,"
                 "\"appender_runq_ms_per_append\":%.4f,\"cpu_us_per_append\":%.2f,\n   "
                 "\"latency\":%s,\n   \"cycle\":%s,\n"
                 "   \"wake\":%s,\n   \"spread\":%s}",
                 i == 0 ? "" : ",", c.payload_size, c.threads, c.appends_per_s, c.flushes_per_s,
                 c.records_per_flush, static_cast<long long>(c.batch_p50),
                 static_cast<long long>(c.batch_max), Ratio(c.appends_per_s, bo),
                 Ratio(c.appends_per_s, ba), c.rotations, c.open_ms, c.flusher_wait_per_flush_ms,
                 c.appender_wait_per_append_ms, c.cpu_per_append_us, ToJson(c.latency).c_str(),
                 ToJson(c.cycle).c_str(), ToJson(c.wake).c_str(), ToJson(c.spread).c_str());
  }
  std::fprintf(out, "],\n \"targets\":[");
  bool first = true;
  for (const Target& t : Targets(rep)) {
    if (t.result == nullptr) continue;
    const double v = t.result->appends_per_s;
    const double r_ovw = Ratio(v, bo);
    const double r_app = Ratio(v, ba);
    std::fprintf(out,
                 "%s\n  {\"name\":%s,\"appends_per_s\":%.1f,\"required_ratio\":%.2f,"
                 "\"ratio_to_overwrite\":%.3f,\"pass_overwrite\":%s,"
                 "\"ratio_to_append\":%.3f,\"pass_append\":%s}",
                 first ? "" : ",", JsonString(t.name).c_str(), v, t.required_ratio, r_ovw,
                 r_ovw >= t.required_ratio ? "true" : "false", r_app,
                 r_app >= t.required_ratio ? "true" : "false");
    first = false;
  }
  std::fprintf(out, "]}\n");
}

// ---- Flags --------------------------------------------------------------------------------

Result<std::vector<size_t>> ParseList(const std::string& name, const std::string& value) {
  std::vector<size_t> out;
  size_t pos = 0;
  while (pos <= value.size()) {
    size_t comma = value.find(',', pos);
    if (comma == std::string::npos) comma = value.size();
    const std::string item = value.substr(pos, comma - pos);
    char* end = nullptr;
    const unsigned long long v = std::strtoull(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v == 0 || v > 100000) {
      return Status::InvalidArgument("--" + name + " wants a list like 1,8,64, not '" + value +
                                     "'");
    }
    out.push_back(static_cast<size_t>(v));
    pos = comma + 1;
  }
  return out;
}

Result<double> ParseSeconds(const std::string& name, const std::string& value) {
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !(v >= 0 && v <= 3600)) {
    return Status::InvalidArgument("--" + name + " must be a number of seconds, not '" + value +
                                   "'");
  }
  return v;
}

Result<Config> ParseConfig(const Flags& flags) {
  Config c;
  if (flags.IsSet("dir")) {
    c.parent_dir = flags.Get("dir");
    c.dir_origin = "--dir " + c.parent_dir;
  } else if (const char* tmp = std::getenv("TMPDIR"); tmp != nullptr && *tmp != '\0') {
    c.parent_dir = tmp;
    c.dir_origin = "$TMPDIR (" + c.parent_dir + ")";
  } else {
    c.parent_dir = ".";
    c.dir_origin = "the current directory";
  }
  KV2PC_ASSIGN_OR_RETURN(c.seconds, ParseSeconds("seconds", flags.Get("seconds")));
  KV2PC_ASSIGN_OR_RETURN(c.warmup_s, ParseSeconds("warmup", flags.Get("warmup")));
  if (c.seconds <= 0) return Status::InvalidArgument("--seconds must be positive");
  KV2PC_ASSIGN_OR_RETURN(c.threads, ParseList("threads", flags.Get("threads")));
  KV2PC_ASSIGN_OR_RETURN(c.sizes, ParseList("sizes", flags.Get("sizes")));
  for (size_t s : c.sizes) {
    if (s > wal::kMaxPayloadSize) return Status::InvalidArgument("--sizes: above 16 MiB");
  }
  KV2PC_ASSIGN_OR_RETURN(int64_t segment_mib, flags.GetInt("segment-mib", 1, 4096));
  c.segment_size = static_cast<uint64_t>(segment_mib) << 20;
  c.json = flags.GetBool("json");
  return c;
}

Status Run(const Config& config) {
  Report rep;
  rep.machine = GetMachineInfo();
  KV2PC_ASSIGN_OR_RETURN(std::unique_ptr<ScratchDir> scratch,
                         ScratchDir::Create(config.parent_dir, "kv2pc-wal-bench."));
  rep.scratch = scratch->path();
  KV2PC_ASSIGN_OR_RETURN(rep.fs_type, FileSystemName(rep.scratch));
  std::fprintf(stderr, "measuring in %s (%s), load %.2f\n", rep.scratch.c_str(),
               rep.fs_type.c_str(), rep.machine.load_avg[0]);

  rep.io_pressure[0] = IoPressureAvg10();
  RawSyncOptions raw;
  raw.dir = rep.scratch;
  raw.seconds = config.seconds;
  raw.warmup_s = config.warmup_s;
  raw.file_size = config.segment_size;
  auto measure_raw = [&](int when) -> Status {
    for (RawSyncMode mode : {RawSyncMode::kAppend, RawSyncMode::kOverwrite}) {
      std::fprintf(stderr, "  raw fdatasync, %s, %s ...\n", RawSyncModeName(mode),
                   when == 0 ? "before" : "after");
      raw.mode = mode;
      KV2PC_ASSIGN_OR_RETURN(RawSyncResult r, MeasureRawSync(raw));
      (mode == RawSyncMode::kAppend ? rep.raw_append : rep.raw_overwrite)[when] = r;
    }
    return Status::OK();
  };
  KV2PC_RETURN_IF_ERROR(measure_raw(0));
  for (size_t size : config.sizes) {
    for (size_t threads : config.threads) {
      std::fprintf(stderr, "  wal::Log, %zu B, %zu appenders ...\n", size, threads);
      KV2PC_ASSIGN_OR_RETURN(WalCaseResult r, RunWalCase(rep.scratch, threads, size, config));
      rep.cases.push_back(r);
    }
  }
  KV2PC_RETURN_IF_ERROR(measure_raw(1));
  rep.base_append = (rep.raw_append[0].ops_per_s + rep.raw_append[1].ops_per_s) / 2;
  rep.base_overwrite = (rep.raw_overwrite[0].ops_per_s + rep.raw_overwrite[1].ops_per_s) / 2;
  rep.io_pressure[1] = IoPressureAvg10();
  LoadAverages(rep.load_end);
  PrintText(config.json ? stderr : stdout, config, rep);
  if (config.json) PrintJson(stdout, config, rep);
  return Status::OK();
}

}  // namespace
}  // namespace kv2pc::bench

int main(int argc, char** argv) {
  kv2pc::Flags flags;
  flags.Define("dir", "",
               "measure on this directory's file system: a fresh subdirectory is made in it and "
               "removed at exit (default: $TMPDIR if set, else the current directory)");
  flags.Define("seconds", "3", "timed seconds per case");
  flags.Define("warmup", "0.5", "untimed seconds before each case");
  flags.Define("threads", "1,8,64", "numbers of concurrent appenders, comma-separated");
  flags.Define("sizes", "128,4096", "record payload sizes in bytes, comma-separated");
  flags.Define("segment-mib", "64", "WAL segment size in MiB");
  flags.Define("json", "", "print a JSON object on stdout (the table goes to stderr)", true);
  flags.Define("help", "", "print this help", true);
  kv2pc::Status s = flags.Parse(argc, argv);
  if (s.ok() && !flags.positional().empty()) {
    s = kv2pc::Status::InvalidArgument("unexpected argument " + flags.positional()[0]);
  }
  if (!s.ok() || flags.GetBool("help")) {
    std::fprintf(stderr, "%susage: kv2pc-wal-bench [flags]\n%s",
                 s.ok() ? "" : (s.ToString() + "\n").c_str(), flags.Usage().c_str());
    return s.ok() ? 0 : 1;
  }
  kv2pc::Result<kv2pc::bench::Config> config = kv2pc::bench::ParseConfig(flags);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\nusage: kv2pc-wal-bench [flags]\n%s",
                 config.status().ToString().c_str(), flags.Usage().c_str());
    return 1;
  }
  s = kv2pc::bench::Run(*config);
  if (!s.ok()) {
    std::fprintf(stderr, "kv2pc-wal-bench: %s\n", s.ToString().c_str());
    return 2;
  }
  return 0;
}
