// See async_driver.h.
#include "bench/async_driver.h"

#include <poll.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>

#include "bench/stats.h"
#include "common/event_loop.h"
#include "common/messages.h"
#include "common/rpc.h"

namespace kv2pc::bench {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kAbortTimeout(1000);  // best-effort ABORT after an error
constexpr milliseconds kStopCheck(100);      // how often a worker looks for an early stop
constexpr int64_t kBackoffFirstUs = 1000;    // retry backoff: 1 ms doubling to 100 ms,
constexpr int64_t kBackoffMaxUs = 100000;    // jittered over [half, full]
constexpr int64_t kErrorPauseMinMs = 10;     // after an error: 10-20 ms before the next txn
constexpr milliseconds kLabelSlack(5);       // progress lines: see PrintProgress's caller

int64_t Ns(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// What every worker shares. Constant during the run except the atomics.
struct SharedRun {
  const DriverOptions* options = nullptr;
  zmq::context_t* context = nullptr;
  Clock::time_point start;
  Clock::time_point window_start;
  bool timed = false;  // duration_s > 0: a deadline ends the run
  // Nanoseconds from `start` to the window's end; lowered when a signal ends the run early.
  std::atomic<int64_t> window_end_ns{INT64_MAX};
  std::atomic<bool> stop{false};    // set by the main thread on a signal
  std::atomic<size_t> finished{0};  // workers whose Main() has returned (or is returning)
  Notifier done;                    // notified after `finished` is incremented
};

// What the progress line shows for one second: filled by a worker, taken by the main thread.
struct Interval {
  uint64_t committed = 0;
  uint64_t aborted = 0;
  uint64_t errors = 0;
  std::vector<int64_t> txn_ns;
};

// kIdle: not started yet. kBackoff waits to retry an aborted transaction; kPause waits to
// start a new one after an error.
enum class Phase : uint8_t { kIdle, kBegin, kOps, kCommit, kBackoff, kPause, kDone };

struct ClientState {
  size_t index = 0;  // logical client number, 0..clients-1
  size_t peer = 0;   // the coordinator's index in the worker's RpcClient
  Rng rng{0};
  Phase phase = Phase::kIdle;
  std::optional<TxnPlan> plan;
  uint64_t txn_number = 0;     // transactions started by this client
  std::optional<uint64_t> ts;  // wound-wait priority of the first attempt
  TxnId txn;                   // the current attempt's transaction
  int attempt = 0;             // 1 = first attempt
  size_t step = 0;             // next GET/PUT of the plan
  uint64_t call = 0;           // counts requests: a callback for an older one is ignored
  std::vector<std::optional<std::string>> reads;
  Clock::time_point txn_start;
  Clock::time_point attempt_start;
  Clock::time_point commit_sent;
  EventLoop::TimerId backoff_timer = 0;
};

class Worker {
 public:
  Worker(SharedRun* run, std::vector<size_t> clients)
      : run_(run), client_ids_(std::move(clients)) {}
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // The thread's body: creates the loop and the sockets here, so they stay on this thread.
  void Main();

  // Any thread: the events since the last call.
  Interval TakeInterval() {
    std::lock_guard<std::mutex> lock(mu_);
    Interval out = std::move(interval_);
    interval_ = Interval();
    return out;
  }

  // Read after the thread has been joined.
  const Status& status() const { return status_; }
  const RunStats& window() const { return window_; }
  const RunStats& total() const { return total_; }
  uint64_t unfinished() const { return unfinished_; }

 private:
  void StartTxn(ClientState* c);
  void StartAttempt(ClientState* c);
  void SendNextStep(ClientState* c);
  // --exec: the next EXEC of the attempt (DriverOptions::exec).
  void SendExec(ClientState* c);
  void Send(ClientState* c, MessageBody body);
  void OnReply(ClientState* c, uint64_t call, Result<Reply> r);
  void OnOk(ClientState* c, Reply& reply);
  void OnAborted(ClientState* c, AbortReason reason, const std::string& message);
  void OnError(ClientState* c, const std::string& kind, const std::string& message);
  void AbortQuietly(const ClientState& c);
  void Finish(ClientState* c);
  void BeginStopping();
  void MaybeStopLoop();
  const char* StepName(const ClientState& c) const;

  // Records into the window (when `at` falls in it) and the totals.
  bool InWindow(Clock::time_point at) const;
  void RecordCommit(const ClientState& c, Clock::time_point at);
  void RecordAbort(const ClientState& c, AbortReason reason, Clock::time_point at);
  void RecordError(const std::string& kind, const std::string& message, bool ended_attempt,
                   Clock::time_point at);

  SharedRun* const run_;
  const std::vector<size_t> client_ids_;

  // Used only on the worker's thread.
  EventLoop* loop_ = nullptr;
  RpcClient* rpc_ = nullptr;
  std::vector<ClientState> clients_;
  size_t active_ = 0;  // clients not kDone
  size_t aborts_in_flight_ = 0;
  bool stopping_ = false;
  Status status_;
  RunStats window_;
  RunStats total_;
  uint64_t unfinished_ = 0;

  std::mutex mu_;      // guards interval_ (the worker adds, the main thread takes)
  Interval interval_;  // guarded by mu_
};

void Worker::Main() {
  EventLoop loop;
  RpcClient rpc(run_->context, &loop);
  loop_ = &loop;
  rpc_ = &rpc;
  const DriverOptions& o = *run_->options;
  for (size_t i = 0; i < o.coordinators.size(); i++) {
    Result<size_t> peer = rpc.AddPeer("coordinator " + o.coordinators[i], o.coordinators[i]);
    if (!peer.ok()) {
      status_ = peer.status();
      run_->finished++;
      run_->done.Notify();
      return;
    }
  }
  clients_.resize(client_ids_.size());
  for (size_t i = 0; i < client_ids_.size(); i++) {
    ClientState& c = clients_[i];
    c.index = client_ids_[i];
    c.peer = (c.index / o.threads) % o.coordinators.size();
    Rng mix(o.seed ^ ((c.index + 1) * 0x9e3779b97f4a7c15ULL));
    c.rng = Rng(mix.Next());
  }
  active_ = clients_.size();
  if (run_->timed) {
    const auto end = run_->start + std::chrono::nanoseconds(run_->window_end_ns.load());
    loop.RunAfter(std::chrono::ceil<milliseconds>(end - Clock::now()), [this] { BeginStopping(); });
  }
  std::function<void()> check_stop = [this, &loop, &check_stop] {
    if (run_->stop.load()) BeginStopping();
    if (!stopping_) loop.RunAfter(kStopCheck, check_stop);
  };
  loop.RunAfter(kStopCheck, check_stop);
  for (ClientState& c : clients_) StartTxn(&c);
  if (active_ > 0 || aborts_in_flight_ > 0) loop.Run();
  loop_ = nullptr;
  rpc_ = nullptr;
  run_->finished++;
  run_->done.Notify();
}

void Worker::StartTxn(ClientState* c) {
  if (stopping_) return Finish(c);
  c->plan = run_->options->next_plan(c->index, c->txn_number, &c->rng);
  if (!c->plan.has_value()) return Finish(c);
  c->txn_number++;
  c->ts.reset();
  c->attempt = 0;
  c->txn_start = Clock::now();
  StartAttempt(c);
}

void Worker::StartAttempt(ClientState* c) {
  c->attempt++;
  c->attempt_start = Clock::now();
  c->txn = TxnId{};
  c->step = 0;
  c->reads.clear();
  if (run_->options->exec) return SendExec(c);
  c->phase = Phase::kBegin;
  Send(c, BeginRequest{c->ts});
}

void Worker::SendExec(ClientState* c) {
  const TxnPlan& plan = *c->plan;
  bool writes_need_reads = false;
  for (const Write& w : plan.writes) writes_need_reads |= w.from_read >= 0;
  ExecRequest req;
  if (c->txn.valid()) {
    req.txn = c->txn;
  } else {
    req.ts = c->ts;
  }
  const bool reads_first = c->step == 0 && writes_need_reads;
  if (c->step == 0) {
    for (const std::string& key : plan.reads) {
      req.ops.push_back(ExecOp{ExecOp::Kind::kGet, key, "", plan.reads_for_update});
    }
  }
  if (!reads_first) {
    for (const Write& w : plan.writes) {
      std::string value = w.value;
      if (w.from_read >= 0) {
        value = FormatBalance(ParseBalance(c->reads[static_cast<size_t>(w.from_read)]) + w.delta,
                              plan.balance_size);
      }
      req.ops.push_back(ExecOp{ExecOp::Kind::kPut, w.key, std::move(value), false});
    }
    req.commit = true;
    c->phase = Phase::kCommit;
    c->commit_sent = Clock::now();
  } else {
    c->phase = Phase::kOps;
  }
  c->step++;
  Send(c, std::move(req));
}

void Worker::SendNextStep(ClientState* c) {
  const TxnPlan& plan = *c->plan;
  if (c->step < plan.reads.size()) {
    c->phase = Phase::kOps;
    Send(c, GetRequest{c->txn, plan.reads[c->step], plan.reads_for_update});
    return;
  }
  const size_t w = c->step - plan.reads.size();
  if (w < plan.writes.size()) {
    const Write& write = plan.writes[w];
    std::string value = write.value;
    if (write.from_read >= 0) {
      const int64_t balance = ParseBalance(c->reads[static_cast<size_t>(write.from_read)]);
      value = FormatBalance(balance + write.delta, plan.balance_size);
    }
    c->phase = Phase::kOps;
    Send(c, PutRequest{c->txn, write.key, std::move(value)});
    return;
  }
  c->phase = Phase::kCommit;
  c->commit_sent = Clock::now();
  Send(c, CommitRequest{c->txn});
}

void Worker::Send(ClientState* c, MessageBody body) {
  const uint64_t call = ++c->call;
  rpc_->Call(c->peer, std::move(body), run_->options->timeout,
             [this, c, call](Result<Reply> r) { OnReply(c, call, std::move(r)); });
}

const char* Worker::StepName(const ClientState& c) const {
  switch (c.phase) {
    case Phase::kBegin:
      return "BEGIN";
    case Phase::kOps:
      if (run_->options->exec) return "EXEC";
      return c.step < c.plan->reads.size() ? "GET" : "PUT";
    case Phase::kCommit:
      return run_->options->exec ? "EXEC commit" : "COMMIT";
    default:
      return "?";
  }
}

void Worker::OnReply(ClientState* c, uint64_t call, Result<Reply> r) {
  if (call != c->call) return;  // cannot happen: one request per client at a time
  if (!r.ok()) {
    // RpcClient's local failures: TimedOut (no reply; for COMMIT the outcome is unknown) or
    // Unavailable (the request was never sent).
    const char* what = r.status().IsTimedOut() ? "local TIMEOUT on " : "local UNAVAILABLE on ";
    return OnError(c, what + std::string(StepName(*c)), r.status().message());
  }
  Reply& reply = *r;
  if (reply.ok()) return OnOk(c, reply);
  // docs/protocol.md: an error reply with a reason means the transaction is aborted.
  if (reply.code == ErrorCode::kAborted ||
      (reply.code == ErrorCode::kTxnAlreadyAborted && reply.reason != AbortReason::kNone)) {
    // An EXEC that began the transaction learns its priority here if it aborted at once.
    if (!c->ts.has_value()) c->ts = reply.ts;
    return OnAborted(c, reply.reason, reply.error);
  }
  OnError(c, std::string(ErrorCodeName(reply.code)) + " on " + StepName(*c), reply.error);
}

void Worker::OnOk(ClientState* c, Reply& reply) {
  switch (c->phase) {
    case Phase::kBegin:
      if (!reply.txn.has_value() || !reply.txn->valid()) {
        return OnError(c, "bad BEGIN reply", "the BEGIN reply carries no transaction id");
      }
      c->txn = *reply.txn;
      if (!c->ts.has_value()) c->ts = reply.ts;  // every retry keeps the first attempt's age
      return SendNextStep(c);
    case Phase::kOps:
      if (run_->options->exec) {  // the reads' EXEC: its results, then the commit's EXEC
        if (!reply.txn.has_value() || !reply.results ||
            reply.results->size() != c->plan->reads.size()) {
          return OnError(c, "bad EXEC reply", "the EXEC reply lacks txn or results");
        }
        c->txn = *reply.txn;
        if (!c->ts.has_value()) c->ts = reply.ts;
        for (auto& r : *reply.results) {
          c->reads.push_back(r.found.value_or(false) ? std::move(r.value)
                                                     : std::optional<std::string>());
        }
        return SendExec(c);
      }
      if (c->step < c->plan->reads.size()) {
        c->reads.push_back(reply.found.value_or(false) ? std::move(reply.value)
                                                       : std::optional<std::string>());
      }
      c->step++;
      return SendNextStep(c);
    case Phase::kCommit:
      RecordCommit(*c, Clock::now());
      return StartTxn(c);
    default:
      return;
  }
}

void Worker::OnAborted(ClientState* c, AbortReason reason, const std::string& message) {
  RecordAbort(*c, reason, Clock::now());
  if (stopping_) {
    unfinished_++;
    return Finish(c);
  }
  const int max_attempts = run_->options->max_attempts;
  if (c->attempt >= max_attempts) {
    return OnError(c, "gave up after " + std::to_string(max_attempts) + " attempts", message);
  }
  // Exponential backoff with jitter, so that clients that collided do not retry in lockstep.
  const int64_t full_us = std::min(kBackoffMaxUs, kBackoffFirstUs << std::min(c->attempt - 1, 20));
  const int64_t us = full_us / 2 + static_cast<int64_t>(c->rng.Uniform(full_us / 2 + 1));
  c->phase = Phase::kBackoff;
  c->backoff_timer =
      loop_->RunAfter(std::chrono::ceil<milliseconds>(std::chrono::microseconds(us)), [this, c] {
        c->backoff_timer = 0;
        StartAttempt(c);
      });
}

void Worker::OnError(ClientState* c, const std::string& kind, const std::string& message) {
  // A give-up follows an abort that already ended the attempt.
  const bool ended_attempt = kind.rfind("gave up", 0) != 0;
  RecordError(kind, message, ended_attempt, Clock::now());
  if (ended_attempt && c->txn.valid()) AbortQuietly(*c);
  if (stopping_) return Finish(c);
  c->phase = Phase::kPause;
  const auto pause = milliseconds(kErrorPauseMinMs + static_cast<int64_t>(c->rng.Uniform(11)));
  c->backoff_timer = loop_->RunAfter(pause, [this, c] {
    c->backoff_timer = 0;
    StartTxn(c);
  });
}

void Worker::AbortQuietly(const ClientState& c) {
  // The transaction may still hold locks (an error reply without a reason leaves it alive; a
  // timed-out request may still be running). ABORT is harmless in every state.
  aborts_in_flight_++;
  rpc_->Call(c.peer, AbortRequest{c.txn}, kAbortTimeout, [this](Result<Reply>) {
    aborts_in_flight_--;
    MaybeStopLoop();
  });
}

void Worker::Finish(ClientState* c) {
  if (c->phase == Phase::kDone) return;
  c->phase = Phase::kDone;
  active_--;
  MaybeStopLoop();
}

void Worker::BeginStopping() {
  if (stopping_) return;
  stopping_ = true;
  // Clients waiting to retry give up now (their transaction is unfinished); clients with a
  // request out finish it (the drain).
  for (ClientState& c : clients_) {
    if (c.phase != Phase::kBackoff && c.phase != Phase::kPause) continue;
    loop_->Cancel(c.backoff_timer);
    c.backoff_timer = 0;
    if (c.phase == Phase::kBackoff) unfinished_++;
    Finish(&c);
  }
  MaybeStopLoop();
}

void Worker::MaybeStopLoop() {
  if (active_ == 0 && aborts_in_flight_ == 0) loop_->Stop();
}

bool Worker::InWindow(Clock::time_point at) const {
  return at >= run_->window_start && Ns(at - run_->start) < run_->window_end_ns.load();
}

void Worker::RecordCommit(const ClientState& c, Clock::time_point at) {
  const int64_t txn_ns = Ns(at - c.txn_start);
  const auto attempts = static_cast<uint64_t>(c.attempt);
  const bool in_window = InWindow(at);
  for (RunStats* s : {&total_, in_window ? &window_ : nullptr}) {
    if (s == nullptr) continue;
    s->committed++;
    s->attempts++;
    s->committed_attempts_sum += attempts;
    s->committed_attempts_max = std::max(s->committed_attempts_max, attempts);
  }
  if (in_window) {
    window_.txn_ns.push_back(txn_ns);
    window_.commit_attempt_ns.push_back(Ns(at - c.attempt_start));
    window_.commit_request_ns.push_back(Ns(at - c.commit_sent));
  }
  std::lock_guard<std::mutex> lock(mu_);
  interval_.committed++;
  interval_.txn_ns.push_back(txn_ns);
}

void Worker::RecordAbort(const ClientState& c, AbortReason reason, Clock::time_point at) {
  const auto r = static_cast<size_t>(reason) < total_.aborts_by_reason.size()
                     ? static_cast<size_t>(reason)
                     : 0;
  for (RunStats* s : {&total_, InWindow(at) ? &window_ : nullptr}) {
    if (s == nullptr) continue;
    s->aborted++;
    s->attempts++;
    s->aborts_by_reason[r]++;
  }
  if (InWindow(at)) window_.abort_attempt_ns.push_back(Ns(at - c.attempt_start));
  std::lock_guard<std::mutex> lock(mu_);
  interval_.aborted++;
}

void Worker::RecordError(const std::string& kind, const std::string& message, bool ended_attempt,
                         Clock::time_point at) {
  for (RunStats* s : {&total_, InWindow(at) ? &window_ : nullptr}) {
    if (s == nullptr) continue;
    s->errors++;
    if (ended_attempt) s->attempts++;
    RunStats::ErrorCount& e = s->errors_by_kind[kind];
    if (e.count++ == 0) e.example = message;
  }
  std::lock_guard<std::mutex> lock(mu_);
  interval_.errors++;
}

void PrintProgress(const DriverOptions& o, double elapsed_s, double interval_s, bool warmup,
                   bool draining, Interval& iv) {
  double p50 = 0;
  double p99 = 0;
  if (!iv.txn_ns.empty()) {
    std::sort(iv.txn_ns.begin(), iv.txn_ns.end());
    p50 = static_cast<double>(Quantile(iv.txn_ns, 0.50)) / 1e6;
    p99 = static_cast<double>(Quantile(iv.txn_ns, 0.99)) / 1e6;
  }
  std::fprintf(stderr,
               "[%s] %6.1f s  tps %8.0f  aborts/s %7.0f  errors %llu  p50 %7.2f ms  p99 %7.2f "
               "ms%s\n",
               o.label.c_str(), elapsed_s, static_cast<double>(iv.committed) / interval_s,
               static_cast<double>(iv.aborted) / interval_s,
               static_cast<unsigned long long>(iv.errors), p50, p99,
               warmup ? "  (warm-up)" : (draining ? "  (draining)" : ""));
}

}  // namespace

void RunStats::Merge(const RunStats& other) {
  committed += other.committed;
  attempts += other.attempts;
  aborted += other.aborted;
  errors += other.errors;
  for (size_t i = 0; i < aborts_by_reason.size(); i++) {
    aborts_by_reason[i] += other.aborts_by_reason[i];
  }
  for (const auto& [kind, e] : other.errors_by_kind) {
    ErrorCount& mine = errors_by_kind[kind];
    if (mine.count == 0) mine.example = e.example;
    mine.count += e.count;
  }
  committed_attempts_sum += other.committed_attempts_sum;
  committed_attempts_max = std::max(committed_attempts_max, other.committed_attempts_max);
  txn_ns.insert(txn_ns.end(), other.txn_ns.begin(), other.txn_ns.end());
  commit_attempt_ns.insert(commit_attempt_ns.end(), other.commit_attempt_ns.begin(),
                           other.commit_attempt_ns.end());
  abort_attempt_ns.insert(abort_attempt_ns.end(), other.abort_attempt_ns.begin(),
                          other.abort_attempt_ns.end());
  commit_request_ns.insert(commit_request_ns.end(), other.commit_request_ns.begin(),
                           other.commit_request_ns.end());
}

Result<DriverResult> RunDriver(const DriverOptions& options, zmq::context_t* context) {
  if (options.coordinators.empty() || options.clients == 0 || options.threads == 0 ||
      !options.next_plan) {
    return Status::InvalidArgument("RunDriver: no coordinator, client, thread or plan source");
  }
  SharedRun run;
  run.options = &options;
  run.context = context;
  run.timed = options.duration_s > 0;
  run.start = Clock::now();
  run.window_start = run.start + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(options.warmup_s));
  if (run.timed) {
    run.window_end_ns =
        Ns(run.window_start - run.start) + Ns(std::chrono::duration_cast<Clock::duration>(
                                               std::chrono::duration<double>(options.duration_s)));
  }
  const double cpu_start = CpuSeconds();

