// What a coordinator knows from its decision log: CoordinatorReplay rebuilds it at start-up,
// OutcomeHistory keeps the outcome history QUERY_OUTCOME answers from (docs/architecture.md,
// "Recovery"; docs/protocol.md, QUERY_OUTCOME).
//
// The coordinator logs only COMMIT decisions (forced, before anyone is told) and END records
// (not forced, once every participant acknowledged). Presumed abort: a transaction with no
// decision record aborted. So after replay:
//   - a DECISION_COMMIT without END must be re-sent to its participants until they all
//     acknowledge (unfinished()); queries about it are answered COMMITTED;
//   - every DECISION_COMMIT still in the log, ended or not (committed()), is a known COMMITTED
//     outcome: the coordinator loads the newest --outcome-history of them into OutcomeHistory;
//   - everything else the coordinator ever ran aborted, or committed long enough ago that its
//     decision was trimmed; the forgotten horizon (OutcomeHistory::horizon()) tells them apart
//     as far as they can be told apart.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/messages.h"
#include "common/status.h"
#include "common/types.h"
#include "wal/log.h"

namespace kv2pc::recovery {

class CoordinatorReplay {
 public:
  struct Decision {
    Lsn lsn;
    TxnId txn;
    std::vector<std::string> participants;  // names that must acknowledge the COMMIT
  };
  struct Committed {
    Lsn lsn;  // of its DECISION_COMMIT record
    TxnId txn;
  };

  Status Visit(const wal::RecordView& record);

  // Commit decisions without END, in LSN order.
  std::vector<Decision> unfinished() const;
  // Every commit decision in the log, ended or not, in LSN order.
  const std::vector<Committed>& committed() const { return committed_; }
  // LSN of the first record visited; 0 if the log held none.
  Lsn first_lsn() const { return first_lsn_; }
  // Highest incarnation seen in any transaction id of this log (0 if none).
  uint32_t max_incarnation() const { return max_incarnation_; }
  size_t ended() const { return ended_; }

 private:
  std::map<TxnId, Decision> open_;
  std::vector<Committed> committed_;
  Lsn first_lsn_ = 0;
  uint32_t max_incarnation_ = 0;
  size_t ended_ = 0;
};

// The newest `capacity` COMMIT decisions of one coordinator (by LSN, i.e. by the order they
// were logged), and the forgotten horizon: the highest transaction id whose decision may have
// been dropped, from this memory or from the log. Ids are ordered by (incarnation, seq); the
// coordinator index is the owner's own and is not compared. No I/O: the owner persists
// horizon() (docs/wal-format.md, "The outcome horizon file") and keeps in the log every
// decision from oldest_lsn() on.
//
// NOTES (invariants, cited by the coordinator):
//  (H1) Every decision ever added is remembered (Contains) or at or below horizon(): a
//       decision leaves the memory only by Add's eviction, which raises the horizon past it.
//  (H2) horizon() never decreases.
//
// Memory: about 80 bytes per remembered decision (a deque entry and a hash-set node), so the
// default 100,000 cost some 8 MB. Not thread-safe (the coordinator's event loop owns it).
class OutcomeHistory {
 public:
  // `horizon`: the one read back from disk at start-up (nullopt: nothing forgotten yet).
  explicit OutcomeHistory(size_t capacity, std::optional<TxnId> horizon = std::nullopt);
  OutcomeHistory(const OutcomeHistory&) = delete;
  OutcomeHistory& operator=(const OutcomeHistory&) = delete;

  // Remembers the COMMIT decision of `txn`, logged at `lsn` (calls must come in LSN order).
  // Beyond capacity the oldest decision is dropped and the horizon raised to cover it (H1).
  // A repeat of a remembered id is ignored.
  void Add(const TxnId& txn, Lsn lsn);
  bool Contains(const TxnId& txn) const { return ids_.count(txn) != 0; }
  // The outcome of a transaction its coordinator neither runs nor remembers as finished:
  // COMMITTED if its decision is remembered; UNKNOWN if it is at or below the horizon (it may
  // have committed, its decision since forgotten); ABORTED otherwise (presumed abort).
  Outcome Lookup(const TxnId& txn) const;
  // True if `txn` is at or below the horizon.
  bool AtOrBelowHorizon(const TxnId& txn) const;

  const std::optional<TxnId>& horizon() const { return horizon_; }
  // LSN of the oldest remembered decision: the log must keep it and everything after it.
  // nullopt when nothing is remembered.
  std::optional<Lsn> oldest_lsn() const;
  size_t size() const { return order_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  std::deque<std::pair<TxnId, Lsn>> order_;  // oldest first
  std::unordered_set<TxnId, TxnIdHash> ids_;
  std::optional<TxnId> horizon_;
};

// (incarnation, seq) order of two ids of one coordinator.
bool IdBefore(const TxnId& a, const TxnId& b);

// The contents of the outcome horizon file: "T<c>.<i>.<s>\n", or "none\n" when nothing has
// been forgotten. ParseOutcomeHorizon accepts what FormatOutcomeHorizon writes (trailing
// whitespace ignored) and returns Corruption for anything else.
std::string FormatOutcomeHorizon(const std::optional<TxnId>& horizon);
Result<std::optional<TxnId>> ParseOutcomeHorizon(std::string_view contents);

}  // namespace kv2pc::recovery
