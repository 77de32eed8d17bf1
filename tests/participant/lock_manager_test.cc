// Strict 2PL lock table: compatibility, waits in age order, upgrades, release and cancel, and
// the wound-wait rule that keeps every wait pointing from a younger to an older transaction
// (or to one that has voted and waits for nothing) -- checked on a random workload too.
#include "participant/lock_manager.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <vector>

namespace kv2pc::participant {
namespace {

using Acquired = LockManager::Acquired;
const TxnId T1{0, 1, 1}, T2{0, 1, 2}, T3{0, 1, 3}, T4{0, 1, 4};

class LockManagerTest : public ::testing::Test {
 protected:
  // By default a transaction's ts is its seq: T1 is the oldest, T4 the youngest.
  uint64_t Ts(const TxnId& t) const {
    auto it = ts_.find(t.seq);
    return it != ts_.end() ? it->second : t.seq;
  }
  Acquired Get(const TxnId& t, const char* key, LockMode mode) {
    return lm_.Acquire(
        t, Ts(t), key, mode,
        [this, t](const Status& s) { (s.ok() ? granted_ : failed_).push_back(t); }, &wound_);
  }
  LockManager lm_;
  std::map<uint64_t, uint64_t> ts_;  // seq -> ts overrides
  std::vector<TxnId> granted_, failed_, wound_;
};

TEST_F(LockManagerTest, SharedLocksAreCompatible) {
  EXPECT_EQ(Get(T1, "a", LockMode::kShared), Acquired::kGranted);
  EXPECT_EQ(Get(T2, "a", LockMode::kShared), Acquired::kGranted);
  EXPECT_TRUE(lm_.Holds(T1, "a", LockMode::kShared));
  EXPECT_FALSE(lm_.Holds(T1, "a", LockMode::kExclusive));
}

TEST_F(LockManagerTest, YoungerExclusiveWaitsForSharedAndIsGrantedOnRelease) {
  ASSERT_EQ(Get(T1, "a", LockMode::kShared), Acquired::kGranted);
  EXPECT_EQ(Get(T2, "a", LockMode::kExclusive), Acquired::kWaiting);
  EXPECT_TRUE(wound_.empty());  // younger: it waits, wounds nobody
  EXPECT_TRUE(granted_.empty());
  lm_.ReleaseAll(T1);
  EXPECT_EQ(granted_, std::vector<TxnId>({T2}));
  EXPECT_TRUE(lm_.Holds(T2, "a", LockMode::kExclusive));
}

TEST_F(LockManagerTest, WaitersArrivingInAgeOrderAreGrantedInArrivalOrder) {
  ASSERT_EQ(Get(T1, "a", LockMode::kExclusive), Acquired::kGranted);
  EXPECT_EQ(Get(T2, "a", LockMode::kShared), Acquired::kWaiting);
  EXPECT_EQ(Get(T3, "a", LockMode::kExclusive), Acquired::kWaiting);
  EXPECT_EQ(Get(T4, "a", LockMode::kShared), Acquired::kWaiting);
  lm_.ReleaseAll(T1);
  // T2 (S) is granted; T4 (S) is compatible but stays behind T3 (X): no overtaking.
  EXPECT_EQ(granted_, std::vector<TxnId>({T2}));
  lm_.ReleaseAll(T2);
  EXPECT_EQ(granted_, std::vector<TxnId>({T2, T3}));
  lm_.ReleaseAll(T3);
  EXPECT_EQ(granted_, std::vector<TxnId>({T2, T3, T4}));
}

TEST_F(LockManagerTest, QueueIsOrderedByAgeNotArrival) {
  ASSERT_EQ(Get(T1, "a", LockMode::kExclusive), Acquired::kGranted);
  EXPECT_EQ(Get(T4, "a", LockMode::kExclusive), Acquired::kWaiting);
  EXPECT_EQ(Get(T2, "a", LockMode::kExclusive), Acquired::kWaiting);  // older: goes ahead
  lm_.ReleaseAll(T1);
  EXPECT_EQ(granted_, std::vector<TxnId>({T2}));
  lm_.ReleaseAll(T2);
  EXPECT_EQ(granted_, std::vector<TxnId>({T2, T4}));
}

TEST_F(LockManagerTest, YoungerSharedRequestDoesNotOvertakeAWaitingWriter) {
  ASSERT_EQ(Get(T1, "a", LockMode::kShared), Acquired::kGranted);
  EXPECT_EQ(Get(T2, "a", LockMode::kExclusive), Acquired::kWaiting);
  EXPECT_EQ(Get(T3, "a", LockMode::kShared), Acquired::kWaiting);
}

TEST_F(LockManagerTest, OlderSharedRequestGoesAheadOfAYoungerWaitingWriter) {
  ts_ = {{1, 10}, {2, 20}, {3, 30}};
  ASSERT_EQ(Get(T1, "a", LockMode::kShared), Acquired::kGranted);
  EXPECT_EQ(Get(T3, "a", LockMode::kExclusive), Acquired::kWaiting);
  EXPECT_EQ(Get(T2, "a", LockMode::kShared), Acquired::kGranted);  // compatible, older than T3
  EXPECT_TRUE(wound_.empty());
}

TEST_F(LockManagerTest, ReentrantRequestsAreGranted) {
  ASSERT_EQ(Get(T1, "a", LockMode::kExclusive), Acquired::kGranted);
  EXPECT_EQ(Get(T2, "a", LockMode::kShared), Acquired::kWaiting);
  lm_.CancelWait(T2);
  EXPECT_EQ(Get(T1, "a", LockMode::kShared), Acquired::kGranted);
  EXPECT_EQ(Get(T1, "a", LockMode::kExclusive), Acquired::kGranted);
  EXPECT_TRUE(lm_.Holds(T1, "a", LockMode::kExclusive));  // S after X keeps X
}

TEST_F(LockManagerTest, SoleSharedHolderUpgradesAtOnce) {
  ASSERT_EQ(Get(T1, "a", LockMode::kShared), Acquired::kGranted);
  EXPECT_EQ(Get(T1, "a", LockMode::kExclusive), Acquired::kGranted);
  EXPECT_TRUE(lm_.Holds(T1, "a", LockMode::kExclusive));
}

TEST_F(LockManagerTest, CancelWaitLetsLaterWaitersIn) {
  ASSERT_EQ(Get(T1, "a", LockMode::kShared), Acquired::kGranted);
  EXPECT_EQ(Get(T2, "a", LockMode::kExclusive), Acquired::kWaiting);
  EXPECT_EQ(Get(T3, "a", LockMode::kShared), Acquired::kWaiting);
  EXPECT_TRUE(lm_.CancelWait(T2));
  EXPECT_EQ(granted_, std::vector<TxnId>({T3}));  // compatible with T1 once T2 is gone
  EXPECT_FALSE(lm_.CancelWait(T2));
  EXPECT_EQ(lm_.waiting(), 0u);
}

TEST_F(LockManagerTest, ReleaseAllFreesEveryKeyAndForgetsEmptyEntries) {
  for (const char* k : {"a", "b", "c"}) {
    ASSERT_EQ(Get(T1, k, LockMode::kExclusive), Acquired::kGranted);
  }
  EXPECT_EQ(lm_.locked_keys(), 3u);
  EXPECT_EQ(lm_.HeldBy(T1), 3u);
  lm_.ReleaseAll(T1);
  EXPECT_EQ(lm_.locked_keys(), 0u);
  lm_.ReleaseAll(T1);  // harmless twice
}

TEST_F(LockManagerTest, ReleaseOfAWaiterDropsItsRequestWithoutCallingIt) {
  ASSERT_EQ(Get(T1, "a", LockMode::kExclusive), Acquired::kGranted);
  EXPECT_EQ(Get(T2, "a", LockMode::kExclusive), Acquired::kWaiting);
  lm_.ReleaseAll(T2);
  lm_.ReleaseAll(T1);
  EXPECT_TRUE(granted_.empty());
  EXPECT_EQ(lm_.locked_keys(), 0u);
}

TEST_F(LockManagerTest, GrantCallbackMayTakeMoreLocks) {
  ASSERT_EQ(Get(T1, "a", LockMode::kExclusive), Acquired::kGranted);
  bool second = false;
  std::vector<TxnId> wound;
  EXPECT_EQ(lm_.Acquire(
                T2, Ts(T2), "a", LockMode::kExclusive,
                [&](const Status&) {
                  second = lm_.Acquire(T2, Ts(T2), "b", LockMode::kExclusive, nullptr, &wound) ==
                           Acquired::kGranted;
                },
                &wound),
            Acquired::kWaiting);
  lm_.ReleaseAll(T1);
  EXPECT_TRUE(second);
  EXPECT_TRUE(lm_.Holds(T2, "b", LockMode::kExclusive));
}

TEST_F(LockManagerTest, DescribeShowsContendedKeysFirstWithQueueOrder) {
  ASSERT_EQ(Get(T1, "b", LockMode::kShared), Acquired::kGranted);
  ASSERT_EQ(Get(T1, "a", LockMode::kExclusive), Acquired::kGranted);
  ASSERT_EQ(Get(T3, "b", LockMode::kExclusive), Acquired::kWaiting);
  ASSERT_EQ(Get(T2, "c", LockMode::kShared), Acquired::kGranted);
  ASSERT_EQ(Get(T4, "c", LockMode::kShared), Acquired::kGranted);
  auto v = lm_.Describe(10);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].key, "b");  // the only one with a waiter
  EXPECT_EQ(v[0].mode, LockMode::kShared);
  EXPECT_EQ(v[0].holders, std::vector<TxnId>({T1}));
  ASSERT_EQ(v[0].waiters.size(), 1u);
  EXPECT_EQ(v[0].waiters[0].first, T3);
  EXPECT_EQ(v[1].key, "a");
  EXPECT_EQ(v[2].key, "c");
  EXPECT_EQ(v[2].holders, std::vector<TxnId>({T2, T4}));
  EXPECT_EQ(lm_.Describe(1).size(), 1u);
  ASSERT_NE(lm_.WaitingFor(T3), nullptr);
  EXPECT_EQ(*lm_.WaitingFor(T3), "b");
  EXPECT_EQ(lm_.WaitingFor(T1), nullptr);
}

