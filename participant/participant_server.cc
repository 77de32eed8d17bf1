// Participant event loop and 2PC state machine. See participant_server.h and transaction.h.
#include "participant/participant_server.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>
#include <tuple>

#include "common/codec.h"
#include "common/logging.h"
#include "common/transport.h"
#include "recovery/participant_replay.h"
#include "wal/record.h"

namespace kv2pc::participant {

namespace {
constexpr size_t kFinishedMemory = 100000;  // finished txn ids remembered for clear answers
constexpr size_t kCheckpointBatch = 4096;   // hand dirty writes over at least this often

// False when the environment sets KV2PC_READ_ONLY_VOTE=0 (for before/after measurements only):
// a participant without writes then votes YES after forcing an empty PREPARE, and takes part
// in phase 2 like any other, as plain two-phase commit would have it.
bool ReadOnlyVoteEnabled() {
  static const bool enabled = [] {
    const char* v = getenv("KV2PC_READ_ONLY_VOTE");
    return v == nullptr || std::string_view(v) != "0";
  }();
  return enabled;
}
// A transaction's writes at one participant must fit one PREPARE record (wal::kMaxPayloadSize),
// with room for the record's own framing.
constexpr size_t kMaxTxnWriteBytes = wal::kMaxPayloadSize - 64 * 1024;
// Bytes one write takes in a PREPARE record, counted generously (msgpack headers).
size_t WriteBytes(const std::string& key, const std::optional<std::string>& value) {
  return key.size() + (value ? value->size() : 0) + 16;
}

Reply OkReply() { return Reply{}; }
}  // namespace

const char* TxnStateName(TxnState s) {
  switch (s) {
    case TxnState::kActive:
      return "ACTIVE";
    case TxnState::kPreparing:
      return "PREPARING";
    case TxnState::kPrepared:
      return "PREPARED";
    case TxnState::kCommitted:
      return "COMMITTED";
    case TxnState::kAborted:
      return "ABORTED";
  }
  return "?";
}

ParticipantServer::ParticipantServer(const ClusterConfig& config, const ParticipantOptions& options)
    : config_(config), options_(options) {}

ParticipantServer::~ParticipantServer() {
  // Order: the checkpointer first writes what it was given (it trims the log, so the log
  // must outlive it); then the WAL flushes what was appended. Parked replies are dropped:
  // their peers time out and ask again.
  checkpointer_.reset();
  waiters_.reset();
  log_.reset();
}

Result<std::unique_ptr<ParticipantServer>> ParticipantServer::Create(
    const ClusterConfig& config, const ParticipantOptions& options) {
  std::unique_ptr<ParticipantServer> s(new ParticipantServer(config, options));
  s->self_ = s->config_.Find(options.node);
  if (s->self_ == nullptr || s->self_->role != Role::kParticipant) {
    return Status::InvalidArgument("'" + options.node +
                                   "' is not a participant in the cluster layout");
  }
  KV2PC_RETURN_IF_ERROR(s->Recover());
  KV2PC_RETURN_IF_ERROR(s->Listen());
  return s;
}

Status ParticipantServer::Recover() {
  KV2PC_RETURN_IF_ERROR(ConfigureFromEnvironment(&failpoints_));
  KV2PC_ASSIGN_OR_RETURN(dir_lock_, DataDirLock::Acquire(options_.data_dir));

  // 1. The checkpoint.
  KV2PC_ASSIGN_OR_RETURN(auto store, SqliteStore::Open(options_.data_dir + "/data.sqlite"));
  // Sizing the table first saves rehashing it ~20 times while a million keys load.
  KV2PC_ASSIGN_OR_RETURN(uint64_t rows, store->Count());
  data_.reserve(rows);
  KV2PC_RETURN_IF_ERROR(store->LoadAll([this](std::string_view k, std::string_view v) {
    data_.emplace(std::string(k), std::string(v));
  }));
  Lsn applied = store->applied_lsn();
  size_t loaded = data_.size();
  // What it committed by one-phase commit (oldest first) and the horizon of what it forgot:
  // the answers to a coordinator's QUERY_OUTCOME one_phase.
  KV2PC_RETURN_IF_ERROR(
      store->LoadOnePhase([this](const TxnId& id) { one_phase_memory_.Add(id); }));
  KV2PC_ASSIGN_OR_RETURN(auto horizons, store->LoadOnePhaseHorizons());
  for (const auto& [coordinator, horizon] : horizons) {
    one_phase_memory_.SetHorizon(coordinator, horizon);
  }

  // 2. The WAL on top of it.
  recovery::ParticipantReplay replay(applied);
  wal::LogOptions lo;
  lo.dir = options_.data_dir + "/wal";
  lo.segment_size = options_.wal_segment_size;
  lo.on_durable = [this] { log_notifier_.Notify(); };
  auto log = wal::Log::Open(lo, [&replay](const wal::RecordView& r) { return replay.Visit(r); });
  if (!log.ok()) return log.status().WithContext("recovering " + lo.dir);
  log_ = std::move(log).value();
  waiters_ = std::make_unique<wal::DurableWaiters>(log_.get());
  for (const auto& commit : replay.commits_to_apply()) {
    for (const auto& w : commit.writes) {
      if (w.value) {
        data_[w.key] = *w.value;
      } else {
        data_.erase(w.key);
      }
    }
    // Re-checkpoint what the WAL had beyond the checkpoint (I5: these are durable).
    dirty_.insert(dirty_.end(), commit.writes.begin(), commit.writes.end());
    dirty_lsn_ = std::max(dirty_lsn_, commit.lsn);
  }
  for (const auto& [id, committed] : replay.finished()) {
    Forget(id, committed, AbortReason::kNone);
  }
  // One-phase commits the WAL holds: those above the checkpoint are not in SQLite yet, and
  // go there with the next checkpoint (a repeat of one already there is ignored).
  for (const TxnId& id : replay.one_phase()) {
    one_phase_memory_.Add(id);
    dirty_one_phase_.push_back(id);
  }

  // 3. In-doubt transactions get their X locks back before anything is served (I3).
  for (const auto& p : replay.in_doubt()) {
    auto t = std::make_unique<Transaction>();
    t->id = p.txn;
    t->state = TxnState::kPrepared;
    t->recovered = true;
    t->prepare_lsn = p.lsn;
    t->participants = p.participants;
    t->prepared_at = EventLoop::Now();
    t->created_at = t->prepared_at;
    for (const auto& w : p.writes) {
      t->writes[w.key] = w.value;
      // Priority 0 (the PREPARE record does not keep the timestamp): an in-doubt transaction
      // counts as the oldest. Being PREPARED it cannot be wounded anyway; requests for its
      // keys wait for its decision, at most --lock-timeout-ms (then LOCK_TIMEOUT, retried).
      std::vector<TxnId> wound;
      auto r = locks_.Acquire(t->id, 0, w.key, LockMode::kExclusive, nullptr, &wound);
      KV2PC_CHECK(r == LockManager::Acquired::kGranted, "in-doubt locks cannot conflict");
    }
    std::string fellows;
    for (const std::string& name : p.participants) {
      if (name != self_->name) fellows += (fellows.empty() ? "" : ", ") + name;
    }
    spdlog::warn(
        "{} is in doubt: PREPARED at LSN {} with {} write(s), no outcome logged; "
        "asking {}{}",
        p.txn.ToString(), p.lsn, p.writes.size(), CoordinatorName(p.txn.coordinator),
        fellows.empty() ? " (no fellow participant listed to ask while it is unreachable)"
                        : ", or while it is unreachable " + fellows);
    txns_.emplace(p.txn, std::move(t));
  }
  checkpointer_ = std::make_unique<Checkpointer>(std::move(store), log_.get());
  spdlog::info(
      "recovered: {} keys from the checkpoint (applied LSN {}), {} commit(s) replayed "
      "from the WAL, {} transaction(s) in doubt, log ends at LSN {}",
      loaded, applied, replay.commits_to_apply().size(), replay.in_doubt().size(),
      log_->last_lsn());
  return Status::OK();
}

Status ParticipantServer::Listen() {
  ConfigureSocket(router_);
  std::string endpoint = options_.bind.empty() ? self_->endpoint : options_.bind;
  KV2PC_RETURN_IF_ERROR(Bind(router_, endpoint));
  for (const NodeInfo* c : config_.coordinators()) {
    KV2PC_ASSIGN_OR_RETURN(size_t peer, coordinators_.AddPeer(c->name, c->endpoint));
    coordinator_peer_[static_cast<uint32_t>(ClusterConfig::CoordinatorIndex(c->name))] = peer;
  }
  for (const NodeInfo* p : config_.participants()) {
    if (p == self_) continue;
    KV2PC_ASSIGN_OR_RETURN(size_t peer, fellows_.AddPeer(p->name, p->endpoint));
    fellow_peer_[p->name] = peer;
  }
  loop_.AddSocket(&router_, [this] { OnRequests(); });
  loop_.AddIterationEndHook([this] {
    replies_.Flush();
    if (replies_.TakeSent()) loop_.RecheckSocket(&router_);
  });
  loop_.AddFd(log_notifier_.fd(), [this] {
    log_notifier_.Drain();
    Status failure = waiters_->Poll();
    if (!failure.ok()) {  // parked requests have been answered with the failure
      replies_.Flush();
      FlushRepliesBeforeExit(router_);
      FailStop("the WAL failed: " + failure.ToString());
    }
  });
  spdlog::info("{} listening on {}", self_->name, endpoint);
  return Status::OK();
}

void ParticipantServer::Run(int signal_fd) {
  if (signal_fd >= 0) loop_.StopOnSignal(signal_fd);
  ScheduleCheckpoint();
  Sweep();
  loop_.Run();
  spdlog::info("{} stopped", self_->name);
}

// ---- Requests ----

void ParticipantServer::OnRequests() {
  ServeRequests(
      router_, 1024,
      [this](Message msg, ReplyToPtr to) { Dispatch(std::move(msg), std::move(to)); }, &replies_);
}

void ParticipantServer::Dispatch(Message msg, ReplyToPtr to) {
  std::visit(
      [&](auto&& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, ReadRequest> || std::is_same_v<T, WriteRequest> ||
                      std::is_same_v<T, PrepareRequest>) {
          // A coordinator may send the next operations of a transaction (and its PREPARE)
          // before this one's answer, e.g. pipelined writes (coordinator/exec.cc). While an
          // operation of the transaction waits for a lock, they wait behind it, in order.
          if (auto it = txns_.find(body.txn);
              it != txns_.end() && it->second->waiting_op != nullptr) {
            it->second->queued.push_back([this, b = std::move(body), to = std::move(to)]() mutable {
              Dispatch(Message{0, std::move(b)}, std::move(to));
            });
            return;
          }
          if constexpr (std::is_same_v<T, ReadRequest>) {
            HandleRead(body, std::move(to));
          } else if constexpr (std::is_same_v<T, WriteRequest>) {
            HandleWrite(std::move(body), std::move(to));
          } else {
            HandlePrepare(body, std::move(to));
          }
        } else if constexpr (std::is_same_v<T, DecideCommitRequest>) {
          HandleDecideCommit(body, std::move(to));
        } else if constexpr (std::is_same_v<T, DecideAbortRequest>) {
          HandleDecideAbort(body, std::move(to));
        } else if constexpr (std::is_same_v<T, PingRequest>) {
          Reply r;
          r.node = self_->name;
          r.role = "participant";
          Send(to, r);
        } else if constexpr (std::is_same_v<T, StatusRequest>) {
          HandleStatus(body, std::move(to));
        } else if constexpr (std::is_same_v<T, FailPointRequest>) {
          Send(to, ServeFailPointRequest(&failpoints_, body));
        } else if constexpr (std::is_same_v<T, InDoubtRequest>) {
          HandleInDoubt(body, to);
        } else if constexpr (std::is_same_v<T, ResolveRequest>) {
          HandleResolve(body, to);
        } else if constexpr (std::is_same_v<T, QueryOutcomeRequest>) {
          if (body.one_phase) {
            HandleOnePhaseQuery(body, to);
          } else {
            HandleQueryOutcome(body, to);
          }
        } else {
          Send(to, Reply::Error(ErrorCode::kMalformedRequest,
                                std::string(MsgTypeName(msg.type())) +
                                    " is not a request a participant serves"));
        }
      },
      std::move(msg.body));
}

