// kv2pc-wal-bench's report: the table on stdout (or stderr with --json) and the JSON object.
// What each column means is printed under each table, so a pasted report explains itself;
// docs/benchmarks.md interprets them.
#include <algorithm>
#include <string>

#include "bench/wal_bench.h"

namespace kv2pc::bench {
namespace {

// Issue #3: one appender within 10% of the raw fdatasync rate; 64 appenders with 128-byte
// records at least 30 times it.
constexpr double kSingleAppenderMinRatio = 0.90;
constexpr double kManyAppendersMinRatio = 30.0;
constexpr size_t kManyAppenders = 64;
constexpr size_t kTargetPayloadSize = 128;

double Ratio(double v, double base) { return base > 0 ? v / base : 0; }

// "64 thr" or "64 loop".
std::string ModeLabel(const WalCaseResult& c) {
  return std::to_string(c.n) + (c.mode == WalMode::kThreads ? " thr" : " loop");
}

const WalCaseResult* FindCase(const WalBenchReport& rep, WalMode mode, size_t n, size_t size) {
  for (const WalCaseResult& c : rep.cases) {
    if (c.mode == mode && c.n == n && c.payload_size == size) return &c;
  }
  return nullptr;
}

struct Target {
  std::string name;
  double required_ratio;
  bool from_issue;              // false: shown for comparison only
  const WalCaseResult* result;  // nullptr: the case was not run
};

std::vector<Target> Targets(const WalBenchReport& rep) {
  return {
      {"1 appender, 128 B: within 10% of raw fdatasync", kSingleAppenderMinRatio, true,
       FindCase(rep, WalMode::kThreads, 1, kTargetPayloadSize)},
      {"64 appenders, 128 B: >= 30x raw fdatasync", kManyAppendersMinRatio, true,
       FindCase(rep, WalMode::kThreads, kManyAppenders, kTargetPayloadSize)},
      {"(same, 64 in flight from one event loop)", kManyAppendersMinRatio, false,
       FindCase(rep, WalMode::kEventLoop, kManyAppenders, kTargetPayloadSize)},
  };
}

const char* Verdict(double ratio, double required) { return ratio >= required ? "PASS" : "MISS"; }

void PrintRaw(FILE* out, const WalBenchReport& rep) {
  std::fprintf(out, "Raw fdatasync, 128 B per write, measured before and after the WAL cases\n");
  std::fprintf(out, "  %-36s %9s %8s %8s %8s %10s\n", "variant", "ops/s", "p50 ms", "p99 ms",
               "p99.9 ms", "runq ms/op");
  for (int mode = 0; mode < 2; ++mode) {
    for (int when = 0; when < 2; ++when) {
      const RawSyncResult& r = mode == 0 ? rep.raw_append[when] : rep.raw_overwrite[when];
      const std::string name =
          std::string(mode == 0 ? "append to a growing file" : "overwrite pre-allocated zeros") +
          (when == 0 ? ", before" : ", after");
      std::fprintf(out, "  %-36s %9.0f %8.3f %8.3f %8.3f %10.3f\n", name.c_str(), r.ops_per_s,
                   r.latency.p50_ms, r.latency.p99_ms, r.latency.p999_ms, r.runq_wait_per_op_ms);
    }
  }
  std::fprintf(out,
               "  baseline (mean of before and after): append %.0f/s, overwrite %.0f/s; "
               "overwrite / append %.2fx\n"
               "  drift (after / before): append %.2fx, overwrite %.2fx; runq: time runnable "
               "but waiting for a CPU (load)\n\n",
               rep.base_append, rep.base_overwrite, Ratio(rep.base_overwrite, rep.base_append),
               Ratio(rep.raw_append[1].ops_per_s, rep.raw_append[0].ops_per_s),
               Ratio(rep.raw_overwrite[1].ops_per_s, rep.raw_overwrite[0].ops_per_s));
}

void PrintCases(FILE* out, const WalBenchReport& rep) {
  std::fprintf(out, "wal::Log (latency: Append start to the appender learning it is durable)\n");
  std::fprintf(out, "  %6s %8s %10s %9s %7s %7s %7s %8s %7s %7s %3s\n", "size", "driver",
               "appends/s", "flushes/s", "rec/fl", "p50 ms", "p99 ms", "p99.9 ms", "x ovw", "x app",
               "rot");
  for (const WalCaseResult& c : rep.cases) {
    std::fprintf(out, "  %6zu %8s %10.0f %9.0f %7.1f %7.3f %7.3f %8.3f %7.2f %7.2f %3zu\n",
                 c.payload_size, ModeLabel(c).c_str(), c.appends_per_s, c.flushes_per_s,
                 c.records_per_flush, c.latency.p50_ms, c.latency.p99_ms, c.latency.p999_ms,
                 Ratio(c.appends_per_s, rep.base_overwrite),
                 Ratio(c.appends_per_s, rep.base_append), c.rotations);
  }
  std::fprintf(out,
               "  driver: N thr = N threads looping Append + WaitDurable; N loop = one thread "
               "keeping N records in flight,\n"
               "  told by on_durable -> eventfd -> DurableWaiters (as the servers are). x ovw / "
               "x app: appends/s over the\n"
               "  raw overwrite / append baseline. rec/fl: appends per flush (one write + one "
               "fdatasync). rot: segments\n"
               "  created while timing (included in the figures).\n\n");
}

void PrintDiagnostics(FILE* out, const WalBenchReport& rep) {
  std::fprintf(out, "Group-commit diagnostics\n");
  std::fprintf(out, "  %6s %8s %8s %8s %8s %5s %5s %8s %8s %8s %7s %7s %6s\n", "size", "driver",
               "cycle50", "cycle99", "cyclemax", "batch", "max", "wake99", "sprd50", "sprd99",
               "flrunq", "aprunq", "cpu/ap");
  double open_ms = 0;
  for (const WalCaseResult& c : rep.cases) {
    open_ms = std::max(open_ms, c.open_ms);
    std::fprintf(
        out, "  %6zu %8s %8.3f %8.3f %8.3f %5lld %5lld %8.3f %8.3f %8.3f %7.3f %7.3f %6.1f\n",
        c.payload_size, ModeLabel(c).c_str(), c.cycle.p50_ms, c.cycle.p99_ms, c.cycle.max_ms,
        static_cast<long long>(c.batch_p50), static_cast<long long>(c.batch_max), c.wake.p99_ms,
        c.spread.p50_ms, c.spread.p99_ms, c.flusher_wait_per_flush_ms,
        c.appender_wait_per_append_ms, c.cpu_per_append_us);
  }
  std::fprintf(out,
               "  ms, except batch/max (records per flush, p50 and max) and cpu/ap (us of CPU of "
               "the flusher and the\n"
               "  drivers per append). cycle: between consecutive flushes (raw overwrite p50: "
               "%.3f ms before, %.3f ms after).\n"
               "  wake: flush reported (on_durable) to the driver learning of it. sprd: first to "
               "last append of one flush\n"
               "  completing (the condvar herd). flrunq / aprunq: run-queue wait of the flusher "
               "per flush / of the drivers\n"
               "  per append. Creating one segment (Log::Open) took up to %.0f ms.\n\n",
               rep.raw_overwrite[0].latency.p50_ms, rep.raw_overwrite[1].latency.p50_ms, open_ms);
}

void PrintTargets(FILE* out, const WalBenchReport& rep) {
  std::fprintf(out, "Targets (issue #3; information only, never the exit status)\n");
  for (const Target& t : Targets(rep)) {
    if (t.result == nullptr) {
      if (t.from_issue) std::fprintf(out, "  %-48s not measured\n", t.name.c_str());
      continue;
    }
    const double v = t.result->appends_per_s;
    const double r_ovw = Ratio(v, rep.base_overwrite);
    const double r_app = Ratio(v, rep.base_append);
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

std::string RawJson(const RawSyncResult& r) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "{\"ops_per_s\":%.1f,\"runq_ms_per_op\":%.4f,", r.ops_per_s,
                r.runq_wait_per_op_ms);
  return buf + ("\"latency\":" + ToJson(r.latency)) + "}";
}

}  // namespace

void PrintText(FILE* out, const WalBenchConfig& config, const WalBenchReport& rep) {
  const MachineInfo& m = rep.machine;
  std::fprintf(out, "kv2pc-wal-bench  %s\n", m.date_utc.c_str());
  std::fprintf(out, "machine: nproc %ld, CPU %s, kernel %s\n", m.nproc, m.cpu_model.c_str(),
               m.kernel.c_str());
  std::fprintf(out,
               "load:    %.2f %.2f %.2f at start, I/O pressure (PSI some avg10) %.1f%%; "
               "%.2f %.2f %.2f at end (with this run's own threads)\n",
               m.load_avg[0], m.load_avg[1], m.load_avg[2], rep.io_pressure, rep.load_end[0],
               rep.load_end[1], rep.load_end[2]);
  std::fprintf(out, "dir:     %s on %s (fresh, made by mkdtemp in %s; removed at exit)\n",
               rep.scratch.c_str(), rep.fs_type.c_str(), config.dir_origin.c_str());
  if (rep.fs_type == "tmpfs" || rep.fs_type == "ramfs") {
    std::fprintf(out, "WARNING: %s keeps files in memory; fdatasync is a no-op there\n",
                 rep.fs_type.c_str());
  }
  std::fprintf(out,
               "timing:  %.1f s per case after %.1f s warm-up; segment_size %llu MiB; the first "
               "segment is created by Log::Open\n"
               "         before timing (excluded), rotations while timing are counted in 'rot' "
               "(included)\n\n",
               config.seconds, config.warmup_s,
               static_cast<unsigned long long>(config.segment_size >> 20));
  PrintRaw(out, rep);
  PrintCases(out, rep);
  PrintDiagnostics(out, rep);
  PrintTargets(out, rep);
}

void PrintJson(FILE* out, const WalBenchConfig& config, const WalBenchReport& rep) {
  const MachineInfo& m = rep.machine;
  const double ba = rep.base_append;
  const double bo = rep.base_overwrite;
  std::fprintf(out, "{\"tool\":\"kv2pc-wal-bench\",\"date\":%s,\n", JsonString(m.date_utc).c_str());
  std::fprintf(out,
               " \"machine\":{\"nproc\":%ld,\"cpu\":%s,\"kernel\":%s,\"fs\":%s,"
               "\"load_start\":[%.2f,%.2f,%.2f],\"load_end\":[%.2f,%.2f,%.2f],"
               "\"io_pressure_avg10_start\":%.2f},\n",
               m.nproc, JsonString(m.cpu_model).c_str(), JsonString(m.kernel).c_str(),
               JsonString(rep.fs_type).c_str(), m.load_avg[0], m.load_avg[1], m.load_avg[2],
               rep.load_end[0], rep.load_end[1], rep.load_end[2], rep.io_pressure);
  std::fprintf(out,
               " \"dir\":%s,\"dir_origin\":%s,\"seconds\":%.3f,\"warmup_seconds\":%.3f,"
               "\"segment_size\":%llu,\"segment_creation\":\"first excluded, rotations "
               "included\",\n",
               JsonString(rep.scratch).c_str(), JsonString(config.dir_origin).c_str(),
               config.seconds, config.warmup_s,
               static_cast<unsigned long long>(config.segment_size));
  std::fprintf(out,
               " \"raw_fdatasync\":{\"write_size\":128,\n"
               "  \"append\":{\"baseline_ops_per_s\":%.1f,\n   \"before\":%s,\n   \"after\":%s},\n"
               "  \"overwrite\":{\"baseline_ops_per_s\":%.1f,\n   \"before\":%s,\n"
               "   \"after\":%s}},\n",
               ba, RawJson(rep.raw_append[0]).c_str(), RawJson(rep.raw_append[1]).c_str(), bo,
               RawJson(rep.raw_overwrite[0]).c_str(), RawJson(rep.raw_overwrite[1]).c_str());
  std::fprintf(out, " \"wal\":[");
  for (size_t i = 0; i < rep.cases.size(); ++i) {
    const WalCaseResult& c = rep.cases[i];
    std::fprintf(out,
                 "%s\n  {\"payload_size\":%zu,\"mode\":\"%s\",\"n\":%zu,\"appends_per_s\":%.1f,"
                 "\"flushes_per_s\":%.1f,\"records_per_flush\":%.2f,\"batch_p50\":%lld,"
                 "\"batch_max\":%lld,\"ratio_to_overwrite\":%.3f,\"ratio_to_append\":%.3f,"
                 "\"rotations\":%zu,\"open_ms\":%.1f,\"flusher_runq_ms_per_flush\":%.4f,"
                 "\"appender_runq_ms_per_append\":%.4f,\"cpu_us_per_append\":%.2f,\n"
                 "   \"latency\":%s,\n   \"cycle\":%s,\n   \"wake\":%s,\n   \"spread\":%s}",
                 i == 0 ? "" : ",", c.payload_size,
                 c.mode == WalMode::kThreads ? "threads" : "event_loop", c.n, c.appends_per_s,
                 c.flushes_per_s, c.records_per_flush, static_cast<long long>(c.batch_p50),
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
                 "%s\n  {\"name\":%s,\"from_issue\":%s,\"appends_per_s\":%.1f,"
                 "\"required_ratio\":%.2f,\"ratio_to_overwrite\":%.3f,\"pass_overwrite\":%s,"
                 "\"ratio_to_append\":%.3f,\"pass_append\":%s}",
                 first ? "" : ",", JsonString(t.name).c_str(), t.from_issue ? "true" : "false", v,
                 t.required_ratio, r_ovw, r_ovw >= t.required_ratio ? "true" : "false", r_app,
                 r_app >= t.required_ratio ? "true" : "false");
    first = false;
  }
  std::fprintf(out, "]}\n");
}

}  // namespace kv2pc::bench