  const size_t threads = std::min(options.threads, options.clients);
  std::vector<std::unique_ptr<Worker>> workers;
  for (size_t t = 0; t < threads; t++) {
    std::vector<size_t> ids;
    for (size_t i = t; i < options.clients; i += threads) ids.push_back(i);
    workers.push_back(std::make_unique<Worker>(&run, std::move(ids)));
  }
  std::vector<std::thread> running;
  for (auto& w : workers) running.emplace_back([&w] { w->Main(); });

  // The main thread: a progress line every second, and the signal that ends the run early.
  // Each worker counts itself in `finished` and then notifies `done` as its last act.
  size_t finished = 0;
  Clock::time_point last_tick = run.start;
  Clock::time_point next_tick = run.start + std::chrono::seconds(1);
  bool interrupted = false;
  while (finished < threads) {
    pollfd fds[2] = {{run.done.fd(), POLLIN, 0}, {options.signal_fd, POLLIN, 0}};
    const auto wait = std::chrono::ceil<milliseconds>(next_tick - Clock::now());
    const int n = ::poll(fds, options.signal_fd >= 0 ? 2 : 1,
                         static_cast<int>(std::max<int64_t>(0, wait.count())));
    if (n > 0 && (fds[0].revents & POLLIN)) run.done.Drain();
    if (n > 0 && options.signal_fd >= 0 && (fds[1].revents & POLLIN) && !interrupted) {
      interrupted = true;
      const int64_t now_ns = Ns(Clock::now() - run.start);
      run.window_end_ns = std::min(run.window_end_ns.load(), now_ns);
      run.stop = true;
      std::fprintf(stderr, "[%s] interrupted: finishing the requests in flight\n",
                   options.label.c_str());
    }
    const Clock::time_point now = Clock::now();
    if (now >= next_tick) {
      Interval all;
      for (auto& w : workers) {
        Interval iv = w->TakeInterval();
        all.committed += iv.committed;
        all.aborted += iv.aborted;
        all.errors += iv.errors;
        all.txn_ns.insert(all.txn_ns.end(), iv.txn_ns.begin(), iv.txn_ns.end());
      }
      if (options.progress) {
        const double elapsed = std::chrono::duration<double>(now - run.start).count();
        // An interval is labelled by where it lies: partly in the warm-up, or partly after
        // the window (the tolerance absorbs the tick's own lateness).
        const bool warmup = last_tick + kLabelSlack < run.window_start;
        const bool draining = Ns(now - run.start) - Ns(kLabelSlack) > run.window_end_ns.load();
        PrintProgress(options, elapsed, std::chrono::duration<double>(now - last_tick).count(),
                      warmup, draining, all);
      }
      last_tick = now;
      next_tick += std::chrono::seconds(1);
    }
    finished = run.finished.load();
  }
  for (std::thread& t : running) t.join();
  const Clock::time_point end = Clock::now();

  DriverResult result;
  for (auto& w : workers) {
    if (!w->status().ok()) return w->status().WithContext("setting up a worker thread");
    result.window.Merge(w->window());
    result.total.Merge(w->total());
    result.unfinished += w->unfinished();
  }
  result.total.txn_ns.clear();
  result.total.commit_attempt_ns.clear();
  result.total.abort_attempt_ns.clear();
  result.total.commit_request_ns.clear();
  const int64_t window_end_ns = std::min(run.window_end_ns.load(), Ns(end - run.start));
  result.window_s = std::max<double>(
      0, static_cast<double>(window_end_ns - Ns(run.window_start - run.start)) / 1e9);
  result.elapsed_s = std::chrono::duration<double>(end - run.start).count();
  result.interrupted = interrupted;
  result.cpu_s = CpuSeconds() - cpu_start;
  return result;
}

}  // namespace kv2pc::bench
