// ParticipantServer: one participant process. Owns a partition of the keys, runs strict 2PL
// over them, votes in two-phase commit and makes its votes and outcomes durable in its WAL.
//
// Code: participant_server.cc (requests, 2PC, durability) and in_doubt.cc (outcome queries,
// cooperative termination, IN_DOUBT and RESOLVE: docs/recovery.md).
//
// Design note (docs/architecture.md has the whole story):
//   Threads:  the event loop (everything below), the WAL's flusher (fdatasync), and the
//             checkpointer (SQLite). The loop never waits for the disk: it appends a record,
//             parks the reply until the flusher reports the LSN durable (group commit).
//   Files in --data-dir: LOCK (flock: one process per data dir), wal/ (segments),
//             data.sqlite (checkpointed committed data).
//   Start-up: lock the dir, load data.sqlite, replay the WAL (recovery/participant_replay),
//             re-take the X locks of every PREPARED transaction without an outcome (in doubt),
//             then bind and serve; in-doubt transactions are resolved by asking their
//             coordinator (QUERY_OUTCOME, with backoff) or by its DECIDE_COMMIT/ABORT, and
//             while it cannot be reached, by asking their fellow participants (cooperative
//             termination, below).
//   Cooperative termination: a PREPARED transaction whose coordinator cannot be asked asks
//             the other participants its PREPARE named (QUERY_OUTCOME, one round at a time).
//             One that committed it or aborted it knows the decision (an abort before its own
//             vote is a decision too: the coordinator cannot commit without that vote); one
//             that is still ACTIVE aborts its part first (it has not voted, so it may) and
//             answers ABORTED. One in doubt too, or that does not know the transaction, cannot
//             help: then the transaction stays in doubt (undecided_why says why) until a later
//             round or the coordinator decides. The answers are in HandleQueryOutcome.
//
// NOTES (invariants):
//  (I1) a YES vote leaves only after the transaction's PREPARE record is durable.
//  (I2) a PREPARED transaction is committed or aborted only on the coordinator's decision:
//       heard from the coordinator, or from a fellow participant that committed or aborted
//       the transaction (which it could only do on that decision, or before voting).
//  (I3) the X locks of a PREPARED transaction are held across restarts until it is decided.
//  (I4) a DECIDE_COMMIT is acknowledged only after its COMMIT record is durable (so the
//       coordinator may forget its decision once every participant has acknowledged).
//  (I5) a checkpoint contains only commits whose COMMIT record is durable, and records the
//       highest such LSN with the data in one SQLite transaction.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <zmq.hpp>

#include "common/config.h"
#include "common/data_dir.h"
#include "common/event_loop.h"
#include "common/failpoint.h"
#include "common/messages.h"
#include "common/partitioner.h"
#include "common/rpc.h"
#include "participant/checkpointer.h"
#include "participant/lock_manager.h"
#include "participant/one_phase_memory.h"
#include "participant/sqlite_store.h"
#include "participant/transaction.h"
#include "wal/durable_waiters.h"
#include "wal/log.h"

namespace kv2pc::participant {

struct ParticipantOptions {
  std::string node;      // this node's name in the cluster layout
  std::string data_dir;  // created if missing
  std::string bind;      // endpoint to bind; empty = the node's endpoint in the layout
  std::chrono::milliseconds lock_timeout{5000};
  std::chrono::milliseconds checkpoint_interval{1000};
  // An undecided PREPARED transaction asks its coordinator this often; while the coordinator
  // cannot be reached, the delay doubles per transaction up to outcome_query_max_interval
  // (and is back to outcome_query_interval once it answers).
  std::chrono::milliseconds outcome_query_interval{1000};
  std::chrono::milliseconds outcome_query_max_interval{10000};
  // How long a QUERY_OUTCOME (and an ABORT_NOTICE or HEURISTIC_REPORT) waits for its answer
  // before the node asked counts as unreachable.
  std::chrono::milliseconds outcome_query_timeout{2000};
  // An ACTIVE transaction idle this long is aborted unless its coordinator says it still
  // runs it (a backstop for a coordinator that crashed or lost a DECIDE_ABORT).
  std::chrono::milliseconds txn_idle_timeout{30000};
  uint64_t wal_segment_size = 16ull << 20;  // as PostgreSQL's default
};

class ParticipantServer {
 public:
  // Recovers from --data-dir and binds. Returns Unavailable when the port is taken,
  // Corruption when the log is damaged before its tail, IOError for file problems.
  static Result<std::unique_ptr<ParticipantServer>> Create(const ClusterConfig& config,
                                                           const ParticipantOptions& options);
  ~ParticipantServer();
  ParticipantServer(const ParticipantServer&) = delete;
  ParticipantServer& operator=(const ParticipantServer&) = delete;

