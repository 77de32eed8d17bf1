// Resolving in-doubt transactions at a participant (docs/recovery.md): the periodic sweep that
// asks coordinators for outcomes (with backoff), cooperative termination among the
// participants of a transaction (asking and answering QUERY_OUTCOME), and the operator's
// IN_DOUBT and RESOLVE with the HEURISTIC_REPORT that follows. The rest of the participant is
// in participant_server.cc.
#include <algorithm>
#include <set>
#include <tuple>

#include "common/logging.h"
#include "participant/participant_server.h"
#include "wal/record.h"

namespace kv2pc::participant {

namespace {
constexpr size_t kHeuristicMemory = 100000;  // forced outcomes remembered (FIFO)

Reply OkReply() { return Reply{}; }

// "coordinator-0 unreachable (no answer within 2000 ms)": one clause of an in-doubt account.
std::string CannotAsk(const std::string& node, const Status& s, std::chrono::milliseconds timeout) {
  if (s.IsUnavailable()) return node + " unreachable (not connected)";
  if (s.IsTimedOut()) {
    return node + " unreachable (no answer within " + std::to_string(timeout.count()) + " ms)";
  }
  return node + " cannot answer (" + s.message() + ")";
}
}  // namespace

void ParticipantServer::HandleInDoubt(const InDoubtRequest& req, const ReplyToPtr& to) {
  constexpr size_t kKeysShown = 100;
  const size_t limit =
      std::min(req.limit.value_or(StatusRequest::kDefaultLimit), StatusRequest::kMaxLimit);
  const auto now = EventLoop::Now();
  std::vector<const Transaction*> prepared;
  for (const auto& [id, t] : txns_) {
    if (t->state == TxnState::kPrepared) prepared.push_back(t.get());
  }
  std::sort(prepared.begin(), prepared.end(), [](const Transaction* a, const Transaction* b) {
    return std::tie(a->prepare_lsn, a->id) < std::tie(b->prepare_lsn, b->id);
  });
  std::vector<InDoubtTxn> list;
  size_t listed = 0;  // bytes (kStatusListBudget)
  for (const Transaction* t : prepared) {
    if (list.size() >= limit) break;
    InDoubtTxn d;
    d.txn = t->id;
    d.coordinator = CoordinatorName(t->id.coordinator);
    d.age_ms = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(now - t->prepared_at).count());
    d.prepare_lsn = t->prepare_lsn;
    d.recovered = t->recovered;
    d.participants = t->participants;
    d.keys_total = t->writes.size();
    std::set<TxnId> waiters;
    for (const auto& [key, value] : t->writes) {
      if (d.keys.size() < kKeysShown) d.keys.push_back(key);
      for (const TxnId& w : locks_.WaitersOn(key)) {
        if (waiters.size() < kKeysShown) waiters.insert(w);
      }
    }
    d.waiters.assign(waiters.begin(), waiters.end());
    d.why = t->undecided_why.empty()
                ? "waiting for the decision of " + d.coordinator + " (not asked yet)"
                : t->undecided_why;
    if ((listed += EncodedSizeBound(d)) > kStatusListBudget) break;
    list.push_back(std::move(d));
  }
  Reply r;
  r.node = self_->name;
  r.in_doubt = std::move(list);
  Send(to, r);
}

