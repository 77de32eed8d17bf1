// Strict 2PL lock table with wound-wait. See lock_manager.h.
#include "participant/lock_manager.h"

#include <algorithm>

#include "common/logging.h"

namespace kv2pc::participant {

bool LockManager::Compatible(const KeyLock& lock, const TxnId& txn, LockMode mode) {
  if (lock.holders.empty()) return true;
  bool holds = lock.holders.count(txn) > 0;
  if (lock.mode == LockMode::kExclusive) return holds;  // (L1): the one X holder is txn
  if (mode == LockMode::kShared) return true;
  return holds && lock.holders.size() == 1;  // upgrade S->X: only when txn is alone
}

void LockManager::Grant(KeyLock& lock, const TxnId& txn, LockMode mode, const std::string& key) {
  if (lock.holders.empty()) {
    lock.mode = mode;
  } else if (mode == LockMode::kExclusive) {
    lock.mode = LockMode::kExclusive;  // an upgrade: Compatible() checked txn is alone
  }                                    // (an X holder asking S keeps X)
  if (lock.holders.insert(txn).second) held_[txn].push_back(key);
}

LockPriority LockManager::PriorityOf(const TxnId& txn) const {
  auto it = ts_.find(txn);
  return LockPriority{it == ts_.end() ? 0 : it->second, txn};
}

LockManager::Acquired LockManager::Acquire(const TxnId& txn, uint64_t ts, std::string_view key,
                                           LockMode mode, WaitFn on_wait_end,
                                           std::vector<TxnId>* wound) {
  KV2PC_CHECK(!waiting_.count(txn), "a transaction waits for one lock at a time (L3)");
  wound->clear();
  auto it = keys_.try_emplace(std::string(key)).first;
  KeyLock& lock = it->second;
  const LockPriority me{ts, txn};
  ts_[txn] = ts;
  const bool holds = lock.holders.count(txn) > 0;
  if (holds && (lock.mode == LockMode::kExclusive || mode == LockMode::kShared)) {
    Grant(lock, txn, mode, it->first);  // re-entrant
    return Acquired::kGranted;
  }
  // (L2) its place in the queue: behind every older waiter.
  auto place = std::find_if(lock.waiters.begin(), lock.waiters.end(),
                            [&me](const Waiter& w) { return me < w.prio; });
  if (place == lock.waiters.begin() && Compatible(lock, txn, mode)) {
    Grant(lock, txn, mode, it->first);
    return Acquired::kGranted;
  }
  // (L4) wound-wait: the younger holders it conflicts with are the caller's to wound.
  for (const TxnId& h : lock.holders) {
    if (h != txn && Conflict(lock.mode, mode) && me < PriorityOf(h)) wound->push_back(h);
  }
  waiting_.emplace(txn, it->first);
  lock.waiters.insert(place, Waiter{me, mode, std::move(on_wait_end)});
  return Acquired::kWaiting;
}

void LockManager::GrantWaiters(const std::string& key, std::vector<WaitFn>* granted) {
  auto it = keys_.find(key);
  if (it == keys_.end()) return;
  KeyLock& lock = it->second;
  while (!lock.waiters.empty()) {
    Waiter& w = lock.waiters.front();
    if (!Compatible(lock, w.prio.id, w.mode)) break;
    Grant(lock, w.prio.id, w.mode, key);
    waiting_.erase(w.prio.id);
    granted->push_back(std::move(w.on_wait_end));
    lock.waiters.pop_front();
  }
  if (lock.holders.empty() && lock.waiters.empty()) keys_.erase(it);
}

bool LockManager::CancelWait(const TxnId& txn) {
  auto w = waiting_.find(txn);
  if (w == waiting_.end()) return false;
  std::string key = w->second;
  waiting_.erase(w);
  if (!held_.count(txn)) ts_.erase(txn);
  auto it = keys_.find(key);
  if (it != keys_.end()) {
    auto& q = it->second.waiters;
    q.erase(std::remove_if(q.begin(), q.end(), [&](const Waiter& x) { return x.prio.id == txn; }),
            q.end());
  }
  std::vector<WaitFn> granted;
  GrantWaiters(key, &granted);
  for (auto& fn : granted) fn(Status::OK());
  return true;
}

void LockManager::ReleaseAll(const TxnId& txn) {
  std::vector<std::string> touched;
  if (auto w = waiting_.find(txn); w != waiting_.end()) {
    auto it = keys_.find(w->second);
    if (it != keys_.end()) {
      auto& q = it->second.waiters;
      q.erase(std::remove_if(q.begin(), q.end(), [&](const Waiter& x) { return x.prio.id == txn; }),
              q.end());
    }
    touched.push_back(w->second);
    waiting_.erase(w);
  }
  if (auto h = held_.find(txn); h != held_.end()) {
    for (const std::string& key : h->second) {
      auto it = keys_.find(key);
      if (it == keys_.end()) continue;
      it->second.holders.erase(txn);
      touched.push_back(key);
    }
    held_.erase(h);
  }
  ts_.erase(txn);
  // Grant after every lock of txn is gone, then run callbacks: a callback may acquire more
  // locks or release its own, so it must see a consistent table.
  std::vector<WaitFn> granted;
  for (const std::string& key : touched) GrantWaiters(key, &granted);
  for (auto& fn : granted) fn(Status::OK());
}

bool LockManager::Holds(const TxnId& txn, std::string_view key, LockMode mode) const {
  auto it = keys_.find(std::string(key));
  if (it == keys_.end() || !it->second.holders.count(txn)) return false;
  return mode == LockMode::kShared || it->second.mode == LockMode::kExclusive;
}

size_t LockManager::HeldBy(const TxnId& txn) const {
  auto it = held_.find(txn);
  return it == held_.end() ? 0 : it->second.size();
}

const std::string* LockManager::WaitingFor(const TxnId& txn) const {
  auto it = waiting_.find(txn);
  return it == waiting_.end() ? nullptr : &it->second;
}

std::vector<TxnId> LockManager::WaitersOn(std::string_view key) const {
  std::vector<TxnId> out;
  auto it = keys_.find(std::string(key));
  if (it == keys_.end()) return out;
  for (const Waiter& w : it->second.waiters) out.push_back(w.prio.id);
  return out;
}

std::vector<LockManager::KeyView> LockManager::Describe(size_t limit) const {
  std::vector<const std::pair<const std::string, KeyLock>*> entries;
  entries.reserve(keys_.size());
  for (const auto& entry : keys_) entries.push_back(&entry);
  auto contended_first = [](const auto* a, const auto* b) {
    bool wa = !a->second.waiters.empty(), wb = !b->second.waiters.empty();
    return wa != wb ? wa : a->first < b->first;
  };
  size_t n = std::min(limit, entries.size());
  std::partial_sort(entries.begin(), entries.begin() + static_cast<ptrdiff_t>(n), entries.end(),
                    contended_first);
  std::vector<KeyView> out;
  out.reserve(n);
  for (size_t i = 0; i < n; i++) {
    const auto& [key, lock] = *entries[i];
    KeyView v{key, lock.mode, {lock.holders.begin(), lock.holders.end()}, {}};
    std::sort(v.holders.begin(), v.holders.end());
    for (const Waiter& w : lock.waiters) v.waiters.emplace_back(w.prio.id, w.mode);
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace kv2pc::participant
