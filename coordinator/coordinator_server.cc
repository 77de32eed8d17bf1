// Coordinator event loop and two-phase commit. See coordinator_server.h.
#include "coordinator/coordinator_server.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include "common/codec.h"
#include "common/logging.h"
#include "recovery/coordinator_replay.h"
#include "wal/log_format.h"
#include "wal/record.h"

namespace kv2pc::coordinator {

namespace {
constexpr size_t kFinishedMemory = 100000;

// Reads <dir>/incarnation, adds one (and goes past `at_least`) and makes the new value
// durable before any transaction id uses it.
Result<uint32_t> BumpIncarnation(const std::string& dir, uint32_t at_least) {
  std::string path = dir + "/incarnation";
  uint64_t current = 0;
  if (std::ifstream in(path); in) {
    if (!(in >> current) || current >= UINT32_MAX) {
      return Status::Corruption(path + " does not hold an incarnation number");
    }
  }
  uint32_t next = static_cast<uint32_t>(std::max<uint64_t>(current, at_least) + 1);
  KV2PC_RETURN_IF_ERROR(WriteFileDurably(path, std::to_string(next) + "\n"));
  return next;
}

// Reads <dir>/outcome-horizon (recovery::ParseOutcomeHorizon). *exists tells whether the file
// is there; a missing file means nothing has been forgotten yet.
Result<std::optional<TxnId>> ReadOutcomeHorizon(const std::string& path, bool* exists) {
  std::ifstream in(path);
  *exists = static_cast<bool>(in);
  if (!*exists) return std::optional<TxnId>();
  std::ostringstream contents;
  contents << in.rdbuf();
  auto horizon = recovery::ParseOutcomeHorizon(contents.str());
  if (!horizon.ok()) return Status::Corruption(path + ": " + horizon.status().message());
  return horizon;
}

// True when RemoveSegmentsBefore(keep) would remove a segment: the second one starts at or
// below `keep`, so the first holds only records below it.
bool TrimWouldRemove(const wal::Log& log, Lsn keep) {
  std::vector<std::string> paths = log.SegmentPaths();
  if (paths.size() < 2) return false;
  std::optional<Lsn> second =
      wal::ParseSegmentFileName(std::filesystem::path(paths[1]).filename().string());
  return second && *second <= keep;
}

std::string TooLarge(const char* what, size_t size, size_t limit) {
  return std::string(what) + " is " + std::to_string(size) + " bytes; the limit is " +
         std::to_string(limit);
}
}  // namespace

CoordinatorServer::CoordinatorServer(const ClusterConfig& config, const CoordinatorOptions& options)
    : config_(config), options_(options), one_phase_enabled_([] {
        const char* v = getenv("KV2PC_ONE_PHASE");
        return v == nullptr || std::string_view(v) != "0";
      }()) {}

CoordinatorServer::~CoordinatorServer() {
  trimmer_.reset();  // finishes a trim in progress while the log still exists
  waiters_.reset();
  log_.reset();
}

Result<std::unique_ptr<CoordinatorServer>> CoordinatorServer::Create(
    const ClusterConfig& config, const CoordinatorOptions& options) {
  std::unique_ptr<CoordinatorServer> s(new CoordinatorServer(config, options));
  s->self_ = s->config_.Find(options.node);
  if (s->self_ == nullptr || s->self_->role != Role::kCoordinator) {
    return Status::InvalidArgument("'" + options.node +
                                   "' is not a coordinator in the cluster layout");
  }
  s->index_ = static_cast<uint32_t>(ClusterConfig::CoordinatorIndex(s->self_->name));
  KV2PC_RETURN_IF_ERROR(s->Start());
  return s;
}

Status CoordinatorServer::Start() {
  KV2PC_RETURN_IF_ERROR(ConfigureFromEnvironment(&failpoints_));
  KV2PC_ASSIGN_OR_RETURN(dir_lock_, DataDirLock::Acquire(options_.data_dir));

  // Participants, in layout order: peer index i <-> ring index i.
  std::vector<std::string> names;
  for (const NodeInfo* p : config_.participants()) {
    KV2PC_ASSIGN_OR_RETURN(size_t peer, participants_.AddPeer(p->name, p->endpoint));
    KV2PC_CHECK(peer == names.size(), "peer index follows layout order");
    names.push_back(p->name);
  }
  ring_ = std::make_unique<HashRing>(names, config_.vnodes());

  // The decision log.
  recovery::CoordinatorReplay replay;
  wal::LogOptions lo;
  lo.dir = options_.data_dir + "/wal";
  lo.segment_size = options_.wal_segment_size;
  lo.on_durable = [this] { log_notifier_.Notify(); };
  auto log = wal::Log::Open(lo, [&replay](const wal::RecordView& r) { return replay.Visit(r); });
  if (!log.ok()) return log.status().WithContext("recovering " + lo.dir);
  log_ = std::move(log).value();
  waiters_ = std::make_unique<wal::DurableWaiters>(log_.get());
  trimmer_ = std::make_unique<BackgroundWorker>();
  std::error_code ec;
  const bool fresh_dir = !std::filesystem::exists(options_.data_dir + "/incarnation", ec);
  KV2PC_ASSIGN_OR_RETURN(incarnation_,
                         BumpIncarnation(options_.data_dir, replay.max_incarnation()));

  // The outcome history (C5): the forgotten horizon from disk, then every COMMIT decision
  // still in the log, oldest first; beyond --outcome-history the oldest are dropped again and
  // the horizon rises over them (H1).
  const std::string horizon_path = options_.data_dir + "/outcome-horizon";
  KV2PC_ASSIGN_OR_RETURN(std::optional<TxnId> horizon,
                         ReadOutcomeHorizon(horizon_path, &horizon_file_exists_));
  horizon_on_disk_ = horizon;
  if (!horizon_file_exists_ && !fresh_dir && log_->last_lsn() > 0 && replay.first_lsn() != 1) {
    // A log trimmed by a version that kept no horizon: any decision of an earlier incarnation
    // may be gone. Everything before this start counts as possibly forgotten.
    horizon = TxnId{index_, incarnation_ - 1, UINT64_MAX};
    KV2PC_RETURN_IF_ERROR(WriteFileDurably(horizon_path, recovery::FormatOutcomeHorizon(horizon)));
    horizon_file_exists_ = true;
    horizon_on_disk_ = horizon;
    spdlog::warn(
        "{}: the decision log was trimmed without an outcome horizon; outcomes of "
        "transactions before incarnation {} are UNKNOWN unless still in the log",
        self_->name, incarnation_);
  }
  history_ = std::make_unique<recovery::OutcomeHistory>(options_.outcome_history, horizon);
  for (const auto& c : replay.committed()) history_->Add(c.txn, c.lsn);

  for (const auto& d : replay.unfinished()) {
    auto t = std::make_unique<Txn>();
    t->id = d.txn;
    t->state = State::kCommitted;
    t->recovered = true;
    t->decision_lsn = d.lsn;
    t->created_at = EventLoop::Now();
    for (const std::string& name : d.participants) {
      auto it = std::find(names.begin(), names.end(), name);
      if (it == names.end()) {
        spdlog::error(
            "{}: participant {} of its COMMIT decision is not in the cluster layout; "
            "it will not be told",
            d.txn.ToString(), name);
        continue;
      }
      size_t p = static_cast<size_t>(it - names.begin());
      t->yes_voters.insert(p);
      t->acks_pending.insert(p);
    }
    spdlog::info(
        "{} -> COMMIT: decision record at LSN {} in {}'s log; re-sending to {} "
        "participant(s) that have not acknowledged",
        d.txn.ToString(), d.lsn, self_->name, t->acks_pending.size());
    txns_.emplace(d.txn, std::move(t));
  }

  ConfigureSocket(router_);
  std::string endpoint = options_.bind.empty() ? self_->endpoint : options_.bind;
  KV2PC_RETURN_IF_ERROR(Bind(router_, endpoint));
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
      FailStop("the decision log failed: " + failure.ToString());
    }
  });
  spdlog::info(
      "{} (incarnation {}) listening on {}; {} participant(s); {} decision(s) to "
      "finish; outcome history: {} COMMIT decision(s), forgotten horizon {}",
      self_->name, incarnation_, endpoint, names.size(), replay.unfinished().size(),
      history_->size(), history_->horizon() ? history_->horizon()->ToString() : "none");
  return Status::OK();
}

