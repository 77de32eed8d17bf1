// OnePhaseMemory: which transactions this participant committed by one-phase commit, the
// newest `capacity` of them, and per coordinator the horizon of those it forgot
// (docs/protocol.md, QUERY_OUTCOME; docs/wal-format.md, ONE_PHASE_COMMIT and "data.sqlite").
//
// In a one-phase commit the coordinator logs nothing: the sole participant's ONE_PHASE_COMMIT
// record is the only trace of the outcome. A coordinator that lost the participant's answer
// asks it "did you commit T by one-phase commit?", and this memory answers: COMMITTED if T is
// remembered; otherwise NOT COMMITTED if T is above the horizon of T's coordinator, and
// FORGOTTEN (the coordinator reports the outcome as unknown) if it is at or below it. Ids of
// one coordinator are ordered by (incarnation, seq) (recovery::IdBefore); coordinators are
// not compared with each other, so each has its own horizon.
//
// NOTES (invariants; the participant relies on them to answer):
//  (M1) Every id ever added is remembered, or at or below its coordinator's horizon: an id
//       leaves the memory only by Add's eviction, which first raises the horizon to cover it.
//  (M2) A horizon never decreases (Add and SetHorizon only raise it).
// So, as long as the owner adds every transaction it commits by one phase (at start-up: the
// ids and horizons SqliteStore kept, then ParticipantReplay::one_phase()), an id above its
// coordinator's horizon that is not remembered was never committed by one-phase commit here.
// The converse does not hold: an id at or below the horizon may never have been a one-phase
// commit of this participant at all; that is why the answer is "forgotten", not "committed".
//
// Eviction is by insertion order, not id order: the horizon covers the newest evicted id, so
// a remembered id below it stays kCommitted (Lookup checks the memory first). No I/O: the
// durable copy is SqliteStore's one_phase tables, which evict the same way.
//
// Memory: about 80 bytes per remembered id (a deque entry and a hash-set node), so the
// default 100,000 (participant/sqlite_store.h, kOnePhaseMemory) cost some 8 MB.
// Thread-safety: none; the participant's event loop owns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <unordered_set>

#include "common/types.h"

namespace kv2pc::participant {

class OnePhaseMemory {
 public:
  enum class Answer {
    kCommitted,     // remembered: committed here by one-phase commit
    kNotCommitted,  // above its coordinator's horizon and not remembered: never (M1)
    kForgotten,     // at or below its coordinator's horizon: may have been, since forgotten
  };

  explicit OnePhaseMemory(size_t capacity);
  OnePhaseMemory(const OnePhaseMemory&) = delete;
  OnePhaseMemory& operator=(const OnePhaseMemory&) = delete;

  // Remembers that `txn` committed here by one-phase commit. A repeat of a remembered id is
  // ignored. Beyond capacity the oldest added id is dropped, and its coordinator's horizon
  // raised to cover it (M1).
  void Add(const TxnId& txn);
  // Raises the horizon of `coordinator` to `txn` if `txn` is above it (or there is none yet)
  // (M2); used at start-up with the horizons read back from disk.
  void SetHorizon(uint32_t coordinator, const TxnId& txn);
  Answer Lookup(const TxnId& txn) const;

  // Coordinator index -> the highest id of it that may have been forgotten. A coordinator
  // without an entry has had nothing forgotten.
  const std::map<uint32_t, TxnId>& horizons() const { return horizons_; }
  // Number of remembered ids (at most capacity).
  size_t size() const { return order_.size(); }

 private:
  const size_t capacity_;
  std::deque<TxnId> order_;  // remembered ids, oldest added first
  std::unordered_set<TxnId, TxnIdHash> ids_;
  std::map<uint32_t, TxnId> horizons_;
};

}  // namespace kv2pc::participant
