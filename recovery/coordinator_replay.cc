// See coordinator_replay.h.
#include "recovery/coordinator_replay.h"

#include <algorithm>
#include <tuple>

#include "wal/record.h"

namespace kv2pc::recovery {

Status CoordinatorReplay::Visit(const wal::RecordView& record) {
  auto where = [&] { return "decision log record at LSN " + std::to_string(record.lsn); };
  if (first_lsn_ == 0) first_lsn_ = record.lsn;
  switch (record.type) {
    case wal::kDecisionCommit: {
      auto rec = wal::DecisionCommitRecord::Decode(record.payload);
      if (!rec.ok()) return Status::Corruption(where() + ": " + rec.status().message());
      max_incarnation_ = std::max(max_incarnation_, rec->txn.incarnation);
      committed_.push_back(Committed{record.lsn, rec->txn});
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

// ---- OutcomeHistory ----

bool IdBefore(const TxnId& a, const TxnId& b) {
  return std::tie(a.incarnation, a.seq) < std::tie(b.incarnation, b.seq);
}

OutcomeHistory::OutcomeHistory(size_t capacity, std::optional<TxnId> horizon)
    : capacity_(capacity), horizon_(horizon) {}

void OutcomeHistory::Add(const TxnId& txn, Lsn lsn) {
  if (!ids_.insert(txn).second) return;
  order_.emplace_back(txn, lsn);
  while (order_.size() > capacity_) {
    const TxnId& old = order_.front().first;
    // (H1) before it is forgotten, the horizon covers it; (H2) only ever upwards.
    if (!horizon_ || IdBefore(*horizon_, old)) horizon_ = old;
    ids_.erase(old);
    order_.pop_front();
  }
}

bool OutcomeHistory::AtOrBelowHorizon(const TxnId& txn) const {
  return horizon_ && !IdBefore(*horizon_, txn);
}

Outcome OutcomeHistory::Lookup(const TxnId& txn) const {
  if (Contains(txn)) return Outcome::kCommitted;
  if (AtOrBelowHorizon(txn)) return Outcome::kUnknown;
  return Outcome::kAborted;
}

std::optional<Lsn> OutcomeHistory::oldest_lsn() const {
  if (order_.empty()) return std::nullopt;
  return order_.front().second;
}

std::string FormatOutcomeHorizon(const std::optional<TxnId>& horizon) {
  return (horizon ? horizon->ToString() : std::string("none")) + "\n";
}

Result<std::optional<TxnId>> ParseOutcomeHorizon(std::string_view contents) {
  while (!contents.empty() &&
         (contents.back() == '\n' || contents.back() == '\r' || contents.back() == ' ')) {
    contents.remove_suffix(1);
  }
  if (contents == "none") return std::optional<TxnId>();
  std::optional<TxnId> id = TxnId::Parse(contents);
  if (!id) {
    return Status::Corruption("'" + std::string(contents.substr(0, 64)) +
                              "' is neither a transaction id nor 'none'");
  }
  return id;
}

}  // namespace kv2pc::recovery
