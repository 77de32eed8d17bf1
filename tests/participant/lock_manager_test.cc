// Strict 2PL lock table: compatibility, FIFO waits, upgrades, release and cancel, and the
// wait-die rule that keeps every wait pointing from an older to a younger transaction.
#include "participant/lock_manager.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

namespace kv2pc::participant {
namespace {

using Acquired = LockManager::Acquired;
const TxnId T1{0, 1, 1}, T2{0, 1, 2}, T3{0, 1, 3}, T4{0, 1, 4};

class LockManagerTest : public ::testing::Test {
 protected:
  // By default the transaction with the larger id is the OLDER one (smaller ts), so that the
  // classic queueing tests below have older waiters behind younger holders (they may wait).
  uint64_t Ts(const TxnId& t) const {
    auto it = ts_.find(t.seq);
    return it != ts_.end() ? it->second : 1000 - t.seq;
  }
  Acquired Get(const TxnId& t, const char* key, LockMode mode) {
    return lm_.Acquire(t, Ts(t), key, mode,
                       [this, t](const Status& s) { (s.ok() ? granted_ : died_).push_back(t); });
  }
  LockManager lm_;
  std::map<uint64_t, uint64_t> ts_;  // seq -> ts overrides
  std::vector<TxnId> granted_, died_;
};

TEST_F(LockManagerTest, SharedLocksAreCompatible) {
  EXPECT_EQ(Get(T1, "a", LockMode::kShared), Acquired::kGranted);
  EXPECT_EQ(Get(T2, "a", LockMode::kShared), Acquired::kGranted);
  EXPECT_TRUE(lm_.Holds(T1, "a", LockMode::kShared));
  EXPECT_FALSE(lm_.Holds(T1, "a", LockMode::kExclusive));
}

TEST_F(LockManagerTest, ExclusiveWaitsForSharedAndIsGrantedOnRelease) {
  ASSERT_EQ(Get(T1, "a", LockMode::kShared), Acquired::kGranted);
  EXPECT_EQ(Get(T2, "a", LockMode::kExclusive), Acquired::kWaiting);  // T2 is older: waits
  EXPECT_TRUE(granted_.empty());
  lm_.ReleaseAll(T1);
  EXPECT_EQ(granted_, std::vector<TxnId>({T2}));
  EXPECT_TRUE(lm_.Holds(T2, "a", LockMode::kExclusive));
}

TEST_F(LockManagerTest, WaitersAreGrantedInFifoOrder) {
  ts_ = {{1, 100}, {2, 30}, {3, 20}, {4, 10}};  // each newcomer older than all ahead of it
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

TEST_F(LockManagerTest, NewSharedRequestDoesNotOvertakeAWaitingWriter) {
  ts_ = {{1, 100}, {2, 50}, {3, 10}};
  ASSERT_EQ(Get(T1, "a", LockMode::kShared), Acquired::kGranted);
  EXPECT_EQ(Get(T2, "a", LockMode::kExclusive), Acquired::kWaiting);
  EXPECT_EQ(Get(T3, "a", LockMode::kShared), Acquired::kWaiting);
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

TEST_F(LockManagerTest, UpgradeWaitsAheadOfOtherWaiters) {
  ts_ = {{1, 10}, {2, 100}, {3, 5}};  // T3 oldest, then T1, then T2
  ASSERT_EQ(Get(T1, "a", LockMode::kShared), Acquired::kGranted);
  ASSERT_EQ(Get(T2, "a", LockMode::kShared), Acquired::kGranted);
  EXPECT_EQ(Get(T3, "a", LockMode::kExclusive), Acquired::kWaiting);
  EXPECT_EQ(Get(T1, "a", LockMode::kExclusive), Acquired::kWaiting);  // T1 older than T2
  EXPECT_TRUE(died_.empty());  // T3 is older than T1: it may wait behind the upgrade
  lm_.ReleaseAll(T2);
  EXPECT_EQ(granted_, std::vector<TxnId>({T1}));  // the upgrade, not T3
  EXPECT_TRUE(lm_.Holds(T1, "a", LockMode::kExclusive));
  lm_.ReleaseAll(T1);
  EXPECT_EQ(granted_, std::vector<TxnId>({T1, T3}));
}

TEST_F(LockManagerTest, CancelWaitLetsLaterWaitersIn) {
  ts_ = {{1, 100}, {2, 50}, {3, 10}};
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
  EXPECT_EQ(lm_.Acquire(T2, Ts(T2), "a", LockMode::kExclusive,
                        [&](const Status&) {
                          second = lm_.Acquire(T2, Ts(T2), "b", LockMode::kExclusive, nullptr) ==
                                   Acquired::kGranted;
                        }),
            Acquired::kWaiting);
  lm_.ReleaseAll(T1);
  EXPECT_TRUE(second);
  EXPECT_TRUE(lm_.Holds(T2, "b", LockMode::kExclusive));
}

// ---- Wait-die ----

TEST_F(LockManagerTest, YoungerRequestDiesInsteadOfWaitingForAnOlderHolder) {
  ts_ = {{1, 10}, {2, 20}};  // T1 older
  ASSERT_EQ(Get(T1, "a", LockMode::kExclusive), Acquired::kGranted);
  EXPECT_EQ(Get(T2, "a", LockMode::kShared), Acquired::kDied);
  EXPECT_EQ(Get(T2, "a", LockMode::kExclusive), Acquired::kDied);
  EXPECT_EQ(lm_.waiting(), 0u);  // a death changes nothing
  EXPECT_FALSE(lm_.Holds(T2, "a", LockMode::kShared));
}

TEST_F(LockManagerTest, OlderRequestWaitsForAYoungerHolder) {
  ts_ = {{1, 20}, {2, 10}};  // T2 older
  ASSERT_EQ(Get(T1, "a", LockMode::kExclusive), Acquired::kGranted);
  EXPECT_EQ(Get(T2, "a", LockMode::kExclusive), Acquired::kWaiting);
}

TEST_F(LockManagerTest, RequestDiesRatherThanQueueBehindAnOlderWaiter) {
  ts_ = {{1, 100}, {2, 10}, {3, 50}};  // T2 oldest, T3 middle, T1 youngest holder
  ASSERT_EQ(Get(T1, "a", LockMode::kShared), Acquired::kGranted);
  ASSERT_EQ(Get(T2, "a", LockMode::kExclusive), Acquired::kWaiting);
  // T3 (S) is compatible with T1 but must queue behind T2 (X), which is older: it dies.
  EXPECT_EQ(Get(T3, "a", LockMode::kShared), Acquired::kDied);
}

TEST_F(LockManagerTest, UpgradeOfAYoungerSharerDies) {
  ts_ = {{1, 10}, {2, 20}};  // T1 older
  ASSERT_EQ(Get(T1, "a", LockMode::kShared), Acquired::kGranted);
  ASSERT_EQ(Get(T2, "a", LockMode::kShared), Acquired::kGranted);
  EXPECT_EQ(Get(T2, "a", LockMode::kExclusive), Acquired::kDied);
  EXPECT_TRUE(lm_.Holds(T2, "a", LockMode::kShared));  // dying changes nothing; abort releases
}

TEST_F(LockManagerTest, ClassicTwoKeyCycleCannotForm) {
  // T1: a then b; T2: b then a. Whichever order the requests interleave in, the younger
  // one dies at its second request instead of waiting: no deadlock.
  ts_ = {{1, 10}, {2, 20}};
  ASSERT_EQ(Get(T1, "a", LockMode::kExclusive), Acquired::kGranted);
  ASSERT_EQ(Get(T2, "b", LockMode::kExclusive), Acquired::kGranted);
  EXPECT_EQ(Get(T1, "b", LockMode::kExclusive), Acquired::kWaiting);  // older waits
  EXPECT_EQ(Get(T2, "a", LockMode::kExclusive), Acquired::kDied);     // younger dies
  lm_.ReleaseAll(T2);                                                 // its abort
  EXPECT_EQ(granted_, std::vector<TxnId>({T1}));
}

}  // namespace
}  // namespace kv2pc::participant