void ParticipantServer::Send(const ReplyToPtr& to, const Reply& reply) {
  replies_.Send(*to, reply);
}

Transaction* ParticipantServer::ActiveTxnFor(const TxnId& id, uint32_t seq, uint64_t ts,
                                             const ReplyToPtr& to) {
  auto it = txns_.find(id);
  if (it == txns_.end()) {
    if (auto f = finished_.find(id); f != finished_.end()) {
      if (f->second.committed) {
        Send(to, Reply::Error(ErrorCode::kTxnAlreadyCommitted,
                              id.ToString() + " has already committed"));
      } else {
        // E.g. wounded while its client was busy elsewhere: say why, so it can retry.
        Reply r = Reply::Error(ErrorCode::kTxnAlreadyAborted,
                               id.ToString() + " has already aborted at " + self_->name);
        r.reason = f->second.reason;
        Send(to, r);
      }
      return nullptr;
    }
    if (seq != 0) {
      // Earlier operations of this transaction were lost: we restarted since.
      Send(to, Reply::AbortedBecause(
                   AbortReason::kParticipantRestarted,
                   self_->name + " restarted and lost the earlier work of " + id.ToString()));
      Forget(id, false, AbortReason::kParticipantRestarted);
      return nullptr;
    }
    auto t = std::make_unique<Transaction>();
    t->id = id;
    t->ts = ts;
    t->created_at = EventLoop::Now();
    it = txns_.emplace(id, std::move(t)).first;
  }
  Transaction* t = it->second.get();
  if (t->state != TxnState::kActive) {
    Send(to, Reply::Error(ErrorCode::kTxnBusy, id.ToString() + " is " + TxnStateName(t->state) +
                                                   " and takes no more reads or writes"));
    return nullptr;
  }
  if (t->waiting_op != nullptr) {
    Send(to, Reply::Error(ErrorCode::kTxnBusy, id.ToString() + " is waiting for a lock"));
    return nullptr;
  }
  if (seq != t->ops) {
    std::string why = "operation " + std::to_string(seq) + " of " + id.ToString() +
                      " arrived but " + self_->name + " has seen " + std::to_string(t->ops);
    AbortTxn(t, AbortReason::kParticipantRestarted, why);  // t is gone
    Send(to, Reply::AbortedBecause(AbortReason::kParticipantRestarted, why));
    return nullptr;
  }
  t->ops++;
  t->last_activity = EventLoop::Now();
  return t;
}