void ParticipantServer::HandleResolve(const ResolveRequest& req, const ReplyToPtr& to) {
  auto it = txns_.find(req.txn);
  if (it == txns_.end() || it->second->state != TxnState::kPrepared) {
    Reply r;
    auto f = finished_.find(req.txn);
    if (it != txns_.end()) {
      r = Reply::Error(ErrorCode::kTxnBusy, req.txn.ToString() + " is " +
                                                TxnStateName(it->second->state) + " at " +
                                                self_->name + ", not in doubt");
    } else if (f != finished_.end() && f->second.read_only) {
      r = Reply::Error(ErrorCode::kTxnNotFound, req.txn.ToString() + " is not in doubt at " +
                                                    self_->name + " (it voted READ_ONLY here)");
    } else if (f != finished_.end()) {
      r = Reply::Error(
          f->second.committed ? ErrorCode::kTxnAlreadyCommitted : ErrorCode::kTxnAlreadyAborted,
          req.txn.ToString() + " is already " + (f->second.committed ? "committed" : "aborted") +
              " at " + self_->name);
    } else {
      r = Reply::Error(ErrorCode::kTxnNotFound,
                       req.txn.ToString() + " is not in doubt at " + self_->name);
    }
    Send(to, r);
    return;
  }
  Transaction* t = it->second.get();
  const TxnId id = t->id;
  spdlog::error(
      "HEURISTIC {} -> {}: forced by an operator (kv2pc resolve --force), not decided by {}; "
      "if {} decided otherwise the transaction is HEURISTIC_MIXED",
      id.ToString(), req.commit ? "COMMIT" : "ABORT", CoordinatorName(id.coordinator),
      CoordinatorName(id.coordinator));
  if (req.commit) {
    CommitPrepared(t, to);  // answers when the COMMIT record is durable
    // If the COMMIT record could not even be appended, the transaction stays PREPARED and
    // `to` heard INTERNAL_ERROR: nothing was forced, nothing to report.
    if (auto again = txns_.find(id);
        again != txns_.end() && again->second->state == TxnState::kPrepared) {
      return;
    }
  } else {
    Status logged;
    AbortTxn(t, AbortReason::kClientAbort, "forced to ABORT by an operator (kv2pc resolve)",
             &logged);  // t is gone
    if (!logged.ok()) {
      // Unlike a presumed abort, a forced one must not come back in doubt after a restart.
      Send(to, Reply::Error(ErrorCode::kInternalError,
                            "cannot log the forced ABORT: " + logged.ToString()));
      return;
    }
    waiters_->WhenDurable(log_->last_lsn(), [this, to](const Status& st) {
      Send(to, st.ok() ? OkReply() : Reply::Error(ErrorCode::kInternalError, st.ToString()));
    });
  }
  heuristic_[id] = req.commit;
  heuristic_order_.push_back(id);
  while (heuristic_order_.size() > kHeuristicMemory) {
    heuristic_.erase(heuristic_order_.front());
    heuristic_order_.pop_front();
  }
  reports_pending_[id] = req.commit;
  SendHeuristicReport(id, req.commit);
}

void ParticipantServer::SendHeuristicReport(const TxnId& id, bool committed) {
  auto peer = coordinator_peer_.find(id.coordinator);
  if (peer == coordinator_peer_.end()) {
    reports_pending_.erase(id);
    return;
  }
  if (!reports_in_flight_.insert(id).second) return;  // one at a time per transaction
  coordinators_.Call(peer->second, HeuristicReportRequest{id, committed, self_->name},
                     options_.outcome_query_timeout, [this, id](Result<Reply> r) {
                       // Until acknowledged, Sweep sends it again.
                       reports_in_flight_.erase(id);
                       if (r.ok() && r->ok()) reports_pending_.erase(id);
                     });
}

void ParticipantServer::Sweep() {
  auto now = EventLoop::Now();
  std::vector<TxnId> ask;
  for (auto& [id, t] : txns_) {
    bool idle = t->state == TxnState::kActive && t->waiting_op == nullptr &&
                now - t->last_activity > options_.txn_idle_timeout;
    bool undecided = t->state == TxnState::kPrepared &&
                     (t->recovered || now - t->prepared_at >= options_.outcome_query_interval) &&
                     now >= t->next_query_at;  // backing off while the coordinator is down
    if ((idle || undecided) && !t->asking_outcome) ask.push_back(id);
  }
  for (const TxnId& id : ask) QueryOutcome(id);
  for (const auto& [id, committed] : reports_pending_) SendHeuristicReport(id, committed);
  loop_.RunAfter(options_.outcome_query_interval, [this] { Sweep(); });
}