void CoordinatorServer::Run(int signal_fd) {
  if (signal_fd >= 0) loop_.StopOnSignal(signal_fd);
  for (auto& [id, t] : txns_) {
    for (size_t p : t->acks_pending) SendCommit(id, p);
  }
  SweepIdle();
  loop_.Run();
  spdlog::info("{} stopped", self_->name);
}

// ---- Requests ----

void CoordinatorServer::OnRequests() {
  ServeRequests(
      router_, 1024,
      [this](Message msg, ReplyToPtr to) { Dispatch(std::move(msg), std::move(to)); }, &replies_);
}

void CoordinatorServer::Dispatch(Message msg, ReplyToPtr to) {
  std::visit(
      [&](auto&& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, BeginRequest>) {
          HandleBegin(b.ts, to);
        } else if constexpr (std::is_same_v<T, GetRequest>) {
          HandleOp(b.txn, std::move(b.key), std::nullopt, std::move(to), b.for_update);
        } else if constexpr (std::is_same_v<T, PutRequest>) {
          HandleOp(b.txn, std::move(b.key), std::optional<std::string>(std::move(b.value)),
                   std::move(to));
        } else if constexpr (std::is_same_v<T, DeleteRequest>) {
          HandleOp(b.txn, std::move(b.key), std::optional<std::string>(), std::move(to));
        } else if constexpr (std::is_same_v<T, ExecRequest>) {
          HandleExec(std::move(b), std::move(to));
        } else if constexpr (std::is_same_v<T, CommitRequest>) {
          HandleCommit(b.txn, std::move(to));
        } else if constexpr (std::is_same_v<T, AbortRequest>) {
          HandleAbort(b.txn, std::move(to));
        } else if constexpr (std::is_same_v<T, QueryOutcomeRequest>) {
          HandleQueryOutcome(b, to);
        } else if constexpr (std::is_same_v<T, AbortNoticeRequest>) {
          HandleAbortNotice(b, to);
        } else if constexpr (std::is_same_v<T, HeuristicReportRequest>) {
          HandleHeuristicReport(b, to);
        } else if constexpr (std::is_same_v<T, PingRequest>) {
          Reply r;
          r.node = self_->name;
          r.role = "coordinator";
          Send(to, r);
        } else if constexpr (std::is_same_v<T, StatusRequest>) {
          HandleStatus(b, to);
        } else if constexpr (std::is_same_v<T, FailPointRequest>) {
          Send(to, ServeFailPointRequest(&failpoints_, b));
        } else {
          Send(to, Reply::Error(ErrorCode::kMalformedRequest,
                                std::string(MsgTypeName(msg.type())) +
                                    " is not a request a coordinator serves"));
        }
      },
      std::move(msg.body));
}

void CoordinatorServer::Send(const ReplyToPtr& to, const Reply& reply) {
  replies_.Send(*to, reply);
}

CoordinatorServer::Txn* CoordinatorServer::NewTxn(std::optional<uint64_t> ts) {
  auto t = std::make_unique<Txn>();
  t->id = TxnId{index_, incarnation_, next_seq_++};
  t->created_at = EventLoop::Now();
  if (ts) {
    t->ts = *ts;  // a retry keeps its age (wound-wait cannot starve it)
  } else {
    // Microseconds of wall-clock time, kept increasing: comparable across coordinators as far
    // as their clocks agree (wound-wait needs no more; ties are broken by id).
    auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    last_ts_ = std::max<uint64_t>(last_ts_ + 1, static_cast<uint64_t>(now));
    t->ts = last_ts_;
  }
  t->last_activity = EventLoop::Now();
  Txn* raw = t.get();
  txns_.emplace(t->id, std::move(t));
  return raw;
}

bool CoordinatorServer::AdmitNewTxn(const ReplyToPtr& to) {
  if (txns_.size() < options_.max_open_txns) return true;
  Send(to, Reply::Error(ErrorCode::kOverloaded,
                        self_->name + " has " + std::to_string(txns_.size()) +
                            " open transactions, its limit (--max-open-txns); commit or abort "
                            "some, or retry later"));
  return false;
}