  // Serves until Stop() (thread-safe) or a termination signal delivered to `signal_fd` (if
  // >= 0, a signalfd the caller set up).
  void Run(int signal_fd);
  void Stop() { loop_.Stop(); }

 private:
  ParticipantServer(const ClusterConfig& config, const ParticipantOptions& options);
  Status Recover();
  Status Listen();

  // Request dispatch.
  void OnRequests();
  void Dispatch(Message msg, ReplyToPtr to);
  void HandleRead(const ReadRequest& req, ReplyToPtr to);
  void HandleWrite(WriteRequest req, ReplyToPtr to);
  void HandlePrepare(const PrepareRequest& req, ReplyToPtr to);
  void HandleDecideCommit(const DecideCommitRequest& req, ReplyToPtr to);
  void HandleDecideAbort(const DecideAbortRequest& req, ReplyToPtr to);
  void HandleStatus(const StatusRequest& req, ReplyToPtr to);
  void HandleInDoubt(const InDoubtRequest& req, const ReplyToPtr& to);
  // A heuristic decision forced by an operator (kv2pc resolve --force): logged loudly, made
  // durable, and reported to the coordinator (HEURISTIC_REPORT) until it acknowledges.
  void HandleResolve(const ResolveRequest& req, const ReplyToPtr& to);
  // QUERY_OUTCOME with one_phase, from a coordinator that lost the vote of a one-phase commit
  // (or asks about an id of an earlier run of its own): did this participant commit it by
  // one-phase commit? An ACTIVE transaction is aborted first, so the answer stays true.
  void HandleOnePhaseQuery(const QueryOutcomeRequest& req, const ReplyToPtr& to);
  // QUERY_OUTCOME from a fellow participant in doubt (cooperative termination): COMMITTED or
  // ABORTED if this participant committed or aborted the transaction (aborting it first if it
  // is still ACTIVE here), PENDING if it is PREPARING or PREPARED here, UNKNOWN if it cannot
  // tell (see the definition for why an unknown id is not ABORTED).
  void HandleQueryOutcome(const QueryOutcomeRequest& req, const ReplyToPtr& to);
  void SendHeuristicReport(const TxnId& id, bool committed);
  void Send(const ReplyToPtr& to, const Reply& reply);

