// See one_phase_memory.h.
#include "participant/one_phase_memory.h"

#include "recovery/coordinator_replay.h"

namespace kv2pc::participant {

OnePhaseMemory::OnePhaseMemory(size_t capacity) : capacity_(capacity) {}

void OnePhaseMemory::Add(const TxnId& txn) {
  if (!ids_.insert(txn).second) return;
  order_.push_back(txn);
  while (order_.size() > capacity_) {
    const TxnId old = order_.front();
    // (M1) before it is forgotten, the horizon covers it; (M2) only ever upwards.
    SetHorizon(old.coordinator, old);
    ids_.erase(old);
    order_.pop_front();
  }
}

void OnePhaseMemory::SetHorizon(uint32_t coordinator, const TxnId& txn) {
  auto [it, inserted] = horizons_.try_emplace(coordinator, txn);
  if (!inserted && recovery::IdBefore(it->second, txn)) it->second = txn;
}

OnePhaseMemory::Answer OnePhaseMemory::Lookup(const TxnId& txn) const {
  if (ids_.count(txn) != 0) return Answer::kCommitted;
  auto it = horizons_.find(txn.coordinator);
  if (it != horizons_.end() && !recovery::IdBefore(it->second, txn)) return Answer::kForgotten;
  return Answer::kNotCommitted;
}

}  // namespace kv2pc::participant