void ParticipantServer::HandleRead(const ReadRequest& req, ReplyToPtr to) {
  if (req.key.size() > kMaxKeySize) {
    Send(to, Reply::Error(ErrorCode::kKeyTooLarge,
                          "key is " + std::to_string(req.key.size()) + " bytes; the limit is 256"));
    return;
  }
  Transaction* t = ActiveTxnFor(req.txn, req.seq, req.ts, to);
  if (t == nullptr) return;
  if (auto w = t->writes.find(req.key); w != t->writes.end()) {
    Reply r;  // read your own write (its X lock is held)
    r.found = w->second.has_value();
    r.value = w->second;
    Send(to, r);
    return;
  }
  std::string key = req.key;
  LockThen(t, key, req.for_update ? LockMode::kExclusive : LockMode::kShared, std::move(to),
           [this, key](const ReplyToPtr& reply_to) { ReadLocked(key, reply_to); });
}

void ParticipantServer::ReadLocked(const std::string& key, const ReplyToPtr& to) {
  Reply r;
  r.found = false;
  if (auto it = data_.find(key); it != data_.end()) {
    r.found = true;
    r.value = it->second;
  }
  Send(to, r);
}

void ParticipantServer::HandleWrite(WriteRequest req, ReplyToPtr to) {
  if (req.key.size() > kMaxKeySize) {
    Send(to, Reply::Error(ErrorCode::kKeyTooLarge,
                          "key is " + std::to_string(req.key.size()) + " bytes; the limit is 256"));
    return;
  }
  if (req.value && req.value->size() > kMaxValueSize) {
    Send(to,
         Reply::Error(ErrorCode::kValueTooLarge, "value is " + std::to_string(req.value->size()) +
                                                     " bytes; the limit is 1048576"));
    return;
  }
  Transaction* t = ActiveTxnFor(req.txn, req.seq, req.ts, to);
  if (t == nullptr) return;
  TxnId id = t->id;
  auto key = std::make_shared<std::string>(std::move(req.key));
  auto value = std::make_shared<std::optional<std::string>>(std::move(req.value));
  auto apply = [this, id, key, value](const ReplyToPtr& reply_to) {
    auto it = txns_.find(id);
    if (it == txns_.end()) return;
    Transaction* tx = it->second.get();
    // The whole write set must fit in one PREPARE record; refuse it now, before memory grows
    // without bound, rather than at PREPARE.
    auto old = tx->writes.find(*key);
    size_t before = old == tx->writes.end() ? 0 : WriteBytes(old->first, old->second);
    size_t after = tx->write_bytes - before + WriteBytes(*key, *value);
    if (after > kMaxTxnWriteBytes) {
      std::string why = id.ToString() + "'s writes at " + self_->name + " would take " +
                        std::to_string(after) + " bytes; one participant's share of a " +
                        "transaction is limited to " + std::to_string(kMaxTxnWriteBytes);
      AbortTxn(tx, AbortReason::kOperationFailed, why);
      Send(reply_to, Reply::AbortedBecause(AbortReason::kOperationFailed, why));
      return;
    }
    tx->write_bytes = after;
    tx->writes[*key] = std::move(*value);
    Send(reply_to, OkReply());
  };
  LockThen(t, *key, LockMode::kExclusive, std::move(to), apply);
}