void CoordinatorServer::HandleBegin(std::optional<uint64_t> ts, const ReplyToPtr& to) {
  if (!AdmitNewTxn(to)) return;
  Txn* t = NewTxn(ts);
  Reply r;
  r.txn = t->id;
  r.ts = t->ts;
  Send(to, r);
}

CoordinatorServer::Txn* CoordinatorServer::ClientTxn(const TxnId& id, const ReplyToPtr& to) {
  auto it = txns_.find(id);
  if (it == txns_.end()) {
    auto f = finished_.find(id);
    Reply r;
    if ((f != finished_.end() && f->second.committed) ||
        (f == finished_.end() && id.coordinator == index_ && history_->Contains(id))) {
      r = Reply::Error(ErrorCode::kTxnAlreadyCommitted, id.ToString() + " has already committed");
    } else if (f != finished_.end()) {
      r = Reply::Error(ErrorCode::kTxnAlreadyAborted,
                       id.ToString() + " has already aborted (" +
                           std::string(AbortReasonName(f->second.reason)) + ")");
      r.reason = f->second.reason;
    } else {
      r = Reply::Error(ErrorCode::kTxnNotFound,
                       id.ToString() + " is not a transaction of " + self_->name +
                           (id.coordinator != index_ || id.incarnation != incarnation_
                                ? " (it was begun by another coordinator or before a restart)"
                                : ""));
    }
    r.txn = id;
    Send(to, r);
    return nullptr;
  }
  Txn* t = it->second.get();
  if (t->client != nullptr || t->state != State::kActive) {
    Reply r =
        Reply::Error(ErrorCode::kTxnBusy, t->state == State::kActive
                                              ? id.ToString() + " is busy with another request"
                                              : id.ToString() + " is committing");
    if (t->state == State::kCommitted) {
      r = Reply::Error(ErrorCode::kTxnAlreadyCommitted, id.ToString() + " has already committed");
    }
    r.txn = id;
    Send(to, r);
    return nullptr;
  }
  return t;
}

void CoordinatorServer::HandleOp(const std::optional<TxnId>& txn, std::string key,
                                 std::optional<std::optional<std::string>> write, ReplyToPtr to,
                                 bool for_update) {
  // Bad input is refused before it touches anything (the transaction stays usable).
  if (key.size() > kMaxKeySize) {
    Send(to, Reply::Error(ErrorCode::kKeyTooLarge, TooLarge("key", key.size(), kMaxKeySize)));
    return;
  }
  if (write && *write && (*write)->size() > kMaxValueSize) {
    Send(to, Reply::Error(ErrorCode::kValueTooLarge,
                          TooLarge("value", (*write)->size(), kMaxValueSize)));
    return;
  }
  Txn* t;
  if (txn) {
    t = ClientTxn(*txn, to);
    if (t == nullptr) return;
  } else {
    if (!AdmitNewTxn(to)) return;
    t = NewTxn(std::nullopt);
    t->one_shot = true;
  }
  t->client = std::move(to);
  t->last_activity = EventLoop::Now();
  RunOp(t, std::move(key), std::move(write), for_update);
}

void CoordinatorServer::RunOp(Txn* t, std::string key,
                              std::optional<std::optional<std::string>> write, bool for_update) {
  size_t p = ring_->OwnerIndex(key);
  uint32_t seq = t->participants[p]++;
  MessageBody body;
  if (write) {
    t->writers.insert(p);
    body = WriteRequest{t->id, std::move(key), std::move(*write), seq, t->ts};
  } else {
    body = ReadRequest{t->id, std::move(key), seq, t->ts, for_update};
  }
  TxnId id = t->id;
  participants_.Call(p, std::move(body), options_.op_timeout,
                     [this, id, p](Result<Reply> r) { OnOpReply(id, p, std::move(r)); });
}

void CoordinatorServer::OnOpReply(const TxnId& id, size_t participant, Result<Reply> r) {
  auto it = txns_.find(id);
  if (it == txns_.end()) return;  // aborted meanwhile; its client was answered
  Txn* t = it->second.get();
  if (AbortIfOpFailed(t, participant, r)) return;
  Reply ok;
  ok.txn = id;
  if (r->found) {  // a READ's answer
    ok.found = r->found;
    ok.value = std::move(r->value);
  }
  AnswerOrCommit(t, std::move(ok), t->one_shot);
}

void CoordinatorServer::AnswerOrCommit(Txn* t, Reply ok, bool commit) {
  if (commit) {
    t->result = std::move(ok);  // the client hears it once the commit succeeds
    StartCommit(t);
    return;
  }
  ReplyToPtr client = std::move(t->client);
  t->client.reset();
  t->last_activity = EventLoop::Now();
  Send(client, ok);
}

bool CoordinatorServer::AbortIfOpFailed(Txn* t, size_t participant, const Result<Reply>& r) {
  if (!r.ok()) {
    ErrorCode code =
        r.status().IsTimedOut() ? ErrorCode::kTimeout : ErrorCode::kParticipantUnavailable;
    Reply e =
        Reply::Error(code, r.status().message() + "; transaction " + t->id.ToString() + " aborted");
    e.reason = AbortReason::kParticipantUnavailable;
    Abort(t, e);
    return true;
  }
  if (!r->ok()) {
    // The participant refused the operation and has rolled back its part: the transaction
    // is over. The client hears ABORTED with the participant's reason (OPERATION_FAILED when
    // it gave none) and its words, whatever code it used.
    AbortReason reason =
        r->reason != AbortReason::kNone ? r->reason : AbortReason::kOperationFailed;
    std::string why = r->code == ErrorCode::kAborted
                          ? r->error
                          : participants_.peer_name(participant) +
                                " refused: " + std::string(ErrorCodeName(r->code)) + ": " +
                                r->error;
    Abort(t, Reply::AbortedBecause(reason, why));
    return true;
  }
  return false;
}

void CoordinatorServer::HandleCommit(const TxnId& id, ReplyToPtr to) {
  Txn* t = ClientTxn(id, to);
  if (t == nullptr) return;
  t->client = std::move(to);
  t->result = Reply{};
  t->result.txn = id;
  StartCommit(t);
}