void ParticipantServer::NoticeAbort(const TxnId& id, AbortReason reason, const std::string& why) {
  auto peer = coordinator_peer_.find(id.coordinator);
  if (peer == coordinator_peer_.end()) return;
  // Best effort: if it is lost, the transaction learns at its next request here or at PREPARE.
  coordinators_.Call(peer->second, AbortNoticeRequest{id, reason, why},
                     options_.outcome_query_timeout, [](Result<Reply>) {});
}

void ParticipantServer::QueryOutcome(const TxnId& id) {
  auto it = txns_.find(id);
  if (it == txns_.end()) return;
  it->second->asking_outcome = true;  // until OnOutcome (or the fellows' round) ends it
  std::string coordinator = CoordinatorName(id.coordinator);
  auto peer = coordinator_peer_.find(id.coordinator);
  if (peer == coordinator_peer_.end()) {
    OnOutcome(id, coordinator, Status::NotFound(coordinator + " is not in the cluster layout"));
    return;
  }
  coordinators_.Call(
      peer->second, QueryOutcomeRequest{id, /*holder=*/true}, options_.outcome_query_timeout,
      [this, id, coordinator](Result<Reply> r) {
        if (r.ok() && !r->ok()) {
          r = Status::Internal(std::string(ErrorCodeName(r->code)) + ": " + r->error);
        } else if (r.ok() && !r->outcome) {
          r = Status::Internal("reply without an outcome");
        }
        OnOutcome(id, coordinator, std::move(r));
      });
}

void ParticipantServer::OnOutcome(const TxnId& id, const std::string& coordinator,
                                  Result<Reply> r) {
  auto it = txns_.find(id);
  if (it == txns_.end()) return;
  Transaction* t = it->second.get();
  t->asking_outcome = false;
  std::optional<Outcome> outcome;
  if (r.ok()) outcome = r->outcome;
  if (t->state == TxnState::kActive) {
    // Idle. Only a transaction its coordinator no longer runs is abandoned; an ACTIVE one may
    // be aborted here unilaterally (we have not voted), so an unreachable coordinator counts.
    if (outcome == Outcome::kPending) {
      t->last_activity = EventLoop::Now();  // still running elsewhere: check again later
      return;
    }
    std::string why = outcome ? coordinator + " no longer runs it"
                              : coordinator + " cannot be asked (" + r.status().message() + ")";
    spdlog::info("{} -> ABORT: idle for {} ms while ACTIVE, and {}", id.ToString(),
                 options_.txn_idle_timeout.count(), why);
    AbortTxn(t, AbortReason::kIdleTimeout, "idle transaction abandoned: " + why);
    return;
  }
  if (t->state != TxnState::kPrepared) return;
  if (!r.ok()) {
    // (I2) a PREPARED transaction waits for the decision, however long it takes; but a fellow
    // participant may know it. Meanwhile, ask the coordinator less often.
    BackOffOutcomeQueries(t);
    AskFellowParticipants(t, CannotAsk(coordinator, r.status(), options_.outcome_query_timeout));
    return;
  }
  if (*outcome == Outcome::kUnknown) {
    // Its own coordinator does not know it: the id is at or below its forgotten horizon and
    // not in its outcome history. For a transaction PREPARED here that means ABORT: a COMMIT
    // decision is kept in the coordinator's log until every YES voter -- this participant
    // among them -- has acknowledged it (C3), and reloaded at every restart, so a COMMIT we
    // have not acknowledged is always known there (docs/protocol.md, 5.10).
    t->recovered = false;
    spdlog::info(
        "{} -> ABORT: {} has no decision record (older than its forgotten horizon; a COMMIT "
        "would be kept until this participant acknowledged it): presumed abort",
        id.ToString(), coordinator);
    DecideAbort(id, nullptr, "presumed abort: no decision record at " + coordinator);
    return;
  }
  t->query_backoff = std::chrono::milliseconds(0);  // it answers: back to the normal pace
  t->next_query_at = {};
  switch (*outcome) {
    case Outcome::kPending:
      // Still collecting votes (or making its decision durable): normal 2PC, not worth a line.
      t->undecided_why = coordinator + ": still deciding";
      return;
    case Outcome::kUnknown:
      return;  // handled above
    case Outcome::kCommitted:
      t->recovered = false;  // the line below says where the decision came from
      spdlog::info("{} -> COMMIT: decision record at {}", id.ToString(), coordinator);
      DecideCommit(id, nullptr);
      return;
    case Outcome::kAborted:
      t->recovered = false;
      spdlog::info("{} -> ABORT: no decision record at {} (presumed abort)", id.ToString(),
                   coordinator);
      DecideAbort(id, nullptr, "presumed abort: no decision record at " + coordinator);
      return;
  }
}

