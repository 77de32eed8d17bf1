// CoordinatorServer: one coordinator process. Serves clients (BEGIN/GET/PUT/DELETE/COMMIT/
// ABORT), routes each key to its participant through the hash ring, and runs two-phase
// commit, forcing every COMMIT decision to its own log before anyone hears of it.
//
// Design note (docs/architecture.md has the whole story):
//   Threads:  the event loop (all protocol state) and the decision log's flusher. Client
//             requests arrive on a ROUTER; each participant is reached through a DEALER
//             (RpcClient), so any number of transactions are in flight at once.
//   Files in --data-dir: LOCK (flock), incarnation (a counter bumped and fsynced at each
//             start; it makes transaction ids unique across restarts), wal/ (the decision
//             log: DECISION_COMMIT forced, END lazily), outcome-horizon (the forgotten
//             horizon, see below; written durably before trimming drops a decision).
//   Start-up: lock the dir, bump the incarnation, replay the decision log; every COMMIT
//             decision without END is re-sent until all its participants acknowledge, and
//             every COMMIT decision still in the log (ended or not) is loaded into the
//             outcome history, the newest --outcome-history of them kept.
//   Crashes around a trim: the horizon file is written (temp file, fsync, rename, directory
//             fsync) before the first segment goes, so a crash leaves the old horizon with
//             every segment, or the new horizon with some segments: never a decision gone
//             from the log that the horizon does not cover (C5).
//   Outcome history (QUERY_OUTCOME, `kv2pc outcome`): COMMITTED from txns_, finished_ or
//             history_; otherwise UNKNOWN at or below the forgotten horizon, ABORTED above.
//
// Coordinator transaction states:
//
//     BEGIN        COMMIT            all votes YES/READ_ONLY     decision durable
//   -------> ACTIVE -------> PREPARING ---------------------> DECIDING ----------> COMMITTED
//              |                |   (some YES: log DECISION)                 (phase 2: resend
//              |                |                                             DECIDE_COMMIT until
//              | ABORT, op      | a NO, vote timeout,                         all ack, then END)
//              | error, idle    | participant down
//              v                v
//           ABORTED  (presumed abort: nothing logged; DECIDE_ABORT sent, no ack needed)
//
//   Transitions -> functions: ACTIVE->PREPARING StartCommit; PREPARING->DECIDING OnVote;
//   DECIDING->COMMITTED OnDecisionDurable; COMMITTED->(gone) SendCommit's last ack;
//   ->ABORTED Abort.
//
// NOTES (invariants):
//  (C1) nobody (client or participant) hears COMMIT before its DECISION_COMMIT is durable.
//  (C2) COMMIT is decided only when every participant the transaction touched voted YES or
//       READ_ONLY; READ_ONLY ones take no part in phase 2.
//  (C3) a decision is forgotten (END) only after every YES voter acknowledged it.
//  (C4) a transaction without a decision record is aborted (presumed abort): QUERY_OUTCOME
//       answers ABORTED for an id of this coordinator that it does not know and that is
//       above the forgotten horizon (C5), PENDING while the transaction is still running
//       (ACTIVE, voting or logging its decision).
//  (C5) the decision log keeps the DECISION_COMMIT records of the newest --outcome-history
//       committed transactions (history_, ended or not) besides the unfinished ones (C3);
//       every decision trimmed away is at or below the forgotten horizon, which is on disk
//       before the trim (TrimLog). So an unknown id above the horizon never committed.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <zmq.hpp>

#include "common/background_worker.h"
#include "common/config.h"
#include "common/data_dir.h"
#include "common/event_loop.h"
#include "common/failpoint.h"
#include "common/messages.h"
#include "common/partitioner.h"
#include "common/rpc.h"
#include "common/transport.h"
#include "recovery/coordinator_replay.h"
#include "wal/durable_waiters.h"
#include "wal/log.h"