void ParticipantServer::LockThen(Transaction* t, const std::string& key, LockMode mode,
                                 ReplyToPtr to, std::function<void(const ReplyToPtr&)> proceed) {
  const TxnId id = t->id;
  std::vector<TxnId> wound;
  auto acquired = locks_.Acquire(
      id, t->ts, key, mode,
      [this, id, to, proceed](const Status& s) {
        auto it = txns_.find(id);
        if (it == txns_.end()) return;
        if (!s.ok()) {  // (not produced by wound-wait today) AbortTxn answers the parked op
          AbortTxn(it->second.get(), AbortReason::kLockTimeout, s.message());
          return;
        }
        loop_.Cancel(it->second->lock_timer);
        it->second->waiting_op.reset();
        proceed(to);
        RunQueued(id);
      },
      &wound);
  if (acquired == LockManager::Acquired::kGranted) {
    proceed(to);
    return;
  }
  // Park first: wounding below may release the lock and grant this request at once.
  ParkOnLock(t, key, std::move(to));
  for (const TxnId& victim_id : wound) {
    auto v = txns_.find(victim_id);
    if (v == txns_.end()) continue;
    Transaction* victim = v->second.get();
    // A transaction that has voted cannot be rolled back here (I2): wait for its decision.
    if (victim->state != TxnState::kActive) continue;
    const std::string why = "wound-wait: " + victim_id.ToString() + " was wounded by the older " +
                            id.ToString() + ", which wants key '" + PrintableBytes(key, 40) +
                            "' at " + self_->name + "; retry it";
    // With a request parked here, its ABORTED answer tells the coordinator; otherwise the
    // victim may be busy (or waiting for a lock) at another participant: tell its coordinator.
    const bool tell_coordinator = victim->waiting_op == nullptr;
    AbortTxn(victim, AbortReason::kDeadlockAvoidance, why);
    if (tell_coordinator) NoticeAbort(victim_id, AbortReason::kDeadlockAvoidance, why);
  }
}

void ParticipantServer::ParkOnLock(Transaction* t, const std::string& key, ReplyToPtr to) {
  t->waiting_op = std::move(to);
  TxnId id = t->id;
  std::string shown = PrintableBytes(key, 40);
  t->lock_timer = loop_.RunAfter(options_.lock_timeout, [this, id, shown] {
    auto it = txns_.find(id);
    if (it == txns_.end() || it->second->waiting_op == nullptr) return;
    AbortTxn(it->second.get(), AbortReason::kLockTimeout,
             "lock wait on key '" + shown + "' at " + self_->name + " timed out after " +
                 std::to_string(options_.lock_timeout.count()) + " ms");
  });
}

void ParticipantServer::HandlePrepare(const PrepareRequest& req, ReplyToPtr to) {
  auto it = txns_.find(req.txn);
  if (it == txns_.end()) {
    Reply r;
    auto f = finished_.find(req.txn);
    if (f != finished_.end() && f->second.committed) {
      // A repeat after the commit: harmless.
      r.vote = req.one_phase && !f->second.read_only ? Vote::kCommitted : Vote::kYes;
    } else {
      r.vote = Vote::kNo;
      if (f != finished_.end()) r.reason = f->second.reason;  // e.g. DEADLOCK_AVOIDANCE
      r.error = f != finished_.end() ? req.txn.ToString() + " has aborted here"
                                     : self_->name + " does not know " + req.txn.ToString() +
                                           " (it restarted, or the work was lost)";
    }
    SendVote(to, r);
    return;
  }
  Transaction* t = it->second.get();
  switch (t->state) {
    case TxnState::kPreparing:
      t->vote_waiters.push_back(std::move(to));  // answered with the first one (I1)
      return;
    case TxnState::kPrepared:
    case TxnState::kCommitted: {
      Reply r;
      r.vote = Vote::kYes;
      SendVote(to, r);
      return;
    }
    case TxnState::kAborted:
    case TxnState::kActive:
      break;
  }
  if (t->waiting_op != nullptr || req.ops != t->ops) {
    std::string why = t->waiting_op != nullptr
                          ? "PREPARE arrived while an operation waits for a lock"
                          : "PREPARE counts " + std::to_string(req.ops) + " operations but " +
                                self_->name + " received " + std::to_string(t->ops);
    AbortTxn(t, AbortReason::kVoteNo, why);
    Reply r;
    r.vote = Vote::kNo;
    r.error = why;
    SendVote(to, r);
    return;
  }
  if (t->writes.empty() && ReadOnlyVoteEnabled()) {
    // Nothing to make durable and nothing to decide: drop out of phase 2.
    TxnId id = t->id;
    failpoints_.At(
        "participant.before_read_only_vote",
        [this, id, to] {
          if (ActiveAfterHold(id, to) == nullptr) return;
          locks_.ReleaseAll(id);
          txns_.erase(id);
          Forget(id, true, AbortReason::kNone, /*read_only=*/true);
          read_only_++;
          Reply r;
          r.vote = Vote::kReadOnly;
          SendVote(to, r);
        },
        [this, id, to] { FailPointVotesNo(id, to, "participant.before_read_only_vote"); });
    return;
  }
  t->participants = req.participants;
  TxnId id = t->id;
  if (req.one_phase) {
    failpoints_.At(
        "participant.before_one_phase_logged", [this, id, to] { LogPrepare(id, to, true); },
        [this, id, to] { FailPointVotesNo(id, to, "participant.before_one_phase_logged"); });
    return;
  }
  failpoints_.At(
      "participant.before_prepare_logged", [this, id, to] { LogPrepare(id, to, false); },
      [this, id, to] { FailPointVotesNo(id, to, "participant.before_prepare_logged"); });
}