void CoordinatorServer::StartCommit(Txn* t) {
  if (t->participants.empty()) {
    ReplyToPtr client = std::move(t->client);
    Reply result = std::move(t->result);
    Finish(t->id, Finished{true, AbortReason::kNone});
    if (client) Send(client, result);
    return;
  }
  t->state = State::kPreparing;
  TxnId id = t->id;
  if (one_phase_enabled_ && t->participants.size() == 1 &&
      t->writers.count(t->participants.begin()->first)) {
    // One participant, and it wrote: it alone can decide, in one forced write (docs/protocol.md
    // 5.3). A read-only one gets an ordinary PREPARE: its READ_ONLY vote costs no write at all.
    t->one_phase = true;
  }
  for (const auto& [p, ops] : t->participants) {
    // Read-only participants release their locks when they vote. Pipelined writes take locks
    // with the PREPARE, so those voters go second, once every lock is held (exec.cc).
    if (!t->pipelined.empty() && !t->writers.count(p)) {
      t->deferred_readers.insert(p);
    } else {
      t->votes_pending.insert(p);
    }
  }
  failpoints_.At("coordinator.before_prepare_sent", [this, id] { SendPrepares(id); });
}

void CoordinatorServer::SendPrepares(const TxnId& id) {
  auto it = txns_.find(id);
  if (it == txns_.end() || it->second->state != State::kPreparing) return;  // aborted meanwhile
  Txn* t = it->second.get();
  // Every participant learns who the others are, for cooperative termination.
  std::vector<std::string> names;
  for (const auto& [p, ops] : t->participants) names.push_back(participants_.peer_name(p));
  t->holding_votes = true;  // until the fail point below lets them be counted (at once if off)
  const std::set<size_t> first = t->votes_pending;
  for (size_t p : first) SendPrepare(t, p, names);
  failpoints_.At(
      t->one_phase ? "coordinator.after_one_phase_sent" : "coordinator.after_prepare_sent",
      [this, id] { ReleaseVotes(id); });
}

void CoordinatorServer::ReleaseVotes(const TxnId& id) {
  auto it = txns_.find(id);
  if (it == txns_.end()) return;
  it->second->holding_votes = false;
  auto held = std::move(it->second->held_votes);
  it->second->held_votes.clear();
  for (auto& [p, r] : held) OnVote(id, p, std::move(r));  // may finish the transaction
}

void CoordinatorServer::OnVote(const TxnId& id, size_t participant, Result<Reply> r) {
  auto it = txns_.find(id);
  if (it == txns_.end() || it->second->state != State::kPreparing) return;
  Txn* t = it->second.get();
  if (t->holding_votes) {
    t->held_votes.emplace_back(participant, std::move(r));
    return;
  }
  const std::string& name = participants_.peer_name(participant);
  if (t->one_phase) {
    if (!r.ok()) {
      // It may have committed, or not, or may still: only it can tell.
      LostOnePhaseVote(
          t,
          r.status().IsTimedOut() ? AbortReason::kVoteTimeout
                                  : AbortReason::kParticipantUnavailable,
          "no answer to the one-phase commit from " + name + ": " + r.status().message());
      return;
    }
    if (r->ok() && r->vote == Vote::kCommitted) {
      ReplyToPtr client = std::move(t->client);
      Reply result = std::move(t->result);
      Finish(id, Finished{true, AbortReason::kNone, /*one_phase=*/true});
      if (client) Send(client, result);
      return;
    }
    // NO (or an error) aborts as below; YES or READ_ONLY from a participant that does not do
    // one-phase commit continues as two-phase commit.
  }
  if (!r.ok()) {
    bool timeout = r.status().IsTimedOut();
    Abort(t, Reply::AbortedBecause(
                 timeout ? AbortReason::kVoteTimeout : AbortReason::kParticipantUnavailable,
                 "no vote from " + name + ": " + r.status().message()));
    return;
  }
  if (!r->ok() || !r->vote || *r->vote == Vote::kNo) {
    std::string why = r->error.empty() ? "no reason given" : r->error;
    // A NO that says why (e.g. DEADLOCK_AVOIDANCE: wounded before PREPARE arrived) passes the
    // reason on, so the client knows a retry can succeed.
    AbortReason reason = r->reason != AbortReason::kNone ? r->reason : AbortReason::kVoteNo;
    Abort(t, Reply::AbortedBecause(reason, name + " voted NO: " + why));
    return;
  }
  if (*r->vote == Vote::kYes) t->yes_voters.insert(participant);
  t->votes_pending.erase(participant);
  if (!t->votes_pending.empty()) return;
  if (!t->deferred_readers.empty()) {
    // Every writer voted YES with its locks held: now the read-only participants may vote
    // (and release theirs).
    std::vector<std::string> names;
    for (const auto& [p, ops] : t->participants) names.push_back(participants_.peer_name(p));
    t->votes_pending = std::move(t->deferred_readers);
    t->deferred_readers.clear();
    const std::set<size_t> second = t->votes_pending;
    for (size_t p : second) SendPrepare(t, p, names);
    return;
  }

  if (t->yes_voters.empty()) {
    // Every participant was read-only: nothing to decide durably (C2).
    ReplyToPtr client = std::move(t->client);
    Reply result = std::move(t->result);
    Finish(id, Finished{true, AbortReason::kNone});
    if (client) Send(client, result);
    return;
  }
  failpoints_.At(
      "coordinator.before_decision_logged", [this, id] { LogDecision(id); },
      [this, id] {
        auto again = txns_.find(id);
        if (again == txns_.end()) return;
        Abort(again->second.get(),
              Reply::AbortedBecause(AbortReason::kLogFailure,
                                    "fail point coordinator.before_decision_logged: error"));
      });
}

void CoordinatorServer::LostOnePhaseVote(Txn* t, AbortReason reason, const std::string& why) {
  t->state = State::kResolving;
  t->result.reason = reason;  // the abort reason, if it turns out not to have committed
  spdlog::warn("{}: {}; asking it what it did", t->id.ToString(), why);
  if (t->client) {
    Reply r = Reply::Error(ErrorCode::kOutcomeUnknown,
                           why + "; the outcome of " + t->id.ToString() +
                               " is known once it answers (ask with QUERY_OUTCOME)");
    r.txn = t->id;
    Send(t->client, r);
    t->client.reset();
  }
  ResolveOnePhase(t->id);
}