namespace kv2pc::coordinator {

struct CoordinatorOptions {
  std::string node;
  std::string data_dir;
  std::string bind;
  std::chrono::milliseconds op_timeout{10000};        // a READ/WRITE at a participant
  std::chrono::milliseconds vote_timeout{5000};       // PREPARE -> vote
  std::chrono::milliseconds commit_retry{1000};       // resend DECIDE_COMMIT after this
  std::chrono::milliseconds txn_idle_timeout{30000};  // ACTIVE without requests -> abort
  uint64_t wal_segment_size = 16ull << 20;            // as PostgreSQL's default
  // Open transactions (begun, not finished) at most; BEGIN and one-shot operations beyond it
  // are refused with OVERLOADED, so a client that begins in a loop cannot exhaust memory.
  size_t max_open_txns = 100000;
  // COMMIT decisions remembered for QUERY_OUTCOME after their END (C5): the newest this many
  // stay in the decision log and in memory (about 80 bytes each); older ones answer UNKNOWN.
  size_t outcome_history = 100000;
};

class CoordinatorServer {
 public:
  static Result<std::unique_ptr<CoordinatorServer>> Create(const ClusterConfig& config,
                                                           const CoordinatorOptions& options);
  ~CoordinatorServer();
  CoordinatorServer(const CoordinatorServer&) = delete;
  CoordinatorServer& operator=(const CoordinatorServer&) = delete;

  void Run(int signal_fd);
  void Stop() { loop_.Stop(); }

 private:
  // kResolving: a one-phase commit whose vote was lost; its participant is asked what it did.
  enum class State : uint8_t { kActive, kPreparing, kDeciding, kCommitted, kResolving };
  // What a one-shot request (GET/PUT/DELETE without txn) still has to answer.
  struct Txn {
    TxnId id;
    uint64_t ts = 0;  // wound-wait priority (smaller = older), sent with every READ/WRITE
    State state = State::kActive;
    bool one_shot = false;
    // Participant index -> operations sent to it (its "seq" counter).
    std::map<size_t, uint32_t> participants;
    ReplyToPtr client;  // the request being worked on, if any (busy)
    Reply result;       // for one-shot: the operation's answer, sent at commit
    std::set<size_t> votes_pending;
    std::set<size_t> yes_voters;    // phase 2 set (C2)
    std::set<size_t> acks_pending;  // (C3)
    EventLoop::Clock::time_point last_activity{};
    EventLoop::Clock::time_point created_at{};  // BEGIN (or recovery); STATUS shows age
    bool recovered = false;
    Lsn decision_lsn = 0;  // its DECISION_COMMIT record, which the log must keep until END
    // Votes that arrived while coordinator.after_prepare_sent holds them (pause).
    bool holding_votes = false;
    std::vector<std::pair<size_t, Result<Reply>>> held_votes;
    // Participants that were sent a WRITE (or will be, with the PREPARE).
    std::set<size_t> writers;
    // EXEC with commit: writes sent right before the PREPARE, in the same frame (exec.cc).
    std::map<size_t, std::vector<ExecOp>> pipelined;
    // Participants without writes whose PREPARE waits until every writer has voted (exec.cc,
    // "Read-only participants after pipelined writes").
    std::set<size_t> deferred_readers;
    struct Exec {
      std::vector<ExecOp> ops;
      std::vector<ExecResult> results;
      bool commit = false;
      std::map<size_t, std::deque<size_t>> queue;  // participant -> indexes of ops to send
      size_t running = 0;                          // participants whose share is not done
    };
    std::unique_ptr<Exec> exec;  // the EXEC request being worked on, if any
    bool began_by_exec = false;  // the EXEC began it: its reply carries ts
    // One-phase commit: its only participant was sent PREPARE one_phase and decides alone.
    bool one_phase = false;
  };
  struct Finished {
    bool committed;
    AbortReason reason;
    bool one_phase = false;  // committed by one-phase commit: no decision record
  };

  CoordinatorServer(const ClusterConfig& config, const CoordinatorOptions& options);
  Status Start();

  void OnRequests();
  void Dispatch(Message msg, ReplyToPtr to);
  void Send(const ReplyToPtr& to, const Reply& reply);

