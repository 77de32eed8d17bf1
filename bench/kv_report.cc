// kv2pc-bench's report: the text form (stdout, or stderr with --json) and one JSON object
// (stdout with --json). The same figures in both. See kv_bench.h.
#include <algorithm>
#include <cinttypes>
#include <string>
#include <vector>

#include "bench/kv_bench.h"
#include "bench/stats.h"
#include "common/messages.h"

namespace kv2pc::bench {
namespace {

struct Percentiles {
  uint64_t count = 0;
  double mean_ms = 0;
  double p50_ms = 0;
  double p95_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;
};

Percentiles Compute(std::vector<int64_t> samples_ns) {
  Percentiles p;
  const LatencySummary s = Summarize(&samples_ns);  // sorts
  if (s.count == 0) return p;
  p.count = s.count;
  p.mean_ms = s.mean_ms;
  p.p50_ms = s.p50_ms;
  p.p95_ms = static_cast<double>(Quantile(samples_ns, 0.95)) / 1e6;
  p.p99_ms = s.p99_ms;
  p.p999_ms = s.p999_ms;
  p.max_ms = s.max_ms;
  return p;
}

double AbortRate(const RunStats& s) {
  return s.attempts == 0 ? 0 : static_cast<double>(s.aborted) / static_cast<double>(s.attempts);
}

double Tps(const BenchReport& r) {
  return r.run.window_s > 0 ? static_cast<double>(r.run.window.committed) / r.run.window_s : 0;
}

// A JSON string literal: quotes, backslashes and every byte outside printable ASCII escaped
// (\u00XX), so the output is valid JSON whatever bytes an error message carries.
std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += static_cast<char>(ch);
    } else if (ch < 0x20 || ch >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", ch);
      out += buf;
    } else {
      out += static_cast<char>(ch);
    }
  }
  return out + "\"";
}

// A finite number for JSON (NaN and infinities are not JSON).
std::string JsonNumber(double v) {
  if (!(v == v) || v > 1e300 || v < -1e300) return "null";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

std::string JsonPercentiles(const Percentiles& p) {
  return "{\"count\":" + std::to_string(p.count) + ",\"mean\":" + JsonNumber(p.mean_ms) +
         ",\"p50\":" + JsonNumber(p.p50_ms) + ",\"p95\":" + JsonNumber(p.p95_ms) +
         ",\"p99\":" + JsonNumber(p.p99_ms) + ",\"p999\":" + JsonNumber(p.p999_ms) +
         ",\"max\":" + JsonNumber(p.max_ms) + "}";
}

std::string AbortsText(const RunStats& s) {
  std::string out;
  for (size_t i = 0; i < s.aborts_by_reason.size(); i++) {
    if (s.aborts_by_reason[i] == 0) continue;
    if (!out.empty()) out += ", ";
    out += std::string(AbortReasonName(static_cast<AbortReason>(i))) + " " +
           std::to_string(s.aborts_by_reason[i]);
  }
  return out.empty() ? "none" : out;
}

std::string AbortsJson(const RunStats& s) {
  std::string out = "{";
  for (size_t i = 0; i < s.aborts_by_reason.size(); i++) {
    if (s.aborts_by_reason[i] == 0) continue;
    if (out.size() > 1) out += ",";
    out += JsonString(AbortReasonName(static_cast<AbortReason>(i))) + ":" +
           std::to_string(s.aborts_by_reason[i]);
  }
  return out + "}";
}

std::string ErrorsJson(const RunStats& s) {
  std::string out = "{";
  for (const auto& [kind, e] : s.errors_by_kind) {
    if (out.size() > 1) out += ",";
    out += JsonString(kind) + ":{\"count\":" + std::to_string(e.count) +
           ",\"example\":" + JsonString(e.example) + "}";
  }
  return out + "}";
}

void PrintLatencyRow(FILE* out, const char* name, const Percentiles& p) {
  std::fprintf(out, "  %-20s %8" PRIu64 " %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f\n", name, p.count,
               p.mean_ms, p.p50_ms, p.p95_ms, p.p99_ms, p.p999_ms, p.max_ms);
}

std::string WorkloadText(const BenchConfig& c) {
  std::string s(WorkloadName(c.workload.kind));
  s += " over " + std::to_string(c.workload.keys) + " keys";
  if (c.workload.kind == WorkloadKind::kHot) {
    s += " (2 of the first " + std::to_string(c.workload.hot_keys) + " per transaction)";
  }
  if (c.workload.kind == WorkloadKind::kYcsbA) s += " (zipfian, theta 0.99)";
  if (c.workload.kind == WorkloadKind::kHot || c.workload.kind == WorkloadKind::kTransfer) {
    s += c.workload.shared_reads ? ", shared-lock reads" : ", reads for_update";
  }
  return s + ", values " + std::to_string(c.workload.value_size) + " B" +
         (c.exec ? ", EXEC requests" : ", interactive requests");
}

}  // namespace