void CoordinatorServer::ResolveOnePhase(const TxnId& id) {
  auto it = txns_.find(id);
  if (it == txns_.end() || it->second->state != State::kResolving) return;
  const size_t p = it->second->participants.begin()->first;
  participants_.Call(
      p, QueryOutcomeRequest{id, /*holder=*/false, /*one_phase=*/true}, options_.vote_timeout,
      [this, id, p](Result<Reply> r) {
        auto again = txns_.find(id);
        if (again == txns_.end() || again->second->state != State::kResolving) return;
        Txn* t = again->second.get();
        const Outcome o = r.ok() && r->ok() && r->outcome ? *r->outcome : Outcome::kPending;
        if (o == Outcome::kCommitted) {
          spdlog::info("{} -> COMMITTED: {} committed it (one-phase commit)", id.ToString(),
                       participants_.peer_name(p));
          Finish(id, Finished{true, AbortReason::kNone, /*one_phase=*/true});
        } else if (o == Outcome::kAborted) {
          // It did not commit, and now never will (it aborted the transaction if it still had
          // it ACTIVE): presumed abort, nothing to tell anyone.
          spdlog::info("{} -> ABORTED: {} did not commit it", id.ToString(),
                       participants_.peer_name(p));
          Finish(id, Finished{false, t->result.reason});
        } else if (o == Outcome::kUnknown) {
          // It forgot (older than everything it remembers): nobody can tell any more.
          spdlog::error("{}: {} cannot tell whether it committed it; its outcome stays unknown",
                        id.ToString(), participants_.peer_name(p));
          txns_.erase(again);
        } else {
          // Down, restarting, or its record still on the way to the disk: ask again.
          loop_.RunAfter(options_.commit_retry, [this, id] { ResolveOnePhase(id); });
        }
      });
}

void CoordinatorServer::LogDecision(const TxnId& id) {
  auto it = txns_.find(id);
  if (it == txns_.end() || it->second->state != State::kPreparing) return;  // aborted meanwhile
  Txn* t = it->second.get();
  wal::DecisionCommitRecord rec;
  rec.txn = id;
  for (size_t p : t->yes_voters) rec.participants.push_back(participants_.peer_name(p));
  Result<Lsn> lsn = log_->Append(wal::kDecisionCommit, rec.Encode());
  if (!lsn.ok()) {
    Abort(t, Reply::AbortedBecause(AbortReason::kLogFailure,
                                   "cannot log the commit decision: " + lsn.status().ToString()));
    return;
  }
  t->state = State::kDeciding;
  t->decision_lsn = *lsn;
  // Remembered from the moment it has an LSN, so the history stays in LSN order. Until it is
  // durable the transaction is in txns_ (answered PENDING); from here on it cannot abort: if
  // the log fails, the process stops before anyone hears anything else.
  history_->Add(id, *lsn);
  waiters_->WhenDurable(*lsn, [this, id](const Status& s) { OnDecisionDurable(id, s); });
}

void CoordinatorServer::OnDecisionDurable(const TxnId& id, const Status& s) {
  auto it = txns_.find(id);
  if (it == txns_.end()) return;
  Txn* t = it->second.get();
  if (!s.ok()) {
    // The decision log failed; this process stops next. The record may or may not reach the
    // disk, so neither COMMIT nor ABORT is known: the client must ask again after a restart.
    if (t->client) {
      Reply r =
          Reply::Error(ErrorCode::kOutcomeUnknown,
                       "the decision log of " + self_->name + " failed (" + s.ToString() +
                           "); the outcome of " + id.ToString() + " is decided when it restarts");
      r.txn = id;
      Send(t->client, r);
      t->client.reset();
    }
    return;
  }
  t->state = State::kCommitted;  // (C1): durable, now everyone may hear it
  t->acks_pending = t->yes_voters;
  ReplyToPtr client = std::move(t->client);
  t->client.reset();
  failpoints_.At(
      "coordinator.after_decision_logged",
      [this, id, client, result = std::move(t->result)] { SendCommits(id, client, result); });
}

void CoordinatorServer::SendCommits(const TxnId& id, const ReplyToPtr& client,
                                    const Reply& result) {
  std::vector<size_t> voters;
  if (auto it = txns_.find(id); it != txns_.end()) {
    voters.assign(it->second->acks_pending.begin(), it->second->acks_pending.end());
  }
  if (!voters.empty()) SendCommit(id, voters.front());
  failpoints_.At("coordinator.after_commit_sent_to_some", [this, id, client, result, voters] {
    for (size_t i = 1; i < voters.size(); i++) {
      auto it = txns_.find(id);
      if (it != txns_.end() && it->second->acks_pending.count(voters[i])) SendCommit(id, voters[i]);
    }
    failpoints_.At(
        "coordinator.after_commit_sent",
        [this, client, result] {
          if (client) Send(client, result);
        },
        [] {});  // error: the client hears nothing (OUTCOME_UNKNOWN at its end)
  });
}

void CoordinatorServer::SendCommit(const TxnId& id, size_t participant) {
  participants_.Call(
      participant, DecideCommitRequest{id}, options_.commit_retry,
      [this, id, participant](Result<Reply> r) {
        auto it = txns_.find(id);
        if (it == txns_.end()) return;
        Txn* t = it->second.get();
        if (r.ok() && r->code == ErrorCode::kHeuristicMixed) {
          // An operator forced ABORT there: nothing will ever acknowledge. Count it as heard.
          MarkHeuristicMixed(id, participants_.peer_name(participant), true);
          r = Reply{};
        }
        if (!r.ok() || !r->ok()) {
          if (r.ok()) {
            spdlog::error("{} refused DECIDE_COMMIT of {}: {} {}",
                          participants_.peer_name(participant), id.ToString(),
                          ErrorCodeName(r->code), r->error);
          }
          // Keep telling it until it acknowledges (C3); it may be down or restarting.
          loop_.RunAfter(
              r.ok() ? options_.commit_retry : std::chrono::milliseconds(0),
              [this, id, participant] {
                auto again = txns_.find(id);
                if (again != txns_.end() && again->second->acks_pending.count(participant)) {
                  SendCommit(id, participant);
                }
              });
          return;
        }
        if (t->acks_pending.erase(participant) == 0 || !t->acks_pending.empty()) return;
        failpoints_.At("coordinator.before_end_logged", [this, id] { LogEnd(id); });
      });
}