// ---- Wound-wait ----

TEST_F(LockManagerTest, OlderRequestWoundsAYoungerHolder) {
  ASSERT_EQ(Get(T2, "a", LockMode::kExclusive), Acquired::kGranted);
  EXPECT_EQ(Get(T1, "a", LockMode::kShared), Acquired::kWaiting);
  EXPECT_EQ(wound_, std::vector<TxnId>({T2}));
  lm_.ReleaseAll(T2);  // what the caller does with a woundable victim: abort it
  EXPECT_EQ(granted_, std::vector<TxnId>({T1}));
}

TEST_F(LockManagerTest, YoungerRequestWaitsForAnOlderHolderAndWoundsNobody) {
  ASSERT_EQ(Get(T1, "a", LockMode::kExclusive), Acquired::kGranted);
  EXPECT_EQ(Get(T2, "a", LockMode::kShared), Acquired::kWaiting);
  EXPECT_TRUE(wound_.empty());
}

TEST_F(LockManagerTest, OnlyConflictingYoungerHoldersAreWounded) {
  ASSERT_EQ(Get(T3, "a", LockMode::kShared), Acquired::kGranted);
  ASSERT_EQ(Get(T4, "a", LockMode::kShared), Acquired::kGranted);
  EXPECT_EQ(Get(T1, "a", LockMode::kShared), Acquired::kGranted);  // S with S: no conflict
  EXPECT_TRUE(wound_.empty());
  ASSERT_EQ(Get(T2, "a", LockMode::kShared), Acquired::kGranted);
  // T2 upgrades: the younger sharers T3 and T4 must go; it waits for the older T1.
  EXPECT_EQ(Get(T2, "a", LockMode::kExclusive), Acquired::kWaiting);
  EXPECT_EQ(std::set<TxnId>(wound_.begin(), wound_.end()), std::set<TxnId>({T3, T4}));
  lm_.ReleaseAll(T3);
  lm_.ReleaseAll(T4);
  EXPECT_TRUE(granted_.empty());  // T1 still holds S
  lm_.ReleaseAll(T1);
  EXPECT_EQ(granted_, std::vector<TxnId>({T2}));
  EXPECT_TRUE(lm_.Holds(T2, "a", LockMode::kExclusive));
}

