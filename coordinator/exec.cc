// EXEC: a transaction's operations in one client request (docs/protocol.md 5.6b), and the
// PREPARE that may carry its last writes. See coordinator_server.h.
//
// The operations of one EXEC are grouped by participant. Each participant gets its share one
// READ/WRITE at a time, in request order (a GET after a PUT of the same key must see it, and a
// participant serves one operation of a transaction at a time); different participants work
// in parallel. So an EXEC costs one round trip per participant and per operation there, not per
// operation of the whole request.
//
// Pipelined writes. With "commit", the writes at the end of a participant's share (no GET of
// the same request follows them there) are not sent on their own: SendPrepare sends them right
// before the PREPARE, and batching (docs/protocol.md, "Batching") puts them in the same frame.
// The participant takes their X locks, then logs PREPARE with them and votes. A refused
// pipelined write aborts the transaction like any failed operation; its PREPARE then finds the
// transaction gone and votes NO.
//
// Read-only participants after pipelined writes. A read-only participant releases its locks
// when it votes READ_ONLY. If it voted while a pipelined write still waited for its X lock
// elsewhere, the transaction would take a lock after releasing one: no longer two-phase, and
// not serializable (T1 reads x at A, releases it; T2 writes x at A and reads y at B; T1 then
// writes y at B: T1 < T2 by x, T2 < T1 by y). So when a commit has pipelined writes, the
// participants without writes get their PREPARE only after every writer has voted YES
// (StartCommit, OnVote). Without pipelined writes every lock is already held at COMMIT, and
// all PREPAREs leave together as before.
#include <algorithm>

#include "common/codec.h"
#include "common/logging.h"
#include "coordinator/coordinator_server.h"

