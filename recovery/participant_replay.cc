// See participant_replay.h.
#include "recovery/participant_replay.h"

#include <algorithm>

namespace kv2pc::recovery {

Status ParticipantReplay::Visit(const wal::RecordView& record) {
  auto where = [&] { return "WAL record at LSN " + std::to_string(record.lsn); };
  switch (record.type) {
    case wal::kPrepare: {
      auto rec = wal::PrepareRecord::Decode(record.payload);
      if (!rec.ok()) return Status::Corruption(where() + ": " + rec.status().message());
      if (prepared_.count(rec->txn)) {
        return Status::Corruption(where() + ": second PREPARE of " + rec->txn.ToString());
      }
      prepared_.emplace(rec->txn, Prepared{record.lsn, rec->txn, std::move(rec->writes),
                                           std::move(rec->participants)});
      return Status::OK();
    }
    case wal::kOnePhaseCommit: {
      auto rec = wal::OnePhaseCommitRecord::Decode(record.payload);
      if (!rec.ok()) return Status::Corruption(where() + ": " + rec.status().message());
      if (prepared_.count(rec->txn)) {
        return Status::Corruption(where() + ": ONE_PHASE_COMMIT of " + rec->txn.ToString() +
                                  ", which has a PREPARE pending");
      }
      if (record.lsn > applied_lsn_) {
        commits_.push_back(Commit{record.lsn, rec->txn, std::move(rec->writes)});
      }
      finished_.emplace_back(rec->txn, true);
      one_phase_.push_back(rec->txn);
      return Status::OK();
    }
    case wal::kCommit:
    case wal::kAbort: {
      auto rec = wal::RecordTxn(record);
      if (!rec.ok()) return Status::Corruption(where() + ": " + rec.status().message());
      bool commit = record.type == wal::kCommit;
      const TxnId txn = *rec;
      auto it = prepared_.find(txn);
      if (it != prepared_.end()) {
        if (commit && record.lsn > applied_lsn_) {
          commits_.push_back(Commit{record.lsn, txn, std::move(it->second.writes)});
        }
        prepared_.erase(it);
      } else if (commit && record.lsn > applied_lsn_) {
        return Status::Corruption(where() + ": COMMIT of " + txn.ToString() +
                                  " without its PREPARE, above the checkpoint (LSN " +
                                  std::to_string(applied_lsn_) + ")");
      }
      finished_.emplace_back(txn, commit);
      return Status::OK();
    }
    default:
      return Status::Corruption(where() + ": record type " + std::to_string(record.type) +
                                " does not belong in a participant's log");
  }
}

std::vector<ParticipantReplay::Prepared> ParticipantReplay::in_doubt() const {
  std::vector<Prepared> out;
  out.reserve(prepared_.size());
  for (const auto& [id, p] : prepared_) out.push_back(p);
  std::sort(out.begin(), out.end(),
            [](const Prepared& a, const Prepared& b) { return a.lsn < b.lsn; });
  return out;
}

}  // namespace kv2pc::recovery