TEST_F(LockManagerTest, AHolderThatCannotBeWoundedIsWaitedFor) {
  // T2 has voted (the caller will not abort it): T1 waits for its decision.
  ASSERT_EQ(Get(T2, "a", LockMode::kExclusive), Acquired::kGranted);
  EXPECT_EQ(Get(T1, "a", LockMode::kExclusive), Acquired::kWaiting);
  EXPECT_EQ(wound_, std::vector<TxnId>({T2}));
  EXPECT_TRUE(granted_.empty());
  lm_.ReleaseAll(T2);  // its commit
  EXPECT_EQ(granted_, std::vector<TxnId>({T1}));
}

TEST_F(LockManagerTest, ClassicTwoKeyCycleCannotForm) {
  // T1: a then b; T2: b then a. The younger waits for the older; the older wounds the
  // younger instead of waiting for it: no deadlock, whichever order the requests come in.
  ASSERT_EQ(Get(T1, "a", LockMode::kExclusive), Acquired::kGranted);
  ASSERT_EQ(Get(T2, "b", LockMode::kExclusive), Acquired::kGranted);
  EXPECT_EQ(Get(T2, "a", LockMode::kExclusive), Acquired::kWaiting);  // younger waits
  EXPECT_TRUE(wound_.empty());
  EXPECT_EQ(Get(T1, "b", LockMode::kExclusive), Acquired::kWaiting);  // older wounds
  EXPECT_EQ(wound_, std::vector<TxnId>({T2}));
  lm_.ReleaseAll(T2);  // the wound: T2 aborts, its wait is dropped
  EXPECT_EQ(granted_, std::vector<TxnId>({T1}));
  EXPECT_EQ(lm_.waiting(), 0u);
}