namespace kv2pc::coordinator {

void CoordinatorServer::HandleExec(ExecRequest req, ReplyToPtr to) {
  // Bad input is refused before anything runs (a transaction named by "txn" stays usable).
  for (size_t i = 0; i < req.ops.size(); i++) {
    const ExecOp& op = req.ops[i];
    if (op.key.size() > kMaxKeySize) {
      Send(to, Reply::Error(ErrorCode::kKeyTooLarge,
                            "operation " + std::to_string(i) + ": key is " +
                                std::to_string(op.key.size()) + " bytes; the limit is " +
                                std::to_string(kMaxKeySize)));
      return;
    }
    if (op.kind == ExecOp::Kind::kPut && op.value.size() > kMaxValueSize) {
      Send(to, Reply::Error(ErrorCode::kValueTooLarge,
                            "operation " + std::to_string(i) + ": value is " +
                                std::to_string(op.value.size()) + " bytes; the limit is " +
                                std::to_string(kMaxValueSize)));
      return;
    }
  }
  if (req.txn && req.ts) {
    Send(to, Reply::Error(ErrorCode::kMalformedRequest,
                          "EXEC takes ts only when it begins the transaction (without txn)"));
    return;
  }
  Txn* t;
  if (req.txn) {
    t = ClientTxn(*req.txn, to);
    if (t == nullptr) return;
  } else {
    if (!AdmitNewTxn(to)) return;
    t = NewTxn(req.ts);
    t->began_by_exec = true;
  }
  t->client = std::move(to);
  t->last_activity = EventLoop::Now();

  auto ex = std::make_unique<Txn::Exec>();
  ex->commit = req.commit;
  ex->results.resize(req.ops.size());
  std::map<size_t, std::vector<size_t>> by_participant;
  for (size_t i = 0; i < req.ops.size(); i++) {
    by_participant[ring_->OwnerIndex(req.ops[i].key)].push_back(i);
  }
  ex->ops = std::move(req.ops);
  for (auto& [p, indexes] : by_participant) {
    size_t keep = indexes.size();
    if (ex->commit) {
      while (keep > 0 && ex->ops[indexes[keep - 1]].kind != ExecOp::Kind::kGet) keep--;
    }
    for (size_t j = 0; j < keep; j++) ex->queue[p].push_back(indexes[j]);
    for (size_t j = keep; j < indexes.size(); j++) {
      t->pipelined[p].push_back(std::move(ex->ops[indexes[j]]));
    }
    if (keep < indexes.size()) {
      t->writers.insert(p);
      t->participants.try_emplace(p, 0);  // a participant of the commit from here on
    }
  }
  std::vector<size_t> start;
  for (const auto& [p, q] : ex->queue) start.push_back(p);
  ex->running = start.size();
  t->exec = std::move(ex);
  for (size_t p : start) SendNextExecOp(t, p);
  if (start.empty()) ExecOpsDone(t);
}

void CoordinatorServer::SendNextExecOp(Txn* t, size_t participant) {
  Txn::Exec& ex = *t->exec;
  auto& q = ex.queue[participant];
  const size_t index = q.front();
  q.pop_front();
  const ExecOp& op = ex.ops[index];
  uint32_t seq = t->participants[participant]++;
  MessageBody body;
  if (op.kind == ExecOp::Kind::kGet) {
    body = ReadRequest{t->id, op.key, seq, t->ts, op.for_update};
  } else {
    t->writers.insert(participant);
    std::optional<std::string> value;
    if (op.kind == ExecOp::Kind::kPut) value = op.value;
    body = WriteRequest{t->id, op.key, std::move(value), seq, t->ts};
  }
  TxnId id = t->id;
  participants_.Call(participant, std::move(body), options_.op_timeout,
                     [this, id, participant, index](Result<Reply> r) {
                       OnExecOpReply(id, participant, index, std::move(r));
                     });
}

void CoordinatorServer::OnExecOpReply(const TxnId& id, size_t participant, size_t index,
                                      Result<Reply> r) {
  auto it = txns_.find(id);
  if (it == txns_.end()) return;  // aborted meanwhile; its client was answered
  Txn* t = it->second.get();
  if (t->exec == nullptr || t->state != State::kActive) return;
  if (AbortIfOpFailed(t, participant, r)) return;
  Txn::Exec& ex = *t->exec;
  if (r->found) {  // a READ's answer
    ex.results[index].found = r->found;
    ex.results[index].value = std::move(r->value);
  }
  t->last_activity = EventLoop::Now();
  if (!ex.queue[participant].empty()) {
    SendNextExecOp(t, participant);
    return;
  }
  if (--ex.running == 0) ExecOpsDone(t);
}

void CoordinatorServer::ExecOpsDone(Txn* t) {
  std::unique_ptr<Txn::Exec> ex = std::move(t->exec);
  Reply ok;
  ok.txn = t->id;
  if (t->began_by_exec) {
    ok.ts = t->ts;
    t->began_by_exec = false;
  }
  ok.results = std::move(ex->results);
  AnswerOrCommit(t, std::move(ok), ex->commit);
}

void CoordinatorServer::SendPrepare(Txn* t, size_t participant,
                                    const std::vector<std::string>& names) {
  const TxnId id = t->id;
  if (auto w = t->pipelined.find(participant); w != t->pipelined.end()) {
    for (ExecOp& op : w->second) {
      uint32_t seq = t->participants[participant]++;
      std::optional<std::string> value;
      if (op.kind == ExecOp::Kind::kPut) value = std::move(op.value);
      participants_.Call(participant,
                         WriteRequest{id, std::move(op.key), std::move(value), seq, t->ts},
                         options_.vote_timeout, [this, id, participant](Result<Reply> r) {
                           if (r.ok() && r->ok()) return;  // the vote that follows is what counts
                           auto again = txns_.find(id);
                           if (again == txns_.end() || again->second->state != State::kPreparing)
                             return;
                           // One-phase: no answer is not a refusal. The participant may have
                           // taken the write and committed with the PREPARE behind it; only
                           // its vote (or, if that is lost too, its answer to QUERY_OUTCOME)
                           // can tell. A refusal is safe to act on: the participant rolled
                           // back before it read the PREPARE, which then votes NO.
                           if (!r.ok() && again->second->one_phase) return;
                           AbortIfOpFailed(again->second.get(), participant, r);
                         });
    }
    t->pipelined.erase(w);
  }
  participants_.Call(
      participant, PrepareRequest{id, t->participants[participant], names, t->one_phase},
      options_.vote_timeout,
      [this, id, participant](Result<Reply> r) { OnVote(id, participant, std::move(r)); });
}

}  // namespace kv2pc::coordinator