void ParticipantServer::BackOffOutcomeQueries(Transaction* t) {
  t->query_backoff = t->query_backoff.count() == 0
                         ? options_.outcome_query_interval
                         : std::min(2 * t->query_backoff, options_.outcome_query_max_interval);
  t->next_query_at = EventLoop::Now() + t->query_backoff;
}

// ---- Cooperative termination ----

struct ParticipantServer::FellowRound {
  std::string coordinator_account;   // why the coordinator could not say
  std::vector<std::string> names;    // the fellows asked, in the PREPARE's order
  std::vector<std::string> answers;  // "participant-2: in doubt too", by index into names
  size_t pending = 0;                // questions not answered yet
  bool decided = false;              // an answer decided (or the round no longer matters)
};

void ParticipantServer::AskFellowParticipants(Transaction* t,
                                              const std::string& coordinator_account) {
  auto round = std::make_shared<FellowRound>();
  round->coordinator_account = coordinator_account;
  std::vector<std::optional<size_t>> peers;  // by index into names; nullopt: not in the layout
  for (const std::string& name : t->participants) {
    if (name == self_->name) continue;
    round->names.push_back(name);
    auto p = fellow_peer_.find(name);
    if (p == fellow_peer_.end()) {
      round->answers.push_back(name + ": not in the cluster layout");
      peers.emplace_back(std::nullopt);
    } else {
      round->answers.emplace_back();
      peers.emplace_back(p->second);
      round->pending++;
    }
  }
  if (round->pending == 0) {
    std::string why = coordinator_account;
    if (t->participants.empty()) {
      why += "; no fellow participant to ask (its PREPARE did not name them)";
    } else if (round->names.empty()) {
      why += "; no fellow participant to ask (the only one)";
    }
    for (const std::string& a : round->answers) why += "; " + a;
    SetUndecidedWhy(t, std::move(why));
    return;
  }
  t->asking_outcome = true;  // until the last answer (or a deciding one)
  const TxnId id = t->id;
  for (size_t i = 0; i < peers.size(); i++) {
    if (!peers[i]) continue;
    fellows_.Call(
        *peers[i], QueryOutcomeRequest{id}, options_.outcome_query_timeout,
        [this, id, round, i](Result<Reply> r) { OnFellowOutcome(id, round, i, std::move(r)); });
  }
}

