// Strict 2PL lock table. See lock_manager.h.
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

LockManager::Acquired LockManager::Acquire(const TxnId& txn, std::string_view key, LockMode mode,
                                           GrantFn on_grant) {
  KV2PC_CHECK(!waiting_.count(txn), "a transaction waits for one lock at a time (L3)");
  auto it = keys_.try_emplace(std::string(key)).first;
  KeyLock& lock = it->second;
  bool holds = lock.holders.count(txn) > 0;
  // Re-entrant requests are granted whatever the queue holds; new ones respect FIFO order.
  bool already = holds && (lock.mode == LockMode::kExclusive || mode == LockMode::kShared);
  if (already || (Compatible(lock, txn, mode) && (lock.waiters.empty() || holds))) {
    Grant(lock, txn, mode, it->first);
    return Acquired::kGranted;
  }
  Waiter w{txn, mode, std::move(on_grant)};
  if (holds) {
    lock.waiters.push_front(std::move(w));  // upgrade: ahead of everyone else
  } else {
    lock.waiters.push_back(std::move(w));
  }
  waiting_.emplace(txn, it->first);
  return Acquired::kWaiting;
}

void LockManager::GrantWaiters(const std::string& key, std::vector<GrantFn>* granted) {
  auto it = keys_.find(key);
  if (it == keys_.end()) return;
  KeyLock& lock = it->second;
  while (!lock.waiters.empty()) {
    Waiter& w = lock.waiters.front();
    if (!Compatible(lock, w.txn, w.mode)) break;
    Grant(lock, w.txn, w.mode, key);
    waiting_.erase(w.txn);
    granted->push_back(std::move(w.on_grant));
    lock.waiters.pop_front();
  }
  if (lock.holders.empty() && lock.waiters.empty()) keys_.erase(it);
}

bool LockManager::CancelWait(const TxnId& txn) {
  auto w = waiting_.find(txn);
  if (w == waiting_.end()) return false;
  std::string key = w->second;
  waiting_.erase(w);
  auto it = keys_.find(key);
  if (it != keys_.end()) {
    auto& q = it->second.waiters;
    q.erase(std::remove_if(q.begin(), q.end(), [&](const Waiter& x) { return x.txn == txn; }),
            q.end());
  }
  std::vector<GrantFn> granted;
  GrantWaiters(key, &granted);
  for (auto& fn : granted) fn();
  return true;
}

void LockManager::ReleaseAll(const TxnId& txn) {
  std::vector<std::string> touched;
  if (auto w = waiting_.find(txn); w != waiting_.end()) {
    auto it = keys_.find(w->second);
    if (it != keys_.end()) {
      auto& q = it->second.waiters;
      q.erase(std::remove_if(q.begin(), q.end(), [&](const Waiter& x) { return x.txn == txn; }),
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
  // Grant after every lock of txn is gone, then run callbacks: a callback may acquire more
  // locks or release its own, so it must see a consistent table.
  std::vector<GrantFn> granted;
  for (const std::string& key : touched) GrantWaiters(key, &granted);
  for (auto& fn : granted) fn();
}

bool LockManager::Holds(const TxnId& txn, std::string_view key, LockMode mode) const {
  auto it = keys_.find(std::string(key));
  if (it == keys_.end() || !it->second.holders.count(txn)) return false;
  return mode == LockMode::kShared || it->second.mode == LockMode::kExclusive;
}

}  // namespace kv2pc::participant
