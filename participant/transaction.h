// A participant's view of one transaction: its state, its private workspace, and the
// requests parked on it. Owned by ParticipantServer; touched only from its event loop.
//
// State machine (docs/architecture.md, "Participant transaction"):
//
//              READ/WRITE             PREPARE (has writes)          PREPARE durable
//   (none) --------------> ACTIVE ----------------------> PREPARING ---------------> PREPARED
//                            |  |                             |                        |  |
//                            |  | PREPARE (no writes):        | DECIDE_ABORT           |  | DECIDE_COMMIT
//                            |  | vote READ_ONLY, forget      v                        |  v
//                            |  +---------------------->  ABORTED  <-- DECIDE_ABORT ---+  COMMITTED
//                            |                              ^                            (ack once the
//                            +-- DECIDE_ABORT, lock timeout, idle timeout, bad op ---+    COMMIT record
//                                                                                          is durable)
//   Transitions -> functions:
//     (none)->ACTIVE            ParticipantServer::ActiveTxnFor
//     ACTIVE->PREPARING         ParticipantServer::HandlePrepare
//     PREPARING->PREPARED       ParticipantServer::OnPrepareDurable
//     ACTIVE->PREPARING (one-phase PREPARE: ONE_PHASE_COMMIT appended)
//                               ParticipantServer::LogPrepare (one_phase)
//     PREPARING->(committed, forgotten) once that record is durable
//                               ParticipantServer::OnOnePhaseDurable
//     PREPARED->COMMITTED       ParticipantServer::CommitPrepared
//     any->ABORTED              ParticipantServer::AbortTxn
//
// Guarantees per state:
//   ACTIVE     nothing logged; locks held; the participant may abort it unilaterally (idle,
//              wounded, or asked for its outcome by a fellow participant in doubt).
//   PREPARING  PREPARE appended, not yet durable; no vote has left (I1). With one_phase (the
//              transaction's only participant, asked to commit at once): ONE_PHASE_COMMIT
//              appended; when it is durable the writes are applied and it is gone (committed),
//              and until then nothing aborts it.
//   PREPARED   PREPARE durable, YES sent; only the coordinator's decision ends it (heard from
//              the coordinator or from a fellow participant that knows it): never aborted or
//              committed unilaterally (I2); its X locks survive restarts (I3).
//   COMMITTED  writes applied to the committed map, locks released; the DECIDE_COMMIT ack
//              leaves only after the COMMIT record is durable (I4).
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/event_loop.h"
#include "common/transport.h"
#include "common/types.h"

namespace kv2pc::participant {

enum class TxnState : uint8_t { kActive, kPreparing, kPrepared, kCommitted, kAborted };
const char* TxnStateName(TxnState s);

struct Transaction {
  TxnId id;
  uint64_t ts = 0;  // wound-wait priority from the coordinator (smaller = older)
  TxnState state = TxnState::kActive;
  uint32_t ops = 0;  // READ/WRITE requests received (matched against PREPARE's "ops")
  // Workspace: the transaction's own writes, in key order; nullopt = delete.
  std::map<std::string, std::optional<std::string>> writes;
  size_t write_bytes = 0;  // what `writes` takes in a PREPARE record (bounded at WRITE)
  bool recovered = false;  // rebuilt from the WAL at start-up (in doubt until decided)
  // Every participant of the transaction (from PREPARE, kept in the PREPARE record): whom to
  // ask while in doubt and the coordinator is down. Empty if the coordinator did not say.
  std::vector<std::string> participants;
  Lsn prepare_lsn = 0;  // of its PREPARE (or ONE_PHASE_COMMIT) record
  // A one-phase PREPARE made it PREPARING: its ONE_PHASE_COMMIT record is on its way to the
  // disk, and nothing may abort it any more (the record commits it when it lands).
  bool one_phase = false;
  // An operation parked on a lock, and the timer that bounds its wait.
  ReplyToPtr waiting_op;
  EventLoop::TimerId lock_timer = 0;
  // Requests of this transaction (READ, WRITE, PREPARE) that arrived while waiting_op waits:
  // run in arrival order once it is granted, or, if the transaction aborts, answered with that.
  std::deque<std::function<void()>> queued;
  // PREPARE requests (first and repeats) answered when the PREPARE record is durable.
  std::vector<ReplyToPtr> vote_waiters;
  EventLoop::Clock::time_point prepared_at{};
  // A round of QUERY_OUTCOME about it is in flight: to its coordinator, then (PREPARED, the
  // coordinator unreachable) to its fellow participants. One round at a time.
  bool asking_outcome = false;
  // Backoff while the coordinator cannot be asked: the delay before the next round (zero =
  // not backing off; doubles from --outcome-query-interval-ms up to
  // --outcome-query-max-interval-ms, back to zero when the coordinator answers), and when
  // that round may start.
  std::chrono::milliseconds query_backoff{0};
  EventLoop::Clock::time_point next_query_at{};
  // While PREPARED: why it is still undecided, from the last attempts to learn the outcome
  // (`kv2pc in-doubt` shows it).
  std::string undecided_why;
  EventLoop::Clock::time_point created_at{};  // first seen (or recovered); STATUS shows age
  // Last request for this transaction; an ACTIVE one idle for --txn-idle-timeout-ms aborts.
  EventLoop::Clock::time_point last_activity{};
};

}  // namespace kv2pc::participant