Transaction* ParticipantServer::ActiveAfterHold(const TxnId& id, const ReplyToPtr& to) {
  auto it = txns_.find(id);
  if (it != txns_.end() && it->second->state == TxnState::kActive) return it->second.get();
  Reply r;
  r.vote = Vote::kNo;
  r.error = id.ToString() + " was rolled back at " + self_->name + " before it voted";
  if (auto f = finished_.find(id); f != finished_.end()) r.reason = f->second.reason;
  SendVote(to, r);
  return nullptr;
}

void ParticipantServer::FailPointVotesNo(const TxnId& id, const ReplyToPtr& to,
                                         const std::string& point) {
  const std::string why = "fail point " + point + ": error";
  if (auto it = txns_.find(id); it != txns_.end() && it->second->state == TxnState::kActive) {
    AbortTxn(it->second.get(), AbortReason::kVoteNo, why);
  }
  Reply r;
  r.vote = Vote::kNo;
  r.error = self_->name + ": " + why;
  SendVote(to, r);
}

void ParticipantServer::LogPrepare(const TxnId& id, ReplyToPtr to, bool one_phase) {
  // Rolled back while the fail point held it (wounded, timed out, aborted)?
  Transaction* t = ActiveAfterHold(id, to);
  if (t == nullptr) return;
  std::vector<wal::WriteOp> writes;
  writes.reserve(t->writes.size());
  for (const auto& [k, v] : t->writes) writes.push_back(wal::WriteOp{k, v});
  // One-phase: the only participant, so nobody else has a say, and this one record is the
  // vote, the decision and the commit -- one forced write instead of PREPARE here, DECISION at
  // the coordinator and COMMIT here again, and one round trip instead of two.
  const wal::RecordType type = one_phase ? wal::kOnePhaseCommit : wal::kPrepare;
  const std::string payload =
      one_phase ? wal::OnePhaseCommitRecord{id, std::move(writes)}.Encode()
                // whom to ask if in doubt (cooperative termination)
                : wal::PrepareRecord{id, std::move(writes), t->participants}.Encode();
  Result<Lsn> lsn = log_->Append(type, payload);
  if (!lsn.ok()) {
    AbortTxn(t, AbortReason::kLogFailure, lsn.status().ToString());
    Reply r;
    r.vote = Vote::kNo;
    r.error =
        "cannot log " + std::string(wal::RecordTypeName(type)) + ": " + lsn.status().ToString();
    SendVote(to, r);
    return;
  }
  // One-phase: from here on nothing aborts it. The record commits it as soon as it is on the
  // disk, which may happen whatever this process does next; its locks stay until then, so
  // nobody reads what a crash could still take back.
  t->state = TxnState::kPreparing;
  t->one_phase = one_phase;
  t->prepare_lsn = *lsn;
  t->vote_waiters.push_back(std::move(to));
  waiters_->WhenDurable(*lsn, [this, id, one_phase](const Status& s) {
    if (one_phase) {
      OnOnePhaseDurable(id, s);
    } else {
      OnPrepareDurable(id, s);
    }
  });
}

void ParticipantServer::OnPrepareDurable(const TxnId& id, const Status& s) {
  auto it = txns_.find(id);
  if (it == txns_.end()) return;  // aborted meanwhile; its waiters were answered NO
  Transaction* t = it->second.get();
  if (t->state != TxnState::kPreparing) return;
  auto waiters = std::move(t->vote_waiters);
  t->vote_waiters.clear();
  Reply r;
  if (s.ok()) {
    t->state = TxnState::kPrepared;  // (I1): durable, now the vote may leave
    t->prepared_at = EventLoop::Now();
    r.vote = Vote::kYes;
  } else {
    // The log failed and this process is about to stop. NO is safe: if the PREPARE reaches
    // the disk anyway, recovery finds it in doubt and the coordinator answers ABORTED.
    r.vote = Vote::kNo;
    r.error = self_->name + " cannot make its PREPARE durable: " + s.ToString();
    for (auto& w : waiters) SendVote(w, r);
    return;
  }
  failpoints_.At("participant.after_prepare_logged", [this, waiters = std::move(waiters), r] {
    for (auto& w : waiters) SendVote(w, r);
  });
}

void ParticipantServer::OnOnePhaseDurable(const TxnId& id, const Status& s) {
  auto it = txns_.find(id);
  if (it == txns_.end() || !it->second->one_phase) return;
  Transaction* t = it->second.get();
  if (!s.ok()) {
    // The log failed and this process is about to stop. The record may reach the disk or
    // not, so neither COMMITTED nor NO is true yet: send nothing. The coordinator's vote
    // timeout makes it ask again (QUERY_OUTCOME one_phase) once this node is back, and replay
    // will have decided by then.
    spdlog::error("cannot make ONE_PHASE_COMMIT of {} durable: {}", id.ToString(), s.ToString());
    return;
  }
  auto waiters = std::move(t->vote_waiters);
  const Lsn lsn = t->prepare_lsn;
  for (auto& [k, v] : t->writes) {
    if (v) {
      data_[k] = *v;
    } else {
      data_.erase(k);
    }
    dirty_.push_back(wal::WriteOp{k, std::move(v)});
  }
  dirty_lsn_ = std::max(dirty_lsn_, lsn);  // (I5)
  dirty_one_phase_.push_back(id);
  one_phase_memory_.Add(id);
  txns_.erase(it);  // t is gone
  locks_.ReleaseAll(id);
  Forget(id, true, AbortReason::kNone);
  committed_++;
  one_phase_++;
  if (dirty_.size() >= kCheckpointBatch) SubmitCheckpoint();
  Reply r;
  r.vote = Vote::kCommitted;
  failpoints_.At("participant.after_one_phase_logged", [this, waiters = std::move(waiters), r] {
    for (auto& w : waiters) SendVote(w, r);
  });
}