// Random workload with a caller that wounds what it is told to (except transactions marked
// as voted), commits and aborts at random. After every step, the wait-for graph read from
// Describe() must have only edges from younger to older transactions or to voted ones, and
// so no cycle; at the end every transaction finishes and no lock is left.
TEST(LockManagerRandomTest, WaitsOnlyPointToOlderOrVotedTransactions) {
  for (int seed = 1; seed <= 30; seed++) {
    std::mt19937_64 rng(seed);
    LockManager lm;
    constexpr int kTxns = 12, kKeys = 4;
    struct Sim {
      uint64_t ts = 0;
      bool waiting = false;
      bool voted = false;
      int ops = 0;
    };
    std::map<TxnId, Sim> live;
    uint64_t next_seq = 1, next_ts = 1;
    auto start = [&](std::optional<uint64_t> ts) {
      TxnId id{0, 1, next_seq++};
      live[id] = Sim{ts.value_or(next_ts++)};
    };
    for (int i = 0; i < kTxns; i++) start(std::nullopt);
    auto finish = [&](TxnId id, bool restart) {  // by value: it erases live[id]
      uint64_t ts = live[id].ts;
      live.erase(id);
      lm.ReleaseAll(id);
      if (restart) start(ts);  // a retry keeps its age
    };
    for (int step = 0; step < 2000; step++) {
      // Pick a running (not waiting) transaction.
      std::vector<TxnId> running;
      for (auto& [id, s] : live) {
        if (!s.waiting) running.push_back(id);
      }
      ASSERT_FALSE(running.empty())
          << "seed " << seed << " step " << step << ": every transaction waits (deadlock)";
      TxnId id = running[rng() % running.size()];
      Sim& me = live[id];
      if (me.voted || me.ops >= 3 || rng() % 8 == 0) {
        if (!me.voted && rng() % 2 == 0) {
          me.voted = true;  // prepared: from now on it cannot be wounded
        } else {
          finish(id, false);  // commit
          start(std::nullopt);
        }
      } else {
        std::string key(1, static_cast<char>('a' + rng() % kKeys));
        LockMode mode = rng() % 2 ? LockMode::kShared : LockMode::kExclusive;
        std::vector<TxnId> wound;
        me.ops++;
        auto r = lm.Acquire(
            id, me.ts, key, mode,
            [&live, id](const Status& s) {
              ASSERT_TRUE(s.ok());
              ASSERT_TRUE(live.count(id)) << "a lock granted to a finished " << id.ToString();
              live[id].waiting = false;
            },
            &wound);
        if (r == Acquired::kWaiting) {
          live[id].waiting = true;
          for (const TxnId& v : wound) {
            ASSERT_TRUE(live.count(v));
            ASSERT_LT((LockPriority{me.ts, id}), (LockPriority{live[v].ts, v}));
            if (!live[v].voted) finish(v, true);  // wounded: aborts and retries
          }
        }
      }
      // Every wait-for edge: a waiter waits for the conflicting holders and every waiter
      // ahead of it in the queue.
      for (const auto& k : lm.Describe(1000)) {
        for (const TxnId& h : k.holders) {
          ASSERT_TRUE(live.count(h)) << "seed " << seed << " step " << step << ": finished "
                                     << h.ToString() << " holds " << k.key;
        }
        for (size_t i = 0; i < k.waiters.size(); i++) {
          const auto& [w, wmode] = k.waiters[i];
          LockPriority wp{live[w].ts, w};
          std::vector<TxnId> targets;
          for (const TxnId& h : k.holders) {
            bool conflict = k.mode == LockMode::kExclusive || wmode == LockMode::kExclusive;
            if (h != w && conflict) targets.push_back(h);
          }
          for (size_t j = 0; j < i; j++) targets.push_back(k.waiters[j].first);
          for (const TxnId& t : targets) {
            ASSERT_TRUE((LockPriority{live[t].ts, t} < wp) || live[t].voted)
                << "seed " << seed << " step " << step << ": " << w.ToString()
                << " waits for the younger, woundable " << t.ToString() << " on " << k.key;
          }
        }
      }
    }
    while (!live.empty()) finish(live.begin()->first, false);
    for (const auto& k : lm.Describe(10))
      ADD_FAILURE() << "seed " << seed << ": " << k.key << " left locked";
    EXPECT_EQ(lm.locked_keys(), 0u);
    EXPECT_EQ(lm.waiting(), 0u);
  }
}

}  // namespace
}  // namespace kv2pc::participant
