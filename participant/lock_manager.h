// LockManager: strict two-phase locking for one participant (docs/architecture.md, "Locking").
//
// Shared (S) locks for reads, exclusive (X) locks for writes, held until the transaction
// commits or aborts (strict 2PL), which makes every schedule serializable. A request that
// cannot be granted waits in the key's FIFO queue; the caller is not blocked: it gets
// kWaiting and its callback runs later, on the same (event-loop) thread, when the lock is
// granted. An S->X upgrade waits ahead of other waiters (only the other S holders can stand
// in its way). Waits end by grant, or by Cancel() (lock timeout, abort).
//
// NOTES (invariants, checked by CheckInvariants in tests):
//  (L1) a key's holders are either one X holder, or any number of S holders.
//  (L2) a waiter is never compatible with the holders and every waiter ahead of it, except
//       that a grant pass may be pending inside Release (never observable from outside).
//  (L3) a transaction waits for at most one lock at a time (its requests are sequential).
//
// Deadlocks: this version has none of its own avoidance; a lock wait timeout (the caller's
// timer + Cancel) breaks cycles. Issue #4 replaces it by wait-die ordering.
//
// Thread-safety: none; used only from the participant's event loop.
#pragma once

#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/types.h"

namespace kv2pc::participant {

enum class LockMode : uint8_t { kShared, kExclusive };

class LockManager {
 public:
  // Called when a waiting request is granted.
  using GrantFn = std::function<void()>;
  enum class Acquired { kGranted, kWaiting };

  LockManager() = default;
  LockManager(const LockManager&) = delete;
  LockManager& operator=(const LockManager&) = delete;

  // Grants at once if compatible (re-entrant: a holder of X, or of S asking S, is granted),
  // else queues and returns kWaiting; `on_grant` then runs later, from inside Release() or
  // Cancel() of another transaction.
  // REQUIRES: txn has no other waiting request (L3).
  Acquired Acquire(const TxnId& txn, std::string_view key, LockMode mode, GrantFn on_grant);

  // Releases every lock `txn` holds and drops its waiting request (without calling it);
  // grants what becomes grantable, in FIFO order. Granted callbacks run before this returns.
  void ReleaseAll(const TxnId& txn);

  // Drops `txn`'s waiting request, if any (its callback is not called). Returns whether it had
  // one. Waiters behind it may become grantable and are granted.
  bool CancelWait(const TxnId& txn);

  // Introspection (tests, status).
  bool Holds(const TxnId& txn, std::string_view key, LockMode mode) const;
  size_t locked_keys() const { return keys_.size(); }
  size_t waiting() const { return waiting_.size(); }

 private:
  struct Waiter {
    TxnId txn;
    LockMode mode;
    GrantFn on_grant;
  };
  struct KeyLock {
    LockMode mode = LockMode::kShared;
    std::unordered_set<TxnId, TxnIdHash> holders;
    std::deque<Waiter> waiters;
  };

  static bool Compatible(const KeyLock& lock, const TxnId& txn, LockMode mode);
  void Grant(KeyLock& lock, const TxnId& txn, LockMode mode, const std::string& key);
  // Moves grantable waiters at the head of `key`'s queue to the holders; appends their
  // callbacks to *granted. Erases the key when it is free.
  void GrantWaiters(const std::string& key, std::vector<GrantFn>* granted);

  std::unordered_map<std::string, KeyLock> keys_;
  std::unordered_map<TxnId, std::vector<std::string>, TxnIdHash> held_;  // txn -> keys
  std::unordered_map<TxnId, std::string, TxnIdHash> waiting_;            // txn -> key (L3)
};

}  // namespace kv2pc::participant