void ParticipantServer::SendVote(const ReplyToPtr& to, const Reply& vote) {
  failpoints_.At(
      "participant.before_vote_sent", [this, to, vote] { Send(to, vote); },
      [] {});  // error: the vote is lost
}

void ParticipantServer::HandleDecideCommit(const DecideCommitRequest& req, ReplyToPtr to) {
  auto it = txns_.find(req.txn);
  if (it == txns_.end()) {
    auto f = finished_.find(req.txn);
    if (auto h = heuristic_.find(req.txn); h != heuristic_.end() && !h->second) {
      spdlog::error(
          "HEURISTIC_MIXED {}: its coordinator decided COMMIT; an operator forced ABORT "
          "here (kv2pc resolve)",
          req.txn.ToString());
      Send(to, Reply::Error(ErrorCode::kHeuristicMixed,
                            req.txn.ToString() + " was forced to ABORT at " + self_->name +
                                " by an operator (kv2pc resolve): the decision COMMIT cannot "
                                "apply here"));
      return;
    }
    if (f != finished_.end() && !f->second.committed) {
      spdlog::error("DECIDE_COMMIT for {}, which this participant aborted", req.txn.ToString());
      Send(to,
           Reply::Error(ErrorCode::kTxnAlreadyAborted, req.txn.ToString() + " has aborted here"));
      return;
    }
    Send(to, OkReply());  // a repeat, or a read-only participant: nothing left to do
    return;
  }
  Transaction* t = it->second.get();
  if (t->state == TxnState::kActive || t->state == TxnState::kPreparing) {
    // A coordinator decides COMMIT only after our YES, which leaves only once PREPARE is
    // durable (I1): this request breaks the protocol. Refuse it and change nothing.
    spdlog::error("DECIDE_COMMIT for {}, which is {} here", req.txn.ToString(),
                  TxnStateName(t->state));
    Send(to, Reply::Error(ErrorCode::kMalformedRequest, "DECIDE_COMMIT for " + req.txn.ToString() +
                                                            ", which is " + TxnStateName(t->state) +
                                                            " here, not PREPARED"));
    return;
  }
  if (t->state == TxnState::kCommitted) {
    // The COMMIT record is in flight: ack when it is durable (I4).
    waiters_->WhenDurable(log_->last_lsn(), [this, to](const Status& s) {
      Send(to, s.ok() ? OkReply() : Reply::Error(ErrorCode::kInternalError, s.ToString()));
    });
    return;
  }
  DecideCommit(t->id, std::move(to));
}

void ParticipantServer::DecideCommit(const TxnId& id, ReplyToPtr ack_to) {
  failpoints_.At(
      "participant.before_commit_logged",
      [this, id, ack_to] {
        auto it = txns_.find(id);
        if (it != txns_.end() && it->second->state == TxnState::kPrepared) {
          CommitPrepared(it->second.get(), ack_to);
        } else if (ack_to) {
          HandleDecideCommit(DecideCommitRequest{id}, ack_to);  // decided meanwhile: a repeat
        }
      },
      [this, id, ack_to] {
        if (ack_to) {
          Send(ack_to, Reply::Error(ErrorCode::kInternalError,
                                    "fail point participant.before_commit_logged: error; " +
                                        id.ToString() + " stays PREPARED"));
        }
      });
}

void ParticipantServer::DecideAbort(const TxnId& id, ReplyToPtr ack_to, const std::string& why) {
  failpoints_.At("participant.before_abort_logged", [this, id, ack_to, why] {
    auto it = txns_.find(id);
    if (it != txns_.end() && it->second->state != TxnState::kCommitted && !it->second->one_phase) {
      AbortTxn(it->second.get(), AbortReason::kClientAbort, why);
    }
    if (ack_to) Send(ack_to, OkReply());
  });
}

void ParticipantServer::CommitPrepared(Transaction* t, const ReplyToPtr& ack_to) {
  wal::CommitRecord rec{t->id};
  Result<Lsn> lsn = log_->AppendLazy(wal::kCommit, rec.Encode());
  if (!lsn.ok()) {
    // We cannot record the outcome: stay PREPARED (I2); the coordinator retries.
    spdlog::error("cannot log COMMIT of {}: {}", t->id.ToString(), lsn.status().ToString());
    if (ack_to) Send(ack_to, Reply::Error(ErrorCode::kInternalError, lsn.status().ToString()));
    return;
  }
  // The decision is already durable at the coordinator, so the writes can be applied and
  // the locks released now; only our acknowledgement must wait for our own record (I4).
  std::vector<wal::WriteOp> writes;
  writes.reserve(t->writes.size());
  for (auto& [k, v] : t->writes) {
    if (v) {
      data_[k] = *v;
    } else {
      data_.erase(k);
    }
    writes.push_back(wal::WriteOp{k, std::move(v)});
  }
  if (t->recovered || t->query_backoff.count() > 0) {
    // In doubt (since a restart, or its coordinator could not be asked): a recovery decision.
    // Only DECIDE_COMMIT (or an operator, who logs it) gets here so: the other ways a decision
    // arrives log their source and clear `recovered` first, and reset the backoff.
    spdlog::info("{} -> COMMIT: DECIDE_COMMIT from {} ({})", t->id.ToString(),
                 CoordinatorName(t->id.coordinator),
                 t->recovered ? "in doubt since restart" : "was in doubt: " + t->undecided_why);
  }
  TxnId id = t->id;
  t->state = TxnState::kCommitted;
  t->writes.clear();
  committed_++;
  locks_.ReleaseAll(id);
  Lsn commit_lsn = *lsn;
  waiters_->WhenDurable(commit_lsn, [this, id, ack_to, commit_lsn,
                                     writes = std::move(writes)](const Status& s) mutable {
    if (!s.ok()) {  // stopping: no ack (I4); the coordinator resends
      if (ack_to) {
        Send(ack_to, Reply::Error(ErrorCode::kInternalError,
                                  "cannot make COMMIT durable: " + s.ToString()));
      }
      return;
    }
    dirty_.insert(dirty_.end(), std::make_move_iterator(writes.begin()),
                  std::make_move_iterator(writes.end()));
    dirty_lsn_ = commit_lsn;  // (I5)
    txns_.erase(id);
    Forget(id, true, AbortReason::kNone);
    if (dirty_.size() >= kCheckpointBatch) SubmitCheckpoint();
    failpoints_.At(
        "participant.after_commit_logged_before_ack",
        [this, ack_to] {
          if (ack_to) Send(ack_to, OkReply());  // (I4)
        },
        [] {});  // error: the acknowledgement is lost; the coordinator re-sends
  });
}