void PrintText(FILE* out, const BenchConfig& c, const BenchReport& r) {
  const RunStats& w = r.run.window;
  const MachineInfo& m = r.machine;
  std::fprintf(out,
               "kv2pc-bench  %s; %zu clients on %zu thread(s), %.1f s after %.1f s warm-up, "
               "seed %" PRIu64 "\n",
               WorkloadText(c).c_str(), c.clients, std::min(c.threads, c.clients), c.duration_s,
               c.warmup_s, c.seed);
  std::fprintf(out,
               "machine      nproc %ld, %s, kernel %s, %s; load %.2f %.2f %.2f at start, %.2f at "
               "end; io pressure %.1f%%\n",
               m.nproc, m.cpu_model.c_str(), m.kernel.c_str(), m.date_utc.c_str(), m.load_avg[0],
               m.load_avg[1], m.load_avg[2], r.load_end[0], r.io_pressure);
  std::string coordinators;
  for (size_t i = 0; i < r.target.coordinators.size(); i++) {
    if (!coordinators.empty()) coordinators += ", ";
    if (!r.target.coordinator_names[i].empty()) coordinators += r.target.coordinator_names[i] + " ";
    coordinators += r.target.coordinators[i];
  }
  std::fprintf(out, "cluster      %s", coordinators.c_str());
  if (!r.target.layout_path.empty()) {
    std::fprintf(out, "; %zu participants, %d vnodes (layout %s%s%s)", r.target.participants,
                 r.target.vnodes, r.target.layout_path.c_str(), r.data_fs.empty() ? "" : ", ",
                 r.data_fs.c_str());
  }
  std::fprintf(out, "\n");
  if (r.load) {
    std::fprintf(out,
                 "load         %" PRIu64 " keys in %" PRIu64 " transactions, %.2f s (%" PRIu64
                 " aborted attempts, retried)\n",
                 r.load->keys, r.load->txns, r.load->seconds, r.load->aborted);
  }
  std::fprintf(out, "\n");
  if (r.run.interrupted) std::fprintf(out, "INTERRUPTED: the window was cut short\n");
  std::fprintf(out, "committed    %" PRIu64 " in %.2f s = %.1f TPS\n", w.committed, r.run.window_s,
               Tps(r));
  std::fprintf(out,
               "attempts     %" PRIu64 " = %" PRIu64 " committed + %" PRIu64 " aborted + %" PRIu64
               " ended by an error; abort rate %.2f%%\n",
               w.attempts, w.committed, w.aborted, w.attempts - w.committed - w.aborted,
               100 * AbortRate(w));
  std::fprintf(out, "aborts       %s\n", AbortsText(w).c_str());
  std::fprintf(out, "errors       %" PRIu64 " transactions given up\n", w.errors);
  for (const auto& [kind, e] : w.errors_by_kind) {
    std::fprintf(out, "             %" PRIu64 " x %s, e.g. \"%s\"\n", e.count, kind.c_str(),
                 e.example.c_str());
  }
  if (w.committed > 0) {
    std::fprintf(out, "retries      %.3f attempts per committed transaction (max %" PRIu64 ")\n",
                 static_cast<double>(w.committed_attempts_sum) / static_cast<double>(w.committed),
                 w.committed_attempts_max);
  }
  std::fprintf(out,
               "whole run    %" PRIu64 " committed, %" PRIu64 " aborted, %" PRIu64
               " errors (warm-up and drain included); %" PRIu64
               " transactions cut off by the end\n",
               r.run.total.committed, r.run.total.aborted, r.run.total.errors, r.run.unfinished);
  std::fprintf(out, "\n  %-20s %8s %8s %8s %8s %8s %8s %8s\n", "latency (ms)", "count", "mean",
               "p50", "p95", "p99", "p99.9", "max");
  const Percentiles txn = Compute(w.txn_ns);
  PrintLatencyRow(out, "transaction", txn);
  PrintLatencyRow(out, "attempt, committed", Compute(w.commit_attempt_ns));
  PrintLatencyRow(out, "attempt, aborted", Compute(w.abort_attempt_ns));
  const Percentiles commit_request = Compute(w.commit_request_ns);
  PrintLatencyRow(out, "COMMIT request", commit_request);
  std::fprintf(out,
               "  (transaction: first BEGIN sent to COMMIT answered OK, retries and backoffs "
               "included; attempt: its BEGIN to its last reply; COMMIT request: sent to OK)\n");
  if (r.floor) {
    const Floor& f = *r.floor;
    std::fprintf(out,
                 "\nfloor        f = fdatasync after overwrite (%s, in %s): p50 %.3f ms (%" PRIu64
                 " samples)\n",
                 f.fs_type.c_str(), f.fsync_dir.c_str(), f.fsync_p50_ms, f.fsync_samples);
    std::fprintf(out, "             r_c = PING %s: p50 %.3f ms (%" PRIu64 " samples)\n",
                 r.target.coordinators.front().c_str(), f.coordinator_rtt.p50_ms,
                 f.coordinator_rtt.samples);
    if (f.participant_measured) {
      std::fprintf(out, "             r_p = PING %s: p50 %.3f ms (%" PRIu64 " samples)\n",
                   f.participant_name.c_str(), f.participant_rtt.p50_ms, f.participant_rtt.samples);
    } else {
      std::fprintf(out, "             r_p = r_c (no layout: participants unknown)\n");
    }
    const FloorModel commit = CommitFloorModel(c.workload.kind, c.exec);
    const FloorModel txn_model = TxnFloorModel(c.workload.kind, c.exec);
    std::fprintf(out,
                 "             commit floor       %s = %.3f ms;  measured COMMIT p50 %.3f ms\n",
                 commit.formula.c_str(), FloorMs(commit, f), commit_request.p50_ms);
    const double floor_ms = FloorMs(txn_model, f);
    std::fprintf(out, "             transaction floor  %s = %.3f ms;  measured p50 %.3f ms",
                 txn_model.formula.c_str(), floor_ms, txn.p50_ms);
    if (floor_ms > 0 && txn.count > 0)
      std::fprintf(out, " = %.2fx the floor", txn.p50_ms / floor_ms);
    std::fprintf(out, "\n");
  }
  std::fprintf(out,
               "\nbench cpu    %.2f s in %.2f s = %.2f CPUs (of %ld) used by kv2pc-bench itself\n",
               r.run.cpu_s, r.run.elapsed_s,
               r.run.elapsed_s > 0 ? r.run.cpu_s / r.run.elapsed_s : 0, m.nproc);
}