void CoordinatorServer::LogEnd(const TxnId& id) {
  auto it = txns_.find(id);
  if (it == txns_.end()) return;
  // Everyone knows: the decision may be forgotten. END need not be forced: if it is lost,
  // recovery re-sends a COMMIT that participants acknowledge again.
  Result<Lsn> end = log_->AppendLazy(wal::kEnd, wal::EndRecord{id}.Encode());
  if (!end.ok()) spdlog::warn("cannot log END of {}: {}", id.ToString(), end.status().ToString());
  if (it->second->recovered) {
    spdlog::info("{}: every participant acknowledged COMMIT", id.ToString());
  }
  Finish(id, Finished{true, AbortReason::kNone});
}

void CoordinatorServer::HandleAbort(const TxnId& id, ReplyToPtr to) {
  auto it = txns_.find(id);
  if (it != txns_.end() && it->second->state == State::kActive && it->second->client) {
    // An operation is still out (waiting for a lock, say): abort under it. Its reply, when
    // it comes, finds no transaction and is dropped.
    Txn* t = it->second.get();
    Abort(t,
          Reply::AbortedBecause(AbortReason::kClientAbort, "the client aborted " + id.ToString()));
    Reply ok;
    ok.txn = id;
    Send(to, ok);
    return;
  }
  Txn* t = ClientTxn(id, to);
  if (t == nullptr) return;
  t->client = std::move(to);
  Reply ok;
  ok.txn = id;
  Abort(t, ok);
}

void CoordinatorServer::Abort(Txn* t, Reply reply) {
  TxnId id = t->id;
  std::vector<size_t> touched;
  for (const auto& [p, ops] : t->participants) touched.push_back(p);
  const bool voting = t->state == State::kPreparing;
  ReplyToPtr client = std::move(t->client);
  AbortReason reason = reply.code == ErrorCode::kOk ? AbortReason::kClientAbort : reply.reason;
  if (reply.code != ErrorCode::kOk) reply.ts = t->ts;  // for a retry that keeps its age
  Finish(id, Finished{false, reason});                 // t is gone
  reply.txn = id;
  auto tell = [this, id, touched, client, reply](bool participants) {
    for (size_t p : participants ? touched : std::vector<size_t>{}) {
      // Presumed abort: no log record, and the acknowledgement is not needed (C4). A lost
      // DECIDE_ABORT is made good by the participant's idle timeout or outcome query.
      participants_.Call(p, DecideAbortRequest{id}, options_.commit_retry, [](Result<Reply>) {});
    }
    if (client) Send(client, reply);
  };
  if (!voting) {
    tell(true);
    return;
  }
  failpoints_.At(
      "coordinator.before_abort_sent", [tell] { tell(true); }, [tell] { tell(false); });
}

void CoordinatorServer::Finish(const TxnId& id, Finished f) {
  if (auto h = heuristics_.find(id); h != heuristics_.end()) {
    for (const auto& [participant, committed] : h->second) {
      if (committed != f.committed) MarkHeuristicMixed(id, participant, f.committed);
    }
    heuristics_.erase(h);
  }
  if (f.committed) {
    committed_++;
    if (f.one_phase) one_phase_committed_++;
  } else {
    aborted_[f.reason]++;
  }
  txns_.erase(id);
  if (finished_.insert_or_assign(id, f).second) finished_order_.push_back(id);
  while (finished_order_.size() > kFinishedMemory) {
    const TxnId& old = finished_order_.front();
    if (auto o = finished_.find(old); o != finished_.end() && o->second.one_phase) {
      if (!one_phase_forgotten_ || recovery::IdBefore(*one_phase_forgotten_, old)) {
        one_phase_forgotten_ = old;
      }
    }
    finished_.erase(old);
    finished_order_.pop_front();
  }
}

void CoordinatorServer::HandleAbortNotice(const AbortNoticeRequest& req, const ReplyToPtr& to) {
  Send(to, Reply{});  // nothing for the participant to wait for
  auto it = txns_.find(req.txn);
  if (it == txns_.end()) return;  // already over
  Txn* t = it->second.get();
  // Only a transaction that has not voted can be rolled back by a participant, so it cannot
  // be deciding or committed here; if it is, the notice is stale (a repeat): ignore it.
  if (t->state != State::kActive && t->state != State::kPreparing) return;
  spdlog::debug("{}: a participant rolled back its part ({}): aborting it everywhere",
                req.txn.ToString(), AbortReasonName(req.reason));
  AbortReason reason =
      req.reason != AbortReason::kNone ? req.reason : AbortReason::kOperationFailed;
  Abort(t, Reply::AbortedBecause(reason,
                                 req.error.empty() ? "a participant rolled it back" : req.error));
}

void CoordinatorServer::HandleHeuristicReport(const HeuristicReportRequest& req,
                                              const ReplyToPtr& to) {
  // Only a participant of the layout can have forced an outcome; anything else is refused
  // before it is stored (names are kept per transaction and in the HEURISTIC_MIXED list).
  const auto& ps = config_.participants();
  if (std::none_of(ps.begin(), ps.end(),
                   [&](const NodeInfo* p) { return p->name == req.participant; })) {
    Send(to, Reply::Error(ErrorCode::kMalformedRequest,
                          "HEURISTIC_REPORT from '" + PrintableBytes(req.participant, 64) +
                              "', which is not a participant of the cluster layout"));
    return;
  }
  Send(to, Reply{});
  spdlog::warn("{}: {} reports a heuristic {} forced by an operator", req.txn.ToString(),
               req.participant, req.committed ? "COMMIT" : "ABORT");
  if (auto it = txns_.find(req.txn); it != txns_.end()) {
    const State st = it->second->state;
    if (st == State::kCommitted || st == State::kDeciding) {
      // Decided COMMIT (or logging it: (C1) nobody else may hear otherwise).
      if (!req.committed) MarkHeuristicMixed(req.txn, req.participant, true);
      return;
    }
    // Not decided yet: compare when it finishes.
    heuristics_[req.txn][req.participant] = req.committed;
    return;
  }
  auto f = finished_.find(req.txn);
  bool committed;
  if (f != finished_.end()) {
    committed = f->second.committed;
  } else {
    // Not running: the decision is what QUERY_OUTCOME would say (history, horizon, presumed
    // abort). An UNKNOWN cannot be compared: say so rather than guess a contradiction.
    const Outcome o = req.txn.coordinator == index_ ? history_->Lookup(req.txn) : Outcome::kUnknown;
    if (o == Outcome::kUnknown) {
      spdlog::warn(
          "{}: cannot compare the heuristic {} of {} with a decision: it is older than "
          "the outcomes {} keeps",
          req.txn.ToString(), req.committed ? "COMMIT" : "ABORT", req.participant, self_->name);
      return;
    }
    committed = o == Outcome::kCommitted;
  }
  if (req.committed != committed) MarkHeuristicMixed(req.txn, req.participant, committed);
}

