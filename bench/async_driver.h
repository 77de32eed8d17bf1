// The load generator's engine: N logical clients, each running transactions back to back
// against kv2pc coordinators, driven by a few threads (docs/benchmarks.md, "kv2pc-bench").
//
// Threads and sockets. Each worker thread owns an EventLoop (common/event_loop.h, zmq::poll)
// and an RpcClient (common/rpc.h) with one DEALER socket per coordinator -- one socket in the
// usual one-coordinator cluster -- created on that thread and never touched by another. A
// coordinator's ROUTER takes any number of requests in flight per connection and matches
// nothing by order (docs/protocol.md, "Framing"): every request carries a fresh request_id and
// RpcClient matches each reply to its request by it, drops late replies, and ends every call
// in exactly one callback: the reply, Unavailable (not sent within 2 s) or TimedOut (no reply
// within --timeout-ms). The only per-connection limit is the high-water mark of 100,000
// queued messages, far above the at most two requests a logical client has in flight (its
// current one and a best-effort ABORT), so --clients is capped at 10,000. Logical client i
// runs on thread i % T and talks to coordinator (i / T) % C, so clients spread over every
// coordinator of the layout whatever T is.
//
// One logical client's state machine (Worker::OnReply and the functions it calls):
//
//   StartTxn --BEGIN {ts}--> kBegin --ok--> kOps --each GET/PUT ok--> kOps ... --> kCommit
//      ^                       |              |                                      |
//      |                       |    ABORTED, or TXN_ALREADY_ABORTED with a reason    | OK:
//      |                       +-------> kBackoff (1..100 ms, jittered) --> BEGIN   | commit
//      |                                   (same plan, the first attempt's ts)       | counted
//      +------------------------------------------------------------------------------+
//      +-- error (no reply in time, not sent, any other code): best-effort ABORT, 10-20 ms
//          pause (kPause), then a new transaction.
//   At the end of the run no new transaction or retry starts (kDone); requests in flight
//   finish (the drain), so no transaction is left holding locks on the servers.
//
//   transition                                   function
//   idle -> kBegin                               StartTxn, StartAttempt
//   kBegin -> kOps -> kCommit                    OnOk, SendNextStep
//   any -> kBackoff (abort)                      OnAborted
//   any -> kPause (error, or --max-attempts)     OnError
//   kBackoff -> kBegin (same transaction)        the backoff timer: StartAttempt
//   kPause -> kBegin (next transaction)          the pause timer: StartTxn
//   any -> kDone                                 Finish (end of run, or no more work)
//
// A retry begins with BEGIN {ts: the first attempt's ts}, so wound-wait keeps its age and it
// cannot starve (docs/protocol.md, BEGIN; client/client.cc, RunTransaction). Backoffs are
// timers on the loop, never sleeps.
//
// Counting. An attempt ends in a commit (COMMIT answered OK: the only way a commit is
// counted), an abort (counted by reason), or an error (counted by kind, and the transaction is
// given up). Figures count what ends inside the measured window [warm-up end, end); the
// totals count the whole run, warm-up and drain included.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "bench/workloads.h"
#include "common/status.h"

namespace kv2pc::bench {

// Counters and latency samples of a run, or of one part of it.
struct RunStats {
  struct ErrorCount {
    uint64_t count = 0;
    std::string example;  // the first message of this kind
  };

  uint64_t committed = 0;  // transactions whose COMMIT was answered OK
  uint64_t attempts = 0;   // attempts that ended: committed + aborted + ended by an error
  uint64_t aborted = 0;    // attempts ended by ABORTED (or TXN_ALREADY_ABORTED + reason)
  uint64_t errors = 0;     // transactions given up on an error (or after --max-attempts)
  std::array<uint64_t, 16> aborts_by_reason{};  // indexed by AbortReason
  std::map<std::string, ErrorCount> errors_by_kind;
  uint64_t committed_attempts_sum = 0;  // attempts of the committed transactions, summed
  uint64_t committed_attempts_max = 0;
  std::vector<int64_t> txn_ns;             // committed: first BEGIN sent -> COMMIT OK
  std::vector<int64_t> commit_attempt_ns;  // the attempt that committed: its BEGIN -> OK
  std::vector<int64_t> abort_attempt_ns;   // aborted attempts: BEGIN -> the ABORTED reply
  std::vector<int64_t> commit_request_ns;  // committed attempts: COMMIT sent -> OK reply

  // Adds `other` to this (samples appended).
  void Merge(const RunStats& other);
};

struct DriverOptions {
  std::vector<std::string> coordinators;     // endpoints; clients spread over all of them
  size_t clients = 1;                        // logical clients: transactions in flight at once
  size_t threads = 1;                        // worker threads, each with its own sockets
  std::chrono::milliseconds timeout{15000};  // per request
  int max_attempts = 100;                    // per transaction; then it counts as an error
  double warmup_s = 0;                       // excluded from the window
  // Measured seconds after the warm-up. 0: no deadline; the run ends when next_plan has no
  // more work for any client (--load).
  double duration_s = 0;
  uint64_t seed = 1;
  // The next transaction of logical client `client` (its `txn_number`-th), or nullopt when it
  // has no more work. Called from every worker thread at once: must be thread-safe.
  std::function<std::optional<TxnPlan>(size_t client, uint64_t txn_number, Rng* rng)> next_plan;
  // A line per second on stderr: elapsed, TPS, aborts/s, p50/p99 of the last second.
  bool progress = false;
  // Use EXEC (docs/protocol.md 5.6b) instead of BEGIN, GET..., PUT..., COMMIT: the reads in
  // one request, then the writes and the commit in another (one request in all when no write
  // depends on a read).
  bool exec = false;
  std::string label;   // names the run in progress lines ("hot", "load")
  int signal_fd = -1;  // a signalfd (TerminationSignalFd): when readable, the run ends early
};

struct DriverResult {
  RunStats window;           // what ended inside the measured window
  RunStats total;            // counters of the whole run (latency samples left empty)
  double window_s = 0;       // the window's actual length
  double elapsed_s = 0;      // start to the last reply of the drain
  uint64_t unfinished = 0;   // transactions cut off by the end (aborted, not retried)
  bool interrupted = false;  // a signal ended the run early
  double cpu_s = 0;          // CPU time of this process during the run (all threads)
};

// Runs the clients until the window ends (or the plans run out, or a signal arrives), lets
// requests in flight finish, and returns what happened. Internal when a worker cannot set up
// its sockets. Failures of requests are results (errors in RunStats), not a Status.
// `context` must outlive the call.
Result<DriverResult> RunDriver(const DriverOptions& options, zmq::context_t* context);

}  // namespace kv2pc::bench
