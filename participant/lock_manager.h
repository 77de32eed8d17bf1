// LockManager: strict two-phase locking for one participant, deadlock-free by wound-wait
// (docs/architecture.md, "Locking").
//
// Shared (S) locks for reads, exclusive (X) locks for writes, held until the transaction
// commits or aborts (strict 2PL), which makes every schedule serializable. A request that
// cannot be granted waits in the key's queue; the caller is not blocked: it gets kWaiting and
// its callback runs later, on the same (event-loop) thread.
//
// Wound-wait. Every transaction carries a priority: the timestamp its coordinator gave it at
// BEGIN (kept when a client retries an aborted transaction), ties broken by id; smaller is
// older. An older transaction never waits for a younger one that can still be rolled back:
// Acquire() reports the younger conflicting holders (`wound`), and the caller aborts each of
// them that is still ACTIVE ("wounds" it; its locks go at once). A younger transaction waits
// for an older one. Queues are ordered by priority (oldest first), so a waiter waits only for
// older waiters ahead of it. A transaction that has voted (PREPARING/PREPARED) cannot be
// wounded; it is waited for, but it waits for no lock itself, so no cycle can pass through
// it. Hence every wait-for edge, on every participant, goes from younger to older or ends at
// a transaction that waits for nothing, and no cycle can form, within a participant or
// across participants, without any participant knowing the others' waits.
//
// NOTES (invariants):
//  (L1) a key's holders are either one X holder, or any number of S holders.
//  (L2) a key's waiters are in priority order (oldest first); the first waiter is not
//       compatible with the holders (else it would have been granted), except that a grant
//       pass may be pending inside Release (never observable from outside).
//  (L3) a transaction waits for at most one lock at a time (its requests are sequential).
//  (L4) once the caller has wounded what Acquire() reported, a waiter waits only for older
//       transactions, or for ones that cannot be wounded (they wait for no lock).
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

#include "common/status.h"
#include "common/types.h"

namespace kv2pc::participant {

enum class LockMode : uint8_t { kShared, kExclusive };

// Wound-wait priority: the coordinator's timestamp, then the id. Smaller = older = wins.
struct LockPriority {
  uint64_t ts = 0;
  TxnId id;
  auto operator<=>(const LockPriority&) const = default;
};

class LockManager {
 public:
  // Ends a wait: OK when the lock is granted. (A Status, so that a policy may end a wait with
  // an error; wound-wait ends waits only by granting, or by the caller aborting the waiter.)
  using WaitFn = std::function<void(const Status&)>;
  enum class Acquired { kGranted, kWaiting };

  LockManager() = default;
  LockManager(const LockManager&) = delete;
  LockManager& operator=(const LockManager&) = delete;

  // Grants at once if compatible with the holders and no older request waits (re-entrant: a
  // holder of X, or of S asking S, is granted whatever waits). Otherwise queues the request
  // behind the older waiters, returns kWaiting, and sets *wound to the younger holders it
  // conflicts with: the caller aborts those it can (ReleaseAll grants this request once
  // nothing older is in the way) and waits for the others. `on_wait_end` runs later, from
  // inside ReleaseAll() or CancelWait() of another transaction.
  // REQUIRES: txn has no other waiting request (L3); the same ts for every call of one txn.
  Acquired Acquire(const TxnId& txn, uint64_t ts, std::string_view key, LockMode mode,
                   WaitFn on_wait_end, std::vector<TxnId>* wound);

  // Releases every lock `txn` holds and drops its waiting request (without calling it);
  // grants what becomes grantable, in FIFO order. Callbacks run before this returns.
  void ReleaseAll(const TxnId& txn);

  // Drops `txn`'s waiting request, if any (its callback is not called). Returns whether it had
  // one. Waiters behind it may become grantable and are granted.
  bool CancelWait(const TxnId& txn);

  // Introspection (tests, status).
  bool Holds(const TxnId& txn, std::string_view key, LockMode mode) const;
  size_t locked_keys() const { return keys_.size(); }
  size_t waiting() const { return waiting_.size(); }
  // Keys `txn` holds a lock on; the key it waits for, or nullptr.
  size_t HeldBy(const TxnId& txn) const;
  const std::string* WaitingFor(const TxnId& txn) const;
  // Transactions queued for `key`, in queue order.
  std::vector<TxnId> WaitersOn(std::string_view key) const;
  // One locked key as STATUS shows it: holders (sorted by id) and waiters in queue order.
  struct KeyView {
    std::string key;
    LockMode mode;
    std::vector<TxnId> holders;
    std::vector<std::pair<TxnId, LockMode>> waiters;
  };
  // At most `limit` locked keys: those with waiters first (the contended ones), then by key.
  // O(locked keys * log): meant for operators, not for the request path.
  std::vector<KeyView> Describe(size_t limit) const;

 private:
  struct Waiter {
    LockPriority prio;
    LockMode mode;
    WaitFn on_wait_end;
  };
  struct KeyLock {
    LockMode mode = LockMode::kShared;
    std::unordered_set<TxnId, TxnIdHash> holders;
    std::deque<Waiter> waiters;
  };

  static bool Compatible(const KeyLock& lock, const TxnId& txn, LockMode mode);
  static bool Conflict(LockMode a, LockMode b) {
    return a == LockMode::kExclusive || b == LockMode::kExclusive;
  }
  void Grant(KeyLock& lock, const TxnId& txn, LockMode mode, const std::string& key);
  // Moves grantable waiters at the head of `key`'s queue to the holders; appends their
  // callbacks to *granted. Erases the key when it is free.
  void GrantWaiters(const std::string& key, std::vector<WaitFn>* granted);
  LockPriority PriorityOf(const TxnId& txn) const;

  std::unordered_map<std::string, KeyLock> keys_;
  std::unordered_map<TxnId, std::vector<std::string>, TxnIdHash> held_;  // txn -> keys
  std::unordered_map<TxnId, std::string, TxnIdHash> waiting_;            // txn -> key (L3)
  std::unordered_map<TxnId, uint64_t, TxnIdHash> ts_;  // txns holding or waiting -> ts
};

}  // namespace kv2pc::participant