void ParticipantServer::HandleDecideAbort(const DecideAbortRequest& req, ReplyToPtr to) {
  auto it = txns_.find(req.txn);
  if (it == txns_.end()) {
    auto f = finished_.find(req.txn);
    if (auto h = heuristic_.find(req.txn); h != heuristic_.end() && h->second) {
      spdlog::error(
          "HEURISTIC_MIXED {}: its coordinator decided ABORT; an operator forced COMMIT "
          "here (kv2pc resolve)",
          req.txn.ToString());
      Send(to, Reply::Error(ErrorCode::kHeuristicMixed,
                            req.txn.ToString() + " was forced to COMMIT at " + self_->name +
                                " by an operator (kv2pc resolve)"));
      return;
    }
    if (f != finished_.end() && f->second.committed) {
      spdlog::error("DECIDE_ABORT for {}, which this participant committed", req.txn.ToString());
      Send(to, Reply::Error(ErrorCode::kTxnAlreadyCommitted,
                            req.txn.ToString() + " has committed here"));
      return;
    }
    // An abort may overtake the work it cancels: remember it. One that follows our own abort
    // (after ABORT_NOTICE) keeps the reason we had, for a late PREPARE's NO vote.
    if (f == finished_.end()) Forget(req.txn, false, AbortReason::kNone);
    Send(to, OkReply());
    return;
  }
  Transaction* t = it->second.get();
  if (t->one_phase) {
    // Committing by one-phase commit: its record is on its way to the disk, and the abort
    // comes too late. Answer once the record is durable, so "committed" is true when heard.
    waiters_->WhenDurable(t->prepare_lsn, [this, to, id = req.txn](const Status& s) {
      Send(to, s.ok() ? Reply::Error(ErrorCode::kTxnAlreadyCommitted,
                                     id.ToString() + " has committed here (one-phase commit)")
                      : Reply::Error(ErrorCode::kInternalError, s.ToString()));
    });
    return;
  }
  if (t->state == TxnState::kCommitted) {
    spdlog::error("DECIDE_ABORT for {}, which this participant committed", req.txn.ToString());
    Send(to,
         Reply::Error(ErrorCode::kTxnAlreadyCommitted, req.txn.ToString() + " has committed here"));
    return;
  }
  if (t->state == TxnState::kPrepared && (t->recovered || t->query_backoff.count() > 0)) {
    spdlog::info("{} -> ABORT: DECIDE_ABORT from {} ({})", t->id.ToString(),
                 CoordinatorName(t->id.coordinator),
                 t->recovered ? "in doubt since restart" : "was in doubt: " + t->undecided_why);
  }
  if (t->state == TxnState::kPrepared || t->state == TxnState::kPreparing) {
    DecideAbort(t->id, std::move(to), "aborted by its coordinator");
    return;
  }
  AbortTxn(t, AbortReason::kClientAbort, "aborted by its coordinator");
  Send(to, OkReply());
}

void ParticipantServer::AbortTxn(Transaction* t, AbortReason reason, const std::string& why,
                                 Status* logged) {
  TxnId id = t->id;
  if (t->state == TxnState::kPreparing || t->state == TxnState::kPrepared) {
    // Presumed abort: the ABORT record need not be forced; if it is lost, the transaction
    // is in doubt after a restart and the coordinator answers ABORTED.
    Result<Lsn> lsn = log_->AppendLazy(wal::kAbort, wal::AbortRecord{id}.Encode());
    if (!lsn.ok()) {
      spdlog::warn("cannot log ABORT of {}: {}", id.ToString(), lsn.status().ToString());
      if (logged != nullptr) *logged = lsn.status();
    }
  }
  if (t->waiting_op) {
    loop_.Cancel(t->lock_timer);
    Send(t->waiting_op, Reply::AbortedBecause(reason, why));
    t->waiting_op.reset();
  }
  if (!t->vote_waiters.empty()) {
    Reply r;
    r.vote = Vote::kNo;
    r.error = why;
    for (auto& w : t->vote_waiters) SendVote(w, r);
  }
  auto queued = std::move(t->queued);
  txns_.erase(id);  // t is gone from here on
  locks_.ReleaseAll(id);
  Forget(id, false, reason);
  aborted_[reason]++;
  // Requests that waited behind the parked one now find the transaction aborted and say so.
  for (auto& q : queued) q();
}

