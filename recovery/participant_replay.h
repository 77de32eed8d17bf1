// ParticipantReplay: rebuilds a participant's transaction outcomes from its WAL at start-up
// (docs/architecture.md, "Recovery").
//
// Fed every record in LSN order (as wal::Log::Open visits them), it sorts transactions into:
//   - committed: PREPARE then COMMIT. Writes of commits whose COMMIT LSN is above the
//     checkpoint's applied LSN must be re-applied (commits_to_apply, in LSN order); older
//     ones are already in SQLite.
//   - aborted:   PREPARE then ABORT (or an ABORT alone).
//   - in doubt:  PREPARE and nothing after it. Only the coordinator's decision may end these
//     (participant invariant I2), learned from it or from a fellow participant that knows it
//     (the PREPARE record names them); the participant re-takes their locks before serving.
// A COMMIT without its PREPARE is Corruption unless the PREPARE's segment was already
// trimmed below the checkpoint (then the commit is in SQLite and there is nothing to do).
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
    Lsn lsn;  // of the COMMIT record
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
  // impossible (two PREPAREs for one transaction).
  Status Visit(const wal::RecordView& record);

  const std::vector<Commit>& commits_to_apply() const { return commits_; }
  // In-doubt transactions, ordered by PREPARE LSN.
  std::vector<Prepared> in_doubt() const;
  // Every transaction with a logged outcome: id -> committed?
  const std::vector<std::pair<TxnId, bool>>& finished() const { return finished_; }

 private:
  const Lsn applied_lsn_;
  std::unordered_map<TxnId, Prepared, TxnIdHash> prepared_;
  std::vector<Commit> commits_;
  std::vector<std::pair<TxnId, bool>> finished_;
};

}  // namespace kv2pc::recovery
