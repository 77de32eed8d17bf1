// One measured case of kv2pc-wal-bench: a fresh wal::Log driven by appender threads or by one
// event-loop thread, and the figures derived from what they and on_durable recorded. See
// wal_bench.h.
//
// Timing: every completed append is recorded as (LSN, start, done) and every on_durable call
// as (time, durable LSN); after the log is closed, only what finished inside the timed window
// [begin, end) counts. Nothing is filtered while running, so the measuring costs one clock
// read and one vector push per append.
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "bench/wal_bench.h"
#include "common/event_loop.h"
#include "wal/durable_waiters.h"
#include "wal/log.h"

namespace kv2pc::bench {
namespace {

// Any non-zero type will do: the log's framing does not interpret it, and the directory is
// deleted afterwards, so no reader ever decodes these payloads.
constexpr uint8_t kBenchRecordType = 0xBE;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void SleepSeconds(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

// One flush of the log as seen by on_durable: when it was reported and the durable LSN then.
struct FlushEvent {
  int64_t t_ns;
  Lsn durable_lsn;
};

// One append, from before Append to when its appender learned that it is durable.
struct Op {
  Lsn lsn;
  int64_t start_ns;
  int64_t done_ns;
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

// What one driving thread owns; the main thread reads it after joining.
struct Driver {
  std::atomic<int> tid{0};
  std::vector<Op> ops;
  Status error;
};

// WalMode::kThreads: one of n threads.
void RunAppenderThread(wal::Log* log, const std::string* payload, const std::atomic<bool>* stop,
                       Driver* d) {
  d->tid.store(CurrentThreadId());
  d->ops.reserve(4096);
  while (!stop->load(std::memory_order_relaxed)) {
    const int64_t start = NowNs();
    Result<Lsn> lsn = log->Append(kBenchRecordType, *payload);
    Status s = lsn.ok() ? log->WaitDurable(*lsn) : lsn.status();
    if (!s.ok()) {
      d->error = s;
      return;
    }
    d->ops.push_back({*lsn, start, NowNs()});
  }
}

// WalMode::kEventLoop: keeps `inflight` records pending, appending a new one for each that
// completes, like a server replying to one request and reading the next.
void RunEventLoopThread(wal::Log* log, Notifier* notifier, size_t inflight,
                        const std::string* payload, const std::atomic<bool>* stop, Driver* d) {
  d->tid.store(CurrentThreadId());
  d->ops.reserve(1 << 16);
  wal::DurableWaiters waiters(log);
  size_t pending = 0;
  while (!stop->load(std::memory_order_relaxed)) {
    while (pending < inflight) {
      const int64_t start = NowNs();
      Result<Lsn> lsn = log->Append(kBenchRecordType, *payload);
      if (!lsn.ok()) {
        d->error = lsn.status();
        return;
      }
      ++pending;
      waiters.WhenDurable(*lsn, [d, &pending, start, l = *lsn](const Status& s) {
        --pending;
        if (s.ok()) d->ops.push_back({l, start, NowNs()});
      });
    }
    pollfd pfd{notifier->fd(), POLLIN, 0};
    ::poll(&pfd, 1, /*timeout_ms=*/100);  // the timeout only bounds how late stop is seen
    notifier->Drain();
    Status s = waiters.Poll();
    if (!s.ok()) {
      d->error = s;
      return;
    }
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
// neither the main thread nor a driver: the Log starts exactly one) and the drivers'.
void AnalyzeSched(const SchedSnapshot& begin, const SchedSnapshot& end, int main_tid,
                  const std::vector<Driver>& drivers, WalCaseResult* r) {
  std::set<int> driver_tids;
  for (const Driver& d : drivers) driver_tids.insert(d.tid.load());
  SchedStat flusher;
  SchedStat driver;
  for (const auto& [tid, b] : begin) {
    auto e = end.find(tid);
    if (tid == main_tid || e == end.end()) continue;
    SchedStat& sum = driver_tids.count(tid) != 0 ? driver : flusher;
    sum.cpu_ns += e->second.cpu_ns - b.cpu_ns;
    sum.wait_ns += e->second.wait_ns - b.wait_ns;
  }
  if (r->flushes > 0) {
    r->flusher_wait_per_flush_ms =
        static_cast<double>(flusher.wait_ns) / 1e6 / static_cast<double>(r->flushes);
  }
  if (r->appends > 0) {
    const auto n = static_cast<double>(r->appends);
    r->appender_wait_per_append_ms = static_cast<double>(driver.wait_ns) / 1e6 / n;
    r->cpu_per_append_us = static_cast<double>(flusher.cpu_ns + driver.cpu_ns) / 1e3 / n;
  }
}

// Derives the figures of one case from what the drivers and on_durable recorded inside the
// timed window [begin_ns, end_ns).
void Analyze(const std::vector<Driver>& drivers, const std::vector<FlushEvent>& events,
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
  // Per flush event: when the first and the last append it covered was seen complete.
  std::vector<int64_t> first_done(events.size(), INT64_MAX);
  std::vector<int64_t> last_done(events.size(), INT64_MIN);
  for (const Driver& d : drivers) {
    for (const Op& op : d.ops) {
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
  r->records_per_flush =
      r->flushes == 0 ? 0 : static_cast<double>(r->appends) / static_cast<double>(r->flushes);
  r->latency = Summarize(&latencies);
  r->wake = Summarize(&wakes);
}

}  // namespace

Result<WalCaseResult> RunWalCase(const std::string& scratch, WalMode mode, size_t n,
                                 size_t payload_size, const WalBenchConfig& config) {
  WalCaseResult r;
  r.mode = mode;
  r.n = n;
  r.payload_size = payload_size;
  const std::string dir = scratch + "/wal-" + std::to_string(payload_size) +
                          (mode == WalMode::kThreads ? "-threads-" : "-loop-") + std::to_string(n);

  // Both must outlive the Log: its destructor's final flush calls on_durable.
  FlushRecorder recorder;
  Notifier notifier;
  wal::LogOptions options;
  options.dir = dir;
  options.segment_size = config.segment_size;
  options.on_durable = [&recorder, &notifier] {
    recorder.OnDurable();
    notifier.Notify();
  };
  const int64_t open_start = NowNs();
  Result<std::unique_ptr<wal::Log>> opened =
      wal::Log::Open(options, [](const wal::RecordView&) { return Status::OK(); });
  if (!opened.ok()) return opened.status();
  std::unique_ptr<wal::Log> log = std::move(*opened);
  r.open_ms = static_cast<double>(NowNs() - open_start) / 1e6;
  recorder.set_log(log.get());

  const std::string payload(payload_size, 'p');
  std::atomic<bool> stop{false};
  std::vector<Driver> drivers(mode == WalMode::kThreads ? n : 1);
  std::vector<std::thread> threads;
  threads.reserve(drivers.size());
  for (Driver& d : drivers) {
    if (mode == WalMode::kThreads) {
      threads.emplace_back(RunAppenderThread, log.get(), &payload, &stop, &d);
    } else {
      threads.emplace_back(RunEventLoopThread, log.get(), &notifier, n, &payload, &stop, &d);
    }
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
  for (std::thread& t : threads) t.join();
  log.reset();  // after this, on_durable is never called again (see LogOptions::on_durable)
  for (const Driver& d : drivers) {
    if (!d.error.ok()) return d.error;
  }
  Analyze(drivers, recorder.TakeEvents(), begin_ns, end_ns, &r);
  AnalyzeSched(sched_begin, sched_end, CurrentThreadId(), drivers, &r);
  std::error_code ec;  // free the segments now: later cases need the disk space
  std::filesystem::remove_all(dir, ec);
  return r;
}

}  // namespace kv2pc::bench
