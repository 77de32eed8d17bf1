// ParticipantReplay: rebuilds a participant's transaction outcomes from its WAL at start-up
// (docs/architecture.md, "Recovery").
//
// Fed every record in LSN order (as wal::Log::Open visits them), it sorts transactions into:
//   - committed: PREPARE then COMMIT, or a ONE_PHASE_COMMIT alone (the writes and their
//     commit in one record: a PREPARE and a COMMIT at one LSN, never in doubt). Writes of
//     commits whose COMMIT (or ONE_PHASE_COMMIT) LSN is above the checkpoint's applied LSN
//     must be re-applied (commits_to_apply, in LSN order); older ones are already in SQLite.
//     one_phase() lists every ONE_PHASE_COMMIT in the log, below the checkpoint or not: the
//     participant adds them to its memory of one-phase commits (participant/one_phase_memory.h),
//     whose durable copy in SQLite may lag the log.
//   - aborted:   PREPARE then ABORT (or an ABORT alone).
//   - in doubt:  PREPARE and nothing after it. Only the coordinator's decision may end these
//     (participant invariant I2), learned from it or from a fellow participant that knows it
//     (the PREPARE record names them); the participant re-takes their locks before serving.
// A COMMIT without its PREPARE is Corruption unless the PREPARE's segment was already
// trimmed below the checkpoint (then the commit is in SQLite and there is nothing to do).
// A ONE_PHASE_COMMIT of a transaction with a PREPARE pending is Corruption: a participant
// commits by one phase only a transaction it never prepared. (Records of a transaction after
// its ONE_PHASE_COMMIT are not checked: none is ever written.)
#pragma once

#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/status.h"
#include "common/types.h"
#include "wal/log.h"
#include "wal/record.h"

namespace kv2pc::recovery {

class ParticipantReplay {
 public:
  struct Commit {
    Lsn lsn;  // of the COMMIT (or ONE_PHASE_COMMIT) record
    TxnId txn;
    std::vector<wal::WriteOp> writes;
  };
  struct Prepared {
    Lsn lsn;  // of the PREPARE record
    TxnId txn;
    std::vector<wal::WriteOp> writes;
    // Every participant of the transaction, as the PREPARE record lists them: whom to ask
    // while in doubt (cooperative termination). Empty for records written before the list.
    std::vector<std::string> participants = {};
  };

  explicit ParticipantReplay(Lsn applied_lsn) : applied_lsn_(applied_lsn) {}

  // Consumes one record. Corruption if its payload does not decode or the sequence is
  // impossible (two PREPAREs for one transaction, a ONE_PHASE_COMMIT of a prepared one).
  Status Visit(const wal::RecordView& record);

  const std::vector<Commit>& commits_to_apply() const { return commits_; }
  // In-doubt transactions, ordered by PREPARE LSN.
  std::vector<Prepared> in_doubt() const;
  // Every transaction with a logged outcome: id -> committed? (one-phase commits included)
  const std::vector<std::pair<TxnId, bool>>& finished() const { return finished_; }
  // The transaction of every ONE_PHASE_COMMIT record, in LSN order, whether or not its LSN is
  // above the checkpoint's.
  const std::vector<TxnId>& one_phase() const { return one_phase_; }

 private:
  const Lsn applied_lsn_;
  std::unordered_map<TxnId, Prepared, TxnIdHash> prepared_;
  std::vector<Commit> commits_;
  std::vector<std::pair<TxnId, bool>> finished_;
  std::vector<TxnId> one_phase_;
};

}  // namespace kv2pc::recovery