void ParticipantServer::OnFellowOutcome(const TxnId& id, const std::shared_ptr<FellowRound>& round,
                                        size_t i, Result<Reply> r) {
  round->pending--;
  if (round->decided) return;
  auto it = txns_.find(id);
  if (it == txns_.end() || it->second->state != TxnState::kPrepared) {
    round->decided = true;  // decided meanwhile (e.g. DECIDE_COMMIT from a restarted coordinator)
    return;
  }
  Transaction* t = it->second.get();
  const std::string& name = round->names[i];
  std::optional<Outcome> outcome;
  if (r.ok() && r->ok()) outcome = r->outcome;
  if (outcome == Outcome::kCommitted || outcome == Outcome::kAborted) {
    // A fellow committed only on the decision COMMIT, and aborted only on the decision ABORT
    // or before voting YES (so the coordinator could not have decided COMMIT): either way
    // this is the coordinator's decision (I2).
    round->decided = true;
    t->asking_outcome = false;
    t->recovered = false;  // the line below says where the decision came from
    t->query_backoff = std::chrono::milliseconds(0);
    const std::string how =
        "learned from " + name + " (cooperative termination; " + round->coordinator_account + ")";
    if (*outcome == Outcome::kCommitted) {
      spdlog::info("{} -> COMMIT: {}", id.ToString(), how);
      DecideCommit(id, nullptr);
    } else {
      spdlog::info("{} -> ABORT: {}", id.ToString(), how);
      DecideAbort(id, nullptr, "aborted at " + name + " (cooperative termination)");
    }
    return;
  }
  if (outcome == Outcome::kPending) {
    round->answers[i] = name + ": in doubt too";
  } else if (outcome == Outcome::kUnknown) {
    round->answers[i] = name + ": does not know it";
  } else if (!r.ok() && (r.status().IsUnavailable() || r.status().IsTimedOut())) {
    round->answers[i] = name + ": no answer";
  } else if (!r.ok()) {
    round->answers[i] = name + ": " + r.status().message();
  } else if (!r->ok()) {
    round->answers[i] = name + ": " + std::string(ErrorCodeName(r->code)) + " (" + r->error + ")";
  } else {
    round->answers[i] = name + ": answered without an outcome";
  }
  if (round->pending > 0) return;
  t->asking_outcome = false;
  std::string why = round->coordinator_account;
  for (const std::string& a : round->answers) why += "; " + a;
  SetUndecidedWhy(t, std::move(why));
}

void ParticipantServer::SetUndecidedWhy(Transaction* t, std::string why) {
  if (why == t->undecided_why) return;  // said already: no new line every round
  spdlog::warn("{} stays in doubt: {}", t->id.ToString(), why);
  t->undecided_why = std::move(why);
}

void ParticipantServer::HandleQueryOutcome(const QueryOutcomeRequest& req, const ReplyToPtr& to) {
  // Asked by a fellow participant of req.txn that is in doubt and cannot reach the coordinator
  // (cooperative termination). It acts on COMMITTED and ABORTED at once, so those two answers
  // must be the coordinator's decision; anything less certain is PENDING or UNKNOWN.
  const TxnId& id = req.txn;
  Reply r;
  r.txn = id;
  auto f = finished_.find(id);
  auto it = txns_.find(id);
  if (heuristic_.count(id) != 0) {
    // An operator forced the outcome here (kv2pc resolve): that is not the decision, and
    // passing it on would spread a possibly wrong guess to participants that can still learn
    // the real one.
    r.outcome = Outcome::kUnknown;
  } else if (it != txns_.end()) {
    Transaction* t = it->second.get();
    switch (t->state) {
      case TxnState::kCommitted:  // decided COMMIT; the record is on its way to the disk
        r.outcome = Outcome::kCommitted;
        break;
      case TxnState::kAborted:
        r.outcome = Outcome::kAborted;
        break;
      case TxnState::kPreparing:  // voting (or voted) YES: only the decision can end it here
      case TxnState::kPrepared:
        r.outcome = Outcome::kPending;
        break;
      case TxnState::kActive: {
        // We have not voted, so we may still abort: then we will vote NO, the coordinator
        // cannot decide COMMIT, and ABORTED is the transaction's outcome, which the asker can
        // act on. Answering PENDING instead would leave it blocked for as long as the
        // coordinator stays away, though nothing here would ever decide it.
        const std::string why = id.ToString() + " was ACTIVE at " + self_->name +
                                " when a fellow participant in doubt asked for its outcome; " +
                                "aborted here (cooperative termination), so it cannot commit";
        spdlog::info(
            "{} -> ABORT: a fellow participant asked for its outcome while it was "
            "ACTIVE here (cooperative termination; it can no longer vote YES)",
            id.ToString());
        const bool tell_coordinator = t->waiting_op == nullptr;  // else its answer tells it
        AbortTxn(t, AbortReason::kPeerTermination, why);         // t is gone
        if (tell_coordinator) NoticeAbort(id, AbortReason::kPeerTermination, why);
        r.outcome = Outcome::kAborted;
        break;
      }
    }
  } else if (f != finished_.end() && !f->second.read_only) {
    r.outcome = f->second.committed ? Outcome::kCommitted : Outcome::kAborted;
  } else {
    // UNKNOWN, never ABORTED (presumed abort is the coordinator's rule, not ours). A
    // participant that does not know a transaction cannot tell "never got any of its work"
    // (it was lost in a restart, or is still on its way) from "committed it long ago and
    // forgot": finished_ is bounded, and after a checkpoint the log that recorded the COMMIT
    // is trimmed. Answering ABORTED in the second case would make the asker abort a
    // transaction that committed here: atomicity lost. Likewise after a READ_ONLY vote: this
    // participant left the transaction before it was decided, and knows nothing of the
    // outcome.
    r.outcome = Outcome::kUnknown;
  }
  Send(to, r);
}

}  // namespace kv2pc::participant