void CoordinatorServer::MarkHeuristicMixed(const TxnId& id, const std::string& participant,
                                           bool decided_commit) {
  std::string detail = participant + " was forced to " + (decided_commit ? "ABORT" : "COMMIT") +
                       " by an operator; the decision was " + (decided_commit ? "COMMIT" : "ABORT");
  for (const TxnStatus& m : mixed_) {
    if (m.txn == id && m.detail == detail) return;  // a repeated report
  }
  spdlog::error("HEURISTIC_MIXED {}: {}", id.ToString(), detail);
  heuristic_mixed_++;
  TxnStatus m{id, "HEURISTIC_MIXED", 0, 0, 0, std::nullopt, detail};
  mixed_.push_back(std::move(m));
  if (mixed_.size() > 1000) mixed_.pop_front();
}

void CoordinatorServer::HandleStatus(const StatusRequest& req, const ReplyToPtr& to) {
  static constexpr const char* kStateNames[] = {"ACTIVE", "PREPARING", "DECIDING", "COMMITTED",
                                                "RESOLVING"};
  const size_t limit =
      std::min(req.limit.value_or(StatusRequest::kDefaultLimit), StatusRequest::kMaxLimit);
  const auto now = EventLoop::Now();
  auto ms_since = [now](EventLoop::Clock::time_point t) {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(now - t).count());
  };
  auto names = [this](const auto& indexes) {
    std::string out;
    for (size_t p : indexes) {
      if (!out.empty()) out += ", ";
      out += config_.participants()[p]->name;
    }
    return out;
  };
  NodeStatus st;
  st.uptime_ms = ms_since(started_at_);
  uint64_t by_state[5] = {};
  std::vector<const Txn*> txns;
  txns.reserve(txns_.size());
  for (const auto& [id, t] : txns_) {
    by_state[static_cast<int>(t->state)]++;
    txns.push_back(t.get());
  }
  st.txns_total = txns.size();
  size_t n = std::min(limit, txns.size());
  std::partial_sort(txns.begin(), txns.begin() + static_cast<ptrdiff_t>(n), txns.end(),
                    [](const Txn* a, const Txn* b) {
                      return std::tie(a->created_at, a->id) < std::tie(b->created_at, b->id);
                    });
  size_t listed = 0;  // bytes of entries so far (kStatusListBudget)
  for (size_t i = 0; i < n; i++) {
    const Txn* t = txns[i];
    TxnStatus ts{t->id, kStateNames[static_cast<int>(t->state)],
                 t->ts, ms_since(t->created_at),
                 0,     std::nullopt,
                 ""};
    std::vector<size_t> touched;
    for (const auto& [p, ops] : t->participants) touched.push_back(p);
    switch (t->state) {
      case State::kActive:
        ts.detail = touched.empty() ? "no operation yet" : "touched " + names(touched);
        break;
      case State::kPreparing:
        ts.detail = std::string(t->one_phase ? "one-phase commit: " : "") +
                    "waiting for votes of " + names(t->votes_pending);
        break;
      case State::kResolving:
        ts.detail =
            "one-phase commit whose vote was lost: asking " + names(touched) + " what it did";
        break;
      case State::kDeciding:
        ts.detail = "logging the COMMIT decision";
        break;
      case State::kCommitted:
        ts.detail = std::string(t->recovered ? "decision recovered from the log; " : "") +
                    "waiting for acknowledgements of " + names(t->acks_pending);
        break;
    }
    if ((listed += EncodedSizeBound(ts)) > kStatusListBudget) break;
    st.txns.push_back(std::move(ts));
  }
  // The heuristic contradictions last: they need an operator.
  for (auto m = mixed_.rbegin(); m != mixed_.rend() && st.txns.size() < limit; ++m) {
    if ((listed += EncodedSizeBound(*m)) > kStatusListBudget) break;
    st.txns.push_back(*m);
  }
  auto& c = st.counters;
  c.emplace_back("txns_active", by_state[static_cast<int>(State::kActive)]);
  c.emplace_back("txns_preparing", by_state[static_cast<int>(State::kPreparing)]);
  c.emplace_back("txns_deciding", by_state[static_cast<int>(State::kDeciding)]);
  c.emplace_back("txns_committed_unacknowledged", by_state[static_cast<int>(State::kCommitted)]);
  c.emplace_back("txns_resolving", by_state[static_cast<int>(State::kResolving)]);
  c.emplace_back("committed", committed_);
  c.emplace_back("one_phase_committed", one_phase_committed_);
  c.emplace_back("heuristic_mixed", heuristic_mixed_);
  AddAbortCounters(aborted_, &st);
  c.emplace_back("wal_durable_lsn", log_->durable_lsn());
  uint64_t held = 0;
  auto armed = failpoints_.Armed();
  for (const auto& p : armed) held += p.held;
  c.emplace_back("failpoints_armed", armed.size());
  c.emplace_back("failpoints_held", held);
  AddBatchingCounters(replies_, {&participants_}, &st);
  Reply r;
  r.node = self_->name;
  r.role = "coordinator";
  r.status = std::move(st);
  Send(to, r);
}