  // Transaction steps.
  // Returns the ACTIVE transaction for an operation with sequence number `seq`, creating it
  // when seq == 0; nullptr after replying with the reason it cannot proceed.
  Transaction* ActiveTxnFor(const TxnId& id, uint32_t seq, uint64_t ts, const ReplyToPtr& to);
  // Answers a READ from the committed data. REQUIRES: the S (or X) lock on key is held.
  void ReadLocked(const std::string& key, const ReplyToPtr& to);
  // Takes `mode` on `key` for t, then runs proceed(to): now, or when the lock is granted.
  // When it must wait, wound-wait first aborts ("wounds") the younger ACTIVE holders in its
  // way, telling their coordinators (ABORT_NOTICE) when no request of theirs is parked here.
  void LockThen(Transaction* t, const std::string& key, LockMode mode, ReplyToPtr to,
                std::function<void(const ReplyToPtr&)> proceed);
  void ParkOnLock(Transaction* t, const std::string& key, ReplyToPtr to);
  // Runs the requests that waited behind a parked operation of `id`, until one parks again.
  void RunQueued(const TxnId& id);
  // Logs PREPARE for an ACTIVE transaction with writes (after participant.before_prepare_logged)
  // and answers `to` with the vote once it is durable. With `one_phase` (a PREPARE with
  // one_phase: this participant is the transaction's only one; after
  // participant.before_one_phase_logged) the record is ONE_PHASE_COMMIT, which commits it, and
  // the vote COMMITTED (OnOnePhaseDurable). NO if the record cannot be appended.
  void LogPrepare(const TxnId& id, ReplyToPtr to, bool one_phase);
  // After a fail point held the way to a vote: the transaction if it is still ACTIVE, else
  // nullptr after voting NO on `to` (it was rolled back meanwhile: wounded, timed out, aborted).
  Transaction* ActiveAfterHold(const TxnId& id, const ReplyToPtr& to);
  // A fail point's `error` on the way to a vote: rolls the transaction back and votes NO.
  void FailPointVotesNo(const TxnId& id, const ReplyToPtr& to, const std::string& point);
  void OnPrepareDurable(const TxnId& id, const Status& s);
  // Applies the writes, releases the locks, remembers the id (one_phase_memory_, and SQLite
  // with the next checkpoint), then participant.after_one_phase_logged and the vote.
  void OnOnePhaseDurable(const TxnId& id, const Status& s);
  // Every vote leaves through here (participant.before_vote_sent).
  void SendVote(const ReplyToPtr& to, const Reply& vote);
  // The decision COMMIT for a PREPARED transaction (from DECIDE_COMMIT, an outcome answer or a
  // fellow participant): participant.before_commit_logged, then CommitPrepared. `ack_to` (may
  // be null) hears the acknowledgement.
  void DecideCommit(const TxnId& id, ReplyToPtr ack_to);
  // The decision ABORT for a PREPARED transaction: participant.before_abort_logged, then
  // AbortTxn; `ack_to` (may be null) hears OK.
  void DecideAbort(const TxnId& id, ReplyToPtr ack_to, const std::string& why);
  void CommitPrepared(Transaction* t, const ReplyToPtr& ack_to);
  // Rolls back `t` (any state but COMMITTED), logging ABORT if it had prepared, answering
  // parked requests, releasing locks, and forgetting it. `why` goes to parked requests.
  // `logged` (if not null) receives the failure to append the ABORT record, if any.
  void AbortTxn(Transaction* t, AbortReason reason, const std::string& why,
                Status* logged = nullptr);
  // Remembers that `id` finished (bounded memory), and why it aborted (kNone: no reason to
  // pass on, e.g. the coordinator's own DECIDE_ABORT). `read_only`: it voted READ_ONLY, so
  // `committed` says only that it is done here, not what was decided.
  void Forget(const TxnId& id, bool committed, AbortReason reason, bool read_only = false);

  // Durability plumbing.
  // Hands dirty_ to the checkpointer with the lowest PREPARE LSN the log must keep.
  void SubmitCheckpoint();
  void ScheduleCheckpoint();
  // Periodic (every outcome_query_interval): asks the coordinator about PREPARED
  // transactions that have waited for a decision (in doubt after a restart, or a lost
  // decision message) and are not backing off (next_query_at), and about ACTIVE ones idle
  // longer than txn_idle_timeout (aborted unless the coordinator still runs them).
  void Sweep();
  // Starts a round of questions about `id` (asking_outcome until it ends): its coordinator,
  // then, for a PREPARED transaction the coordinator cannot answer, its fellow participants.
  void QueryOutcome(const TxnId& id);
  // Tells id's coordinator that this participant rolled back its part (ABORT_NOTICE).
  void NoticeAbort(const TxnId& id, AbortReason reason, const std::string& why);
  // Acts on the coordinator's answer (or on the failure to get one).
  void OnOutcome(const TxnId& id, const std::string& coordinator, Result<Reply> r);
  // The coordinator could not be asked (or did not know): doubles the delay before t's next
  // query, up to outcome_query_max_interval.
  void BackOffOutcomeQueries(Transaction* t);
  // Asks every other participant t's PREPARE named (QUERY_OUTCOME). The first COMMITTED or
  // ABORTED answer decides; if none comes, undecided_why gets `coordinator_account` and each
  // answer. REQUIRES: t is PREPARED.
  void AskFellowParticipants(Transaction* t, const std::string& coordinator_account);
  struct FellowRound;  // one round of questions to the fellow participants
  void OnFellowOutcome(const TxnId& id, const std::shared_ptr<FellowRound>& round, size_t i,
                       Result<Reply> r);
  // Sets t->undecided_why, logging it when it changed.
  void SetUndecidedWhy(Transaction* t, std::string why);