void ParticipantServer::RunQueued(const TxnId& id) {
  for (;;) {
    auto it = txns_.find(id);
    if (it == txns_.end() || it->second->waiting_op != nullptr || it->second->queued.empty()) {
      return;
    }
    auto next = std::move(it->second->queued.front());
    it->second->queued.pop_front();
    next();  // may park again (then the rest keep waiting) or end the transaction
  }
}

void ParticipantServer::HandleStatus(const StatusRequest& req, ReplyToPtr to) {
  const size_t limit =
      std::min(req.limit.value_or(StatusRequest::kDefaultLimit), StatusRequest::kMaxLimit);
  const auto now = EventLoop::Now();
  auto ms_since = [now](EventLoop::Clock::time_point t) {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(now - t).count());
  };
  NodeStatus st;
  st.uptime_ms = ms_since(started_at_);

  uint64_t by_state[5] = {};
  uint64_t in_doubt = 0;
  std::vector<const Transaction*> txns;
  txns.reserve(txns_.size());
  for (const auto& [id, t] : txns_) {
    by_state[static_cast<int>(t->state)]++;
    in_doubt += t->recovered && t->state == TxnState::kPrepared;
    txns.push_back(t.get());
  }
  st.txns_total = txns.size();
  size_t n = std::min(limit, txns.size());
  auto oldest_first = [](const Transaction* a, const Transaction* b) {
    return std::tie(a->created_at, a->id) < std::tie(b->created_at, b->id);
  };
  std::partial_sort(txns.begin(), txns.begin() + static_cast<ptrdiff_t>(n), txns.end(),
                    oldest_first);
  size_t listed = 0;  // bytes of entries so far (kStatusListBudget)
  for (size_t i = 0; i < n; i++) {
    const Transaction* t = txns[i];
    TxnStatus ts{t->id,
                 TxnStateName(t->state),
                 t->ts,
                 ms_since(t->created_at),
                 static_cast<uint32_t>(locks_.HeldBy(t->id)),
                 std::nullopt,
                 ""};
    if (const std::string* key = locks_.WaitingFor(t->id); key != nullptr) ts.waiting_for = *key;
    if (t->recovered && t->state == TxnState::kPrepared) {
      ts.detail = "in doubt since restart: PREPARE at LSN " + std::to_string(t->prepare_lsn) +
                  ", asking " + CoordinatorName(t->id.coordinator) + " for the outcome";
    } else if (t->state == TxnState::kPrepared) {
      ts.detail = "voted YES " + std::to_string(ms_since(t->prepared_at)) +
                  " ms ago; waiting for the decision";
    }
    if ((listed += EncodedSizeBound(ts)) > kStatusListBudget) break;
    st.txns.push_back(std::move(ts));
  }

  st.locks_total = locks_.locked_keys();
  auto mode_name = [](LockMode m) { return m == LockMode::kExclusive ? "X" : "S"; };
  for (LockManager::KeyView& v : locks_.Describe(limit)) {
    LockStatus l{std::move(v.key), mode_name(v.mode), std::move(v.holders), {}};
    for (const auto& [id, mode] : v.waiters) l.waiters.push_back(LockWaiter{id, mode_name(mode)});
    if ((listed += EncodedSizeBound(l)) > kStatusListBudget) break;
    st.locks.push_back(std::move(l));
  }

  auto& c = st.counters;
  c.emplace_back("txns_active", by_state[static_cast<int>(TxnState::kActive)]);
  c.emplace_back("txns_preparing", by_state[static_cast<int>(TxnState::kPreparing)]);
  c.emplace_back("txns_prepared", by_state[static_cast<int>(TxnState::kPrepared)]);
  c.emplace_back("txns_in_doubt", in_doubt);
  c.emplace_back("txns_committing", by_state[static_cast<int>(TxnState::kCommitted)]);
  c.emplace_back("locked_keys", locks_.locked_keys());
  c.emplace_back("lock_waits", locks_.waiting());
  c.emplace_back("keys", data_.size());
  c.emplace_back("committed", committed_);
  c.emplace_back("read_only", read_only_);
  c.emplace_back("one_phase_committed", one_phase_);
  AddAbortCounters(aborted_, &st);
  c.emplace_back("wal_durable_lsn", log_->durable_lsn());
  uint64_t held = 0;
  auto armed = failpoints_.Armed();
  for (const auto& p : armed) held += p.held;
  c.emplace_back("failpoints_armed", armed.size());
  c.emplace_back("failpoints_held", held);
  AddBatchingCounters(replies_, {&coordinators_, &fellows_}, &st);

  Reply r;
  r.node = self_->name;
  r.role = "participant";
  r.status = std::move(st);
  Send(to, r);
}

void ParticipantServer::Forget(const TxnId& id, bool committed, AbortReason reason,
                               bool read_only) {
  if (finished_.insert_or_assign(id, Finished{committed, reason, read_only}).second) {
    finished_order_.push_back(id);
  }
  while (finished_order_.size() > kFinishedMemory) {
    finished_.erase(finished_order_.front());
    finished_order_.pop_front();
  }
}

// ---- Durability ----

void ParticipantServer::SubmitCheckpoint() {
  // The log must keep every PREPARE whose transaction is undecided or whose COMMIT is not in
  // this checkpoint: those are exactly the transactions still in txns_ with a PREPARE.
  Lsn pin = Checkpointer::kNoPin;
  for (const auto& [id, t] : txns_) {
    if (t->prepare_lsn != 0) pin = std::min(pin, t->prepare_lsn);
  }
  checkpointer_->Submit(std::move(dirty_), dirty_lsn_, pin, std::move(dirty_one_phase_));
  dirty_.clear();
  dirty_one_phase_.clear();
}

void ParticipantServer::ScheduleCheckpoint() {
  if (!dirty_.empty()) SubmitCheckpoint();
  loop_.RunAfter(options_.checkpoint_interval, [this] { ScheduleCheckpoint(); });
}
}  // namespace kv2pc::participant