  void HandleBegin(std::optional<uint64_t> ts, const ReplyToPtr& to);
  // GET, PUT and DELETE: `write` is nullopt for GET; *write is nullopt for DELETE.
  // `for_update`: a GET that takes the X lock.
  void HandleOp(const std::optional<TxnId>& txn, std::string key,
                std::optional<std::optional<std::string>> write, ReplyToPtr to,
                bool for_update = false);
  void HandleCommit(const TxnId& id, ReplyToPtr to);
  // EXEC (exec.cc): the operations, per participant in order and across participants in
  // parallel, then the commit if asked.
  void HandleExec(ExecRequest req, ReplyToPtr to);
  void SendNextExecOp(Txn* t, size_t participant);
  void OnExecOpReply(const TxnId& id, size_t participant, size_t index, Result<Reply> r);
  void ExecOpsDone(Txn* t);
  // A READ/WRITE failed (no answer, or refused): aborts t, answering its client, and returns
  // true; false when r is an OK reply.
  bool AbortIfOpFailed(Txn* t, size_t participant, const Result<Reply>& r);
  // PREPARE (after any pipelined writes) to `participant`, counting its vote in OnVote.
  void SendPrepare(Txn* t, size_t participant, const std::vector<std::string>& names);
  void HandleAbort(const TxnId& id, ReplyToPtr to);
  void HandleQueryOutcome(const QueryOutcomeRequest& req, const ReplyToPtr& to);
  // The vote of a one-phase commit did not come: the client hears OUTCOME_UNKNOWN, and the
  // transaction stays (RESOLVING) until its participant says what it did (ResolveOnePhase).
  void LostOnePhaseVote(Txn* t, AbortReason reason, const std::string& why);
  void ResolveOnePhase(const TxnId& id);
  // QUERY_OUTCOME about an id this coordinator cannot answer alone (it may have been a
  // one-phase commit it has forgotten): asks every participant (one_phase) and answers `to`
  // COMMITTED if one committed it, ABORTED if all say they did not (they then never will),
  // PENDING if one is still committing it, else UNKNOWN.
  void AskParticipantsAbout(const TxnId& id, const ReplyToPtr& to);
  void HandleStatus(const StatusRequest& req, const ReplyToPtr& to);
  // A participant rolled back its part of an ACTIVE transaction (e.g. wounded): abort it
  // everywhere now, answering its pending client request, if any.
  void HandleAbortNotice(const AbortNoticeRequest& req, const ReplyToPtr& to);
  // An operator forced the outcome at a participant (kv2pc resolve): compare it with the
  // decision, now or when the transaction finishes; a contradiction is HEURISTIC_MIXED.
  void HandleHeuristicReport(const HeuristicReportRequest& req, const ReplyToPtr& to);
  // Logs and records (STATUS) that `participant` forced the opposite of the decision.
  void MarkHeuristicMixed(const TxnId& id, const std::string& participant, bool decided_commit);

  // Looks up a transaction a client names; replies with the error and returns nullptr when
  // it is unknown, finished, or busy with another request.
  Txn* ClientTxn(const TxnId& id, const ReplyToPtr& to);
  // Replies OVERLOADED and returns false when --max-open-txns transactions are open.
  bool AdmitNewTxn(const ReplyToPtr& to);
  // A new ACTIVE transaction; `ts` is its wound-wait priority, or nullopt for a fresh one.
  Txn* NewTxn(std::optional<uint64_t> ts);
  void RunOp(Txn* t, std::string key, std::optional<std::optional<std::string>> write,
             bool for_update);
  void OnOpReply(const TxnId& id, size_t participant, Result<Reply> r);
  // A request's operations are done: answer its client with `ok`, or, with `commit` (one-shot
  // operations, EXEC with commit), start the commit and answer with `ok` once it succeeds.
  void AnswerOrCommit(Txn* t, Reply ok, bool commit);
  void StartCommit(Txn* t);
  // Phase 1 (after coordinator.before_prepare_sent): PREPARE to every participant.
  void SendPrepares(const TxnId& id);
  // Counts votes held while coordinator.after_prepare_sent paused.
  void ReleaseVotes(const TxnId& id);
  void OnVote(const TxnId& id, size_t participant, Result<Reply> r);
  // Every vote is in and some are YES: force the COMMIT decision to the log.
  void LogDecision(const TxnId& id);
  void OnDecisionDurable(const TxnId& id, const Status& s);
  // Phase 2: DECIDE_COMMIT to every YES voter (first one, then the rest), then the client.
  void SendCommits(const TxnId& id, const ReplyToPtr& client, const Reply& result);
  void SendCommit(const TxnId& id, size_t participant);
  // Every participant acknowledged: END (not forced) and forget.
  void LogEnd(const TxnId& id);
  // Aborts t: DECIDE_ABORT to every participant it touched (no ack needed: presumed
  // abort), answers its pending client request with `reply`, and forgets it.
  void Abort(Txn* t, Reply reply);
  void Finish(const TxnId& id, Finished f);
  // Every second: aborts idle transactions and trims the decision log.
  void SweepIdle();
  // Removes (on trimmer_) log segments that hold neither an unfinished decision (C3) nor one
  // of the history's (C5), after making the forgotten horizon durable.
  void TrimLog();