  const ClusterConfig config_;
  const ParticipantOptions options_;
  const NodeInfo* self_ = nullptr;

  zmq::context_t context_{1};
  zmq::socket_t router_{context_, zmq::socket_type::router};
  ReplySender replies_{&router_};  // batched per peer, flushed at each iteration's end
  EventLoop loop_;
  FailPoints failpoints_{&loop_, "participant"};
  RpcClient coordinators_{&context_, &loop_};
  std::unordered_map<uint32_t, size_t> coordinator_peer_;  // coordinator index -> rpc peer
  // The other participants of the layout, asked while in doubt (cooperative termination).
  RpcClient fellows_{&context_, &loop_};
  std::unordered_map<std::string, size_t> fellow_peer_;  // participant name -> rpc peer
  Notifier log_notifier_;
  std::unique_ptr<DataDirLock> dir_lock_;

  std::unique_ptr<wal::Log> log_;
  std::unique_ptr<wal::DurableWaiters> waiters_;  // replies parked until their LSN is durable
  std::unique_ptr<Checkpointer> checkpointer_;
  LockManager locks_;

  // Committed data (every committed write is applied here before the lock is released).
  std::unordered_map<std::string, std::string> data_;
  std::unordered_map<TxnId, std::unique_ptr<Transaction>, TxnIdHash> txns_;
  // Recently finished transactions and whether they committed, so repeats get a clear answer.
  // Bounded (FIFO eviction): a forgotten id is answered as unknown.
  struct Finished {
    bool committed;
    AbortReason reason;  // why it aborted here, passed on to later requests
    bool read_only;      // voted READ_ONLY: "committed" here, whatever the others decided
  };
  std::unordered_map<TxnId, Finished, TxnIdHash> finished_;
  std::deque<TxnId> finished_order_;
  // Outcomes forced by an operator (RESOLVE): id -> committed. Answers a contradicting decision
  // with HEURISTIC_MIXED. Bounded (FIFO); reports_pending_ are not yet acknowledged.
  std::unordered_map<TxnId, bool, TxnIdHash> heuristic_;
  std::deque<TxnId> heuristic_order_;
  std::unordered_map<TxnId, bool, TxnIdHash> reports_pending_;
  std::unordered_set<TxnId, TxnIdHash> reports_in_flight_;
  // Committed writes whose COMMIT is durable, not yet handed to the checkpointer (I5).
  std::vector<wal::WriteOp> dirty_;
  Lsn dirty_lsn_ = 0;
  // One-phase commits among them: their ids go to SQLite with the same checkpoint.
  std::vector<TxnId> dirty_one_phase_;
  // Transactions committed here by one-phase commit: the newest kOnePhaseMemory of them, as
  // in SQLite (plus those only in the WAL so far), and the horizon of those forgotten.
  OnePhaseMemory one_phase_memory_{kOnePhaseMemory};

  // Since start, for STATUS.
  const EventLoop::Clock::time_point started_at_ = EventLoop::Now();
  uint64_t committed_ = 0;                   // transactions committed here (COMMIT logged)
  uint64_t read_only_ = 0;                   // transactions that voted READ_ONLY
  uint64_t one_phase_ = 0;                   // of committed_: by one-phase commit
  std::map<AbortReason, uint64_t> aborted_;  // transactions rolled back here, by reason
};

}  // namespace kv2pc::participant
