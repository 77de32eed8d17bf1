// See coordinator_replay.h.
#include "recovery/coordinator_replay.h"

#include <algorithm>

#include "wal/record.h"

namespace kv2pc::recovery {

Status CoordinatorReplay::Visit(const wal::RecordView& record) {
  auto where = [&] { return "decision log record at LSN " + std::to_string(record.lsn); };
  switch (record.type) {
    case wal::kDecisionCommit: {
      auto rec = wal::DecisionCommitRecord::Decode(record.payload);
      if (!rec.ok()) return Status::Corruption(where() + ": " + rec.status().message());
      max_incarnation_ = std::max(max_incarnation_, rec->txn.incarnation);
      open_[rec->txn] = Decision{record.lsn, rec->txn, std::move(rec->participants)};
      return Status::OK();
    }
    case wal::kEnd: {
      auto rec = wal::EndRecord::Decode(record.payload);
      if (!rec.ok()) return Status::Corruption(where() + ": " + rec.status().message());
      max_incarnation_ = std::max(max_incarnation_, rec->txn.incarnation);
      open_.erase(rec->txn);  // an END whose decision was trimmed is fine
      ended_++;
      return Status::OK();
    }
    default:
      return Status::Corruption(where() + ": record type " + std::to_string(record.type) +
                                " does not belong in a coordinator's log");
  }
}

std::vector<CoordinatorReplay::Decision> CoordinatorReplay::unfinished() const {
  std::vector<Decision> out;
  for (const auto& [id, d] : open_) out.push_back(d);
  std::sort(out.begin(), out.end(),
            [](const Decision& a, const Decision& b) { return a.lsn < b.lsn; });
  return out;
}

}  // namespace kv2pc::recovery