void CoordinatorServer::HandleQueryOutcome(const QueryOutcomeRequest& req, const ReplyToPtr& to) {
  const TxnId& id = req.txn;
  Reply r;
  r.txn = id;
  auto it = txns_.find(id);
  if (id.coordinator != index_) {
    // Another coordinator's transaction: this one never held its decision and cannot presume
    // anything about it.
    r.outcome = Outcome::kUnknown;
  } else if (it != txns_.end()) {
    r.outcome = it->second->state == State::kCommitted ? Outcome::kCommitted : Outcome::kPending;
  } else if (auto f = finished_.find(id); f != finished_.end()) {
    r.outcome = f->second.committed ? Outcome::kCommitted : Outcome::kAborted;
  } else {
    // COMMITTED if its decision is in the history; UNKNOWN at or below the forgotten horizon
    // (it may have committed, its record since trimmed); ABORTED above it (C4). That holds
    // for ids of earlier incarnations too, whose runs this process never saw: a decision is
    // forced to the log before anyone hears COMMIT (C1), and a record leaves the log only
    // when it is unfinished no longer (C3), no longer among the newest --outcome-history and
    // covered by the horizon on disk (C5). So a transaction above the horizon that committed
    // by two-phase commit still has its record in the log, and replay put it into history_
    // (or txns_, if unfinished); one that is in neither never reached a durable decision.
    // A transaction that committed without a decision (read-only, or touching no
    // participant) is known only in memory (finished_); after a restart it reads ABORTED,
    // which changes nothing: it wrote nothing.
    r.outcome = history_->Lookup(id);
    // But a one-phase commit leaves no record here at all: its participant decided. Unless
    // the asker holds the transaction uncommitted itself (a participant: then it was not a
    // one-phase commit anywhere), or it is of this run and newer than any one-phase commit
    // finished_ has dropped (it would be there), the participants must be asked.
    const bool known_not_one_phase =
        req.holder || (id.incarnation == incarnation_ &&
                       (!one_phase_forgotten_ || recovery::IdBefore(*one_phase_forgotten_, id)));
    if (r.outcome == Outcome::kAborted && !known_not_one_phase) {
      AskParticipantsAbout(id, to);
      return;
    }
  }
  Send(to, r);
}

void CoordinatorServer::AskParticipantsAbout(const TxnId& id, const ReplyToPtr& to) {
  struct Round {
    size_t waiting = 0;
    bool committed = false, pending = false;
    std::string unsure;  // participants that could not tell (or did not answer)
  };
  auto round = std::make_shared<Round>();
  const size_t n = config_.participants().size();
  round->waiting = n;
  if (n == 0) {
    Reply answer;
    answer.txn = id;
    answer.outcome = Outcome::kAborted;
    Send(to, answer);
    return;
  }
  for (size_t p = 0; p < n; p++) {
    participants_.Call(
        p, QueryOutcomeRequest{id, /*holder=*/false, /*one_phase=*/true}, options_.vote_timeout,
        [this, id, to, round, p](Result<Reply> r) {
          const Outcome o = r.ok() && r->ok() && r->outcome ? *r->outcome : Outcome::kUnknown;
          if (o == Outcome::kCommitted) {
            round->committed = true;
          } else if (o == Outcome::kPending) {
            round->pending = true;
          } else if (o != Outcome::kAborted) {
            round->unsure += (round->unsure.empty() ? "" : ", ") + participants_.peer_name(p) +
                             (r.ok() ? " does not remember it" : " did not answer");
          }
          if (--round->waiting > 0) return;
          Reply answer;
          answer.txn = id;
          if (round->committed) {
            answer.outcome = Outcome::kCommitted;  // a one-phase commit
          } else if (round->pending) {
            answer.outcome = Outcome::kPending;
          } else if (!round->unsure.empty()) {
            answer.outcome = Outcome::kUnknown;
            answer.error =
                "it has no commit decision here, but it may have committed by "
                "one-phase commit, and " +
                round->unsure;
          } else {
            // No decision here, and every participant says it did not commit it by one-phase
            // commit (and now never will): presumed abort.
            answer.outcome = Outcome::kAborted;
          }
          Send(to, answer);
        });
  }
}

void CoordinatorServer::SweepIdle() {
  auto now = EventLoop::Now();
  std::vector<TxnId> idle;
  for (const auto& [id, t] : txns_) {
    if (t->state == State::kActive && !t->client &&
        now - t->last_activity > options_.txn_idle_timeout) {
      idle.push_back(id);
    }
  }
  for (const TxnId& id : idle) {
    spdlog::info("{} -> ABORT: no request for {} ms", id.ToString(),
                 options_.txn_idle_timeout.count());
    Abort(txns_.at(id).get(), Reply::AbortedBecause(AbortReason::kIdleTimeout, "idle timeout"));
  }
  TrimLog();
  loop_.RunAfter(std::chrono::milliseconds(1000), [this] { SweepIdle(); });
}

void CoordinatorServer::TrimLog() {
  // (C3): a decision record stays until END. (C5): so do the history's, the newest
  // --outcome-history decisions. Everything below the oldest of them (and below the log's
  // end, when there is none) may go.
  Lsn keep = log_->last_lsn() + 1;
  for (const auto& [id, t] : txns_) {
    if (t->decision_lsn != 0) keep = std::min(keep, t->decision_lsn);
  }
  if (auto oldest = history_->oldest_lsn()) keep = std::min(keep, *oldest);
  if (keep <= trimmed_before_) return;
  trimmed_before_ = keep;
  // Every decision below `keep` was added to history_ (at LogDecision or at start-up) and has
  // left it since, so the horizon taken now covers it (H1). It goes to disk before any
  // segment does: a crash in between leaves a higher horizon and all the segments, which
  // only turns some ABORTED answers into UNKNOWN, never the other way round (C5).
  trimmer_->Post([this, log = log_.get(), keep, horizon = history_->horizon()] {
    if (!TrimWouldRemove(*log, keep)) return;  // no needless fsyncs of the horizon file
    if (!horizon_file_exists_ || horizon != horizon_on_disk_) {
      Status s = WriteFileDurably(options_.data_dir + "/outcome-horizon",
                                  recovery::FormatOutcomeHorizon(horizon));
      if (!s.ok()) {
        // The segments stay: a longer log is better than a false ABORTED after a restart.
        spdlog::warn("cannot write the outcome horizon, so the decision log is not trimmed: {}",
                     s.ToString());
        return;
      }
      horizon_file_exists_ = true;
      horizon_on_disk_ = horizon;
    }
    Status s = log->RemoveSegmentsBefore(keep);
    if (!s.ok()) spdlog::warn("cannot trim the decision log: {}", s.ToString());
  });
}

}  // namespace kv2pc::coordinator