namespace kv2pc::participant {

void ParticipantServer::HandleOnePhaseQuery(const QueryOutcomeRequest& req, const ReplyToPtr& to) {
  // Asked by a coordinator that cannot know on its own whether this participant committed the
  // transaction by one-phase commit: it logs nothing for those (docs/protocol.md 5.10d). The
  // answer must stay true after it is given, so "not committed" first makes sure the
  // transaction never will be.
  const TxnId& id = req.txn;
  Reply r;
  r.txn = id;
  auto it = txns_.find(id);
  auto f = finished_.find(id);
  if (it != txns_.end()) {
    Transaction* t = it->second.get();
    if (t->one_phase) {
      r.outcome = Outcome::kPending;  // ONE_PHASE_COMMIT on its way to the disk: ask again
    } else if (t->state == TxnState::kCommitted) {
      r.outcome = Outcome::kCommitted;  // by two-phase commit; its record is on its way
    } else if (t->state == TxnState::kActive) {
      // Its one-phase PREPARE has not been acted on (lost, or queued behind a lock wait):
      // abort, so that the PREPARE, if it comes, finds nothing to commit.
      const std::string why = id.ToString() + " was ACTIVE at " + self_->name +
                              " when its coordinator asked about its one-phase commit; "
                              "aborted here, so it cannot commit";
      spdlog::info(
          "{} -> ABORT: its coordinator asked about its one-phase commit while it was "
          "ACTIVE here",
          id.ToString());
      AbortTxn(t, AbortReason::kOutcomeProbe, why);  // t is gone
      r.outcome = Outcome::kAborted;
    } else {
      // PREPARING or PREPARED by two-phase commit: not a one-phase commit here (and its
      // coordinator's log, not this answer, says whether it commits).
      r.outcome = Outcome::kAborted;
      r.error = id.ToString() + " is " + TxnStateName(t->state) + " here by two-phase commit";
    }
  } else if (f != finished_.end()) {
    r.outcome =
        f->second.committed && !f->second.read_only ? Outcome::kCommitted : Outcome::kAborted;
  } else {
    switch (one_phase_memory_.Lookup(id)) {
      case OnePhaseMemory::Answer::kCommitted:
        r.outcome = Outcome::kCommitted;
        break;
      case OnePhaseMemory::Answer::kForgotten:
        // Older than the newest kOnePhaseMemory one-phase commits: it may be one of those
        // forgotten.
        r.outcome = Outcome::kUnknown;
        break;
      case OnePhaseMemory::Answer::kNotCommitted:
        // Never committed here by one-phase commit. Its work may still be on its way (from a
        // coordinator that crashed, over a connection read after this one): remember the
        // abort, so that a late first WRITE finds the transaction aborted instead of new.
        Forget(id, false, AbortReason::kOutcomeProbe);
        r.outcome = Outcome::kAborted;
        break;
    }
  }
  Send(to, r);
}

}  // namespace kv2pc::participant