  const ClusterConfig config_;
  const CoordinatorOptions options_;
  const NodeInfo* self_ = nullptr;
  uint32_t index_ = 0;        // N of coordinator-N
  uint32_t incarnation_ = 0;  // this run's incarnation
  uint64_t next_seq_ = 1;
  uint64_t last_ts_ = 0;  // last timestamp given out (kept increasing)

  zmq::context_t context_{1};
  zmq::socket_t router_{context_, zmq::socket_type::router};
  ReplySender replies_{&router_};  // batched per peer, flushed at each iteration's end
  EventLoop loop_;
  FailPoints failpoints_{&loop_, "coordinator"};
  RpcClient participants_{&context_, &loop_};
  std::unique_ptr<HashRing> ring_;  // ring index == participants_ peer index
  Notifier log_notifier_;
  std::unique_ptr<wal::Log> log_;
  std::unique_ptr<wal::DurableWaiters> waiters_;  // replies parked until their LSN is durable
  Lsn trimmed_before_ = 0;                        // last trim point handed to trimmer_
  std::unique_ptr<BackgroundWorker> trimmer_;     // directory I/O off the loop
  // The newest --outcome-history COMMIT decisions and the forgotten horizon (C5).
  std::unique_ptr<recovery::OutcomeHistory> history_;
  // What <data-dir>/outcome-horizon holds. Set by Start, then touched only by trimmer_'s
  // thread (TrimLog's tasks), which writes the file.
  bool horizon_file_exists_ = false;
  std::optional<TxnId> horizon_on_disk_;
  std::unique_ptr<DataDirLock> dir_lock_;

  std::unordered_map<TxnId, std::unique_ptr<Txn>, TxnIdHash> txns_;
  std::unordered_map<TxnId, Finished, TxnIdHash> finished_;  // bounded, FIFO
  std::deque<TxnId> finished_order_;
  // The newest one-phase commit dropped from finished_: an id of this run above it that is
  // not in finished_ was not committed by one-phase commit (HandleQueryOutcome).
  std::optional<TxnId> one_phase_forgotten_;
  // False when the environment sets KV2PC_ONE_PHASE=0 (for before/after measurements):
  // single-participant transactions then run two-phase commit too.
  const bool one_phase_enabled_;
  // Heuristic outcomes reported for transactions still open here: participant -> committed.
  std::unordered_map<TxnId, std::map<std::string, bool>, TxnIdHash> heuristics_;
  // The most recent HEURISTIC_MIXED transactions (bounded), shown by STATUS.
  std::deque<TxnStatus> mixed_;
  uint64_t heuristic_mixed_ = 0;

  // Since start, for STATUS.
  const EventLoop::Clock::time_point started_at_ = EventLoop::Now();
  uint64_t committed_ = 0;
  uint64_t one_phase_committed_ = 0;         // of committed_: by one-phase commit
  std::map<AbortReason, uint64_t> aborted_;  // by reason
};

}  // namespace kv2pc::coordinator