void PrintJson(FILE* out, const BenchConfig& c, const BenchReport& r) {
  const RunStats& w = r.run.window;
  const MachineInfo& m = r.machine;
  std::string j = "{\"tool\":\"kv2pc-bench\"";
  j += ",\"workload\":" + JsonString(WorkloadName(c.workload.kind));
  j += ",\"clients\":" + std::to_string(c.clients);
  j += ",\"threads\":" + std::to_string(std::min(c.threads, c.clients));
  j += ",\"duration_s\":" + JsonNumber(c.duration_s);
  j += ",\"warmup_s\":" + JsonNumber(c.warmup_s);
  j += ",\"keys\":" + std::to_string(c.workload.keys);
  j += ",\"value_size\":" + std::to_string(c.workload.value_size);
  j += ",\"hot_keys\":" + std::to_string(c.workload.hot_keys);
  j += ",\"shared_reads\":" + std::string(c.workload.shared_reads ? "true" : "false");
  j += ",\"api\":\"" + std::string(c.exec ? "exec" : "interactive") + "\"";
  j += ",\"seed\":" + std::to_string(c.seed);
  j += ",\"timeout_ms\":" + std::to_string(c.timeout_ms);
  j += ",\"max_attempts\":" + std::to_string(c.max_attempts);
  j += ",\"machine\":{\"nproc\":" + std::to_string(m.nproc) +
       ",\"cpu_model\":" + JsonString(m.cpu_model) + ",\"kernel\":" + JsonString(m.kernel) +
       ",\"date_utc\":" + JsonString(m.date_utc) + ",\"load_avg_start\":[" +
       JsonNumber(m.load_avg[0]) + "," + JsonNumber(m.load_avg[1]) + "," +
       JsonNumber(m.load_avg[2]) + "],\"load_avg_end\":[" + JsonNumber(r.load_end[0]) + "," +
       JsonNumber(r.load_end[1]) + "," + JsonNumber(r.load_end[2]) +
       "],\"io_pressure_avg10\":" + JsonNumber(r.io_pressure) + "}";
  j += ",\"cluster\":{\"coordinators\":[";
  for (size_t i = 0; i < r.target.coordinators.size(); i++) {
    if (i > 0) j += ",";
    j += "{\"name\":" + JsonString(r.target.coordinator_names[i]) +
         ",\"endpoint\":" + JsonString(r.target.coordinators[i]) + "}";
  }
  j += "],\"participants\":" + std::to_string(r.target.participants) +
       ",\"vnodes\":" + std::to_string(r.target.vnodes) +
       ",\"layout\":" + JsonString(r.target.layout_path) + ",\"data_fs\":" + JsonString(r.data_fs) +
       "}";
  if (r.load) {
    j += ",\"load\":{\"keys\":" + std::to_string(r.load->keys) +
         ",\"txns\":" + std::to_string(r.load->txns) +
         ",\"aborted\":" + std::to_string(r.load->aborted) +
         ",\"seconds\":" + JsonNumber(r.load->seconds) + "}";
  } else {
    j += ",\"load\":null";
  }
  j += ",\"interrupted\":" + std::string(r.run.interrupted ? "true" : "false");
  j += ",\"window_s\":" + JsonNumber(r.run.window_s);
  j += ",\"committed\":" + std::to_string(w.committed);
  j += ",\"tps\":" + JsonNumber(Tps(r));
  j += ",\"attempts\":" + std::to_string(w.attempts);
  j += ",\"aborted\":" + std::to_string(w.aborted);
  j += ",\"abort_rate\":" + JsonNumber(AbortRate(w));
  j += ",\"aborts_by_reason\":" + AbortsJson(w);
  j += ",\"errors\":" + std::to_string(w.errors);
  j += ",\"errors_by_kind\":" + ErrorsJson(w);
  j += ",\"attempts_per_commit\":" +
       JsonNumber(w.committed > 0 ? static_cast<double>(w.committed_attempts_sum) /
                                        static_cast<double>(w.committed)
                                  : 0);
  j += ",\"attempts_per_commit_max\":" + std::to_string(w.committed_attempts_max);
  j += ",\"committed_total\":" + std::to_string(r.run.total.committed);
  j += ",\"aborted_total\":" + std::to_string(r.run.total.aborted);
  j += ",\"errors_total\":" + std::to_string(r.run.total.errors);
  j += ",\"unfinished\":" + std::to_string(r.run.unfinished);
  const Percentiles txn = Compute(w.txn_ns);
  j += ",\"latency_ms\":{\"txn\":" + JsonPercentiles(txn) +
       ",\"attempt_committed\":" + JsonPercentiles(Compute(w.commit_attempt_ns)) +
       ",\"attempt_aborted\":" + JsonPercentiles(Compute(w.abort_attempt_ns)) +
       ",\"commit_request\":" + JsonPercentiles(Compute(w.commit_request_ns)) + "}";
  if (r.floor) {
    const Floor& f = *r.floor;
    const FloorModel commit = CommitFloorModel(c.workload.kind, c.exec);
    const FloorModel txn_model = TxnFloorModel(c.workload.kind, c.exec);
    j += ",\"floor\":{\"fsync_p50_ms\":" + JsonNumber(f.fsync_p50_ms) +
         ",\"fsync_p99_ms\":" + JsonNumber(f.fsync_p99_ms) +
         ",\"fsync_samples\":" + std::to_string(f.fsync_samples) +
         ",\"fsync_fs\":" + JsonString(f.fs_type) + ",\"fsync_dir\":" + JsonString(f.fsync_dir) +
         ",\"rtt_coordinator_p50_ms\":" + JsonNumber(f.coordinator_rtt.p50_ms) +
         ",\"rtt_participant_p50_ms\":" + JsonNumber(f.participant_rtt.p50_ms) +
         ",\"rtt_participant_measured\":" + (f.participant_measured ? "true" : "false") +
         ",\"commit_formula\":" + JsonString(commit.formula) +
         ",\"commit_floor_ms\":" + JsonNumber(FloorMs(commit, f)) +
         ",\"txn_formula\":" + JsonString(txn_model.formula) +
         ",\"txn_floor_ms\":" + JsonNumber(FloorMs(txn_model, f)) +
         ",\"measured_p50_ms\":" + JsonNumber(txn.p50_ms) +
         ",\"measured_commit_p50_ms\":" + JsonNumber(Compute(w.commit_request_ns).p50_ms) + "}";
  } else {
    j += ",\"floor\":null";
  }
  j += ",\"cpu_s\":" + JsonNumber(r.run.cpu_s);
  j += ",\"elapsed_s\":" + JsonNumber(r.run.elapsed_s);
  j += "}\n";
  std::fputs(j.c_str(), out);
}

}  // namespace kv2pc::bench
