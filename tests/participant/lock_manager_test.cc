// Strict 2PL lock table: compatibility, FIFO waits, upgrades, release and cancel.
#include "participant/lock_manager.h"

#include <gtest/gtest.h>

#include <vector>

namespace kv2pc::participant {
namespace {

using Acquired = LockManager::Acquired;
const TxnId T1{0, 1, 1}, T2{0, 1, 2}, T3{0, 1, 3}, T4{0, 1, 4};

class LockManagerTest : public ::testing::Test {
 protected:
  LockManager::GrantFn Record(const TxnId& t) {
    return [this, t] { granted_.push_back(t); };
  }
  LockManager lm_;
  std::vector<TxnId> granted_;
};

TEST_F(LockManagerTest, SharedLocksAreCompatible) {
  EXPECT_EQ(lm_.Acquire(T1, "a", LockMode::kShared, Record(T1)), Acquired::kGranted);
  EXPECT_EQ(lm_.Acquire(T2, "a", LockMode::kShared, Record(T2)), Acquired::kGranted);
  EXPECT_TRUE(lm_.Holds(T1, "a", LockMode::kShared));
  EXPECT_FALSE(lm_.Holds(T1, "a", LockMode::kExclusive));
}

TEST_F(LockManagerTest, ExclusiveWaitsForSharedAndIsGrantedOnRelease) {
  ASSERT_EQ(lm_.Acquire(T1, "a", LockMode::kShared, Record(T1)), Acquired::kGranted);
  EXPECT_EQ(lm_.Acquire(T2, "a", LockMode::kExclusive, Record(T2)), Acquired::kWaiting);
  EXPECT_TRUE(granted_.empty());
  lm_.ReleaseAll(T1);
  ASSERT_EQ(granted_.size(), 1u);
  EXPECT_EQ(granted_[0], T2);
  EXPECT_TRUE(lm_.Holds(T2, "a", LockMode::kExclusive));
}

TEST_F(LockManagerTest, WaitersAreGrantedInFifoOrder) {
  ASSERT_EQ(lm_.Acquire(T1, "a", LockMode::kExclusive, Record(T1)), Acquired::kGranted);
  EXPECT_EQ(lm_.Acquire(T2, "a", LockMode::kShared, Record(T2)), Acquired::kWaiting);
  EXPECT_EQ(lm_.Acquire(T3, "a", LockMode::kExclusive, Record(T3)), Acquired::kWaiting);
  EXPECT_EQ(lm_.Acquire(T4, "a", LockMode::kShared, Record(T4)), Acquired::kWaiting);
  lm_.ReleaseAll(T1);
  // T2 (S) is granted; T4 (S) is compatible but stays behind T3 (X): no overtaking.
  EXPECT_EQ(granted_, std::vector<TxnId>({T2}));
  lm_.ReleaseAll(T2);
  EXPECT_EQ(granted_, std::vector<TxnId>({T2, T3}));
  lm_.ReleaseAll(T3);
  EXPECT_EQ(granted_, std::vector<TxnId>({T2, T3, T4}));
}

TEST_F(LockManagerTest, NewSharedRequestDoesNotOvertakeAWaitingWriter) {
  ASSERT_EQ(lm_.Acquire(T1, "a", LockMode::kShared, Record(T1)), Acquired::kGranted);
  EXPECT_EQ(lm_.Acquire(T2, "a", LockMode::kExclusive, Record(T2)), Acquired::kWaiting);
  EXPECT_EQ(lm_.Acquire(T3, "a", LockMode::kShared, Record(T3)), Acquired::kWaiting);
}

TEST_F(LockManagerTest, ReentrantRequestsAreGranted) {
  ASSERT_EQ(lm_.Acquire(T1, "a", LockMode::kExclusive, Record(T1)), Acquired::kGranted);
  EXPECT_EQ(lm_.Acquire(T2, "a", LockMode::kShared, Record(T2)), Acquired::kWaiting);
  lm_.CancelWait(T2);
  EXPECT_EQ(lm_.Acquire(T1, "a", LockMode::kShared, Record(T1)), Acquired::kGranted);
  EXPECT_EQ(lm_.Acquire(T1, "a", LockMode::kExclusive, Record(T1)), Acquired::kGranted);
  EXPECT_TRUE(lm_.Holds(T1, "a", LockMode::kExclusive));  // S after X keeps X
}

TEST_F(LockManagerTest, SoleSharedHolderUpgradesAtOnce) {
  ASSERT_EQ(lm_.Acquire(T1, "a", LockMode::kShared, Record(T1)), Acquired::kGranted);
  EXPECT_EQ(lm_.Acquire(T1, "a", LockMode::kExclusive, Record(T1)), Acquired::kGranted);
  EXPECT_TRUE(lm_.Holds(T1, "a", LockMode::kExclusive));
}

TEST_F(LockManagerTest, UpgradeWaitsAheadOfOtherWaiters) {
  ASSERT_EQ(lm_.Acquire(T1, "a", LockMode::kShared, Record(T1)), Acquired::kGranted);
  ASSERT_EQ(lm_.Acquire(T2, "a", LockMode::kShared, Record(T2)), Acquired::kGranted);
  EXPECT_EQ(lm_.Acquire(T3, "a", LockMode::kExclusive, Record(T3)), Acquired::kWaiting);
  EXPECT_EQ(lm_.Acquire(T1, "a", LockMode::kExclusive, Record(T1)), Acquired::kWaiting);
  lm_.ReleaseAll(T2);
  EXPECT_EQ(granted_, std::vector<TxnId>({T1}));  // the upgrade, not T3
  EXPECT_TRUE(lm_.Holds(T1, "a", LockMode::kExclusive));
  lm_.ReleaseAll(T1);
  EXPECT_EQ(granted_, std::vector<TxnId>({T1, T3}));
}

TEST_F(LockManagerTest, CancelWaitLetsLaterWaitersIn) {
  ASSERT_EQ(lm_.Acquire(T1, "a", LockMode::kShared, Record(T1)), Acquired::kGranted);
  EXPECT_EQ(lm_.Acquire(T2, "a", LockMode::kExclusive, Record(T2)), Acquired::kWaiting);
  EXPECT_EQ(lm_.Acquire(T3, "a", LockMode::kShared, Record(T3)), Acquired::kWaiting);
  EXPECT_TRUE(lm_.CancelWait(T2));
  EXPECT_EQ(granted_, std::vector<TxnId>({T3}));  // compatible with T1 once T2 is gone
  EXPECT_FALSE(lm_.CancelWait(T2));
  EXPECT_EQ(lm_.waiting(), 0u);
}

TEST_F(LockManagerTest, ReleaseAllFreesEveryKeyAndForgetsEmptyEntries) {
  for (const char* k : {"a", "b", "c"}) {
    ASSERT_EQ(lm_.Acquire(T1, k, LockMode::kExclusive, Record(T1)), Acquired::kGranted);
  }
  EXPECT_EQ(lm_.locked_keys(), 3u);
  lm_.ReleaseAll(T1);
  EXPECT_EQ(lm_.locked_keys(), 0u);
  lm_.ReleaseAll(T1);  // harmless twice
}

TEST_F(LockManagerTest, ReleaseOfAWaiterDropsItsRequestWithoutCallingIt) {
  ASSERT_EQ(lm_.Acquire(T1, "a", LockMode::kExclusive, Record(T1)), Acquired::kGranted);
  EXPECT_EQ(lm_.Acquire(T2, "a", LockMode::kExclusive, Record(T2)), Acquired::kWaiting);
  lm_.ReleaseAll(T2);
  lm_.ReleaseAll(T1);
  EXPECT_TRUE(granted_.empty());
  EXPECT_EQ(lm_.locked_keys(), 0u);
}

TEST_F(LockManagerTest, GrantCallbackMayTakeMoreLocks) {
  ASSERT_EQ(lm_.Acquire(T1, "a", LockMode::kExclusive, Record(T1)), Acquired::kGranted);
  bool second = false;
  EXPECT_EQ(lm_.Acquire(T2, "a", LockMode::kExclusive,
                        [&] {
                          second = lm_.Acquire(T2, "b", LockMode::kExclusive, nullptr) ==
                                   Acquired::kGranted;
                        }),
            Acquired::kWaiting);
  lm_.ReleaseAll(T1);
  EXPECT_TRUE(second);
  EXPECT_TRUE(lm_.Holds(T2, "b", LockMode::kExclusive));
}

}  // namespace
}  // namespace kv2pc::participant
