// The memory of one-phase commits: what it remembers, what it evicts, and the per-coordinator
// horizon that tells "never committed here" from "forgotten".
#include "participant/one_phase_memory.h"

#include <gtest/gtest.h>

namespace kv2pc::participant {
namespace {

using Answer = OnePhaseMemory::Answer;

TxnId Id(uint32_t coordinator, uint32_t incarnation, uint64_t seq) {
  return TxnId{coordinator, incarnation, seq};
}

TEST(OnePhaseMemoryTest, NewMemoryKnowsNothingAndForgetsNothing) {
  OnePhaseMemory m(4);
  EXPECT_EQ(m.size(), 0u);
  EXPECT_TRUE(m.horizons().empty());
  EXPECT_EQ(m.Lookup(Id(0, 1, 1)), Answer::kNotCommitted);
}

TEST(OnePhaseMemoryTest, AddedIdsAreCommittedOthersAreNot) {
  OnePhaseMemory m(4);
  m.Add(Id(0, 1, 5));
  m.Add(Id(1, 1, 5));
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m.Lookup(Id(0, 1, 5)), Answer::kCommitted);
  EXPECT_EQ(m.Lookup(Id(1, 1, 5)), Answer::kCommitted);
  EXPECT_EQ(m.Lookup(Id(0, 1, 4)), Answer::kNotCommitted);
  EXPECT_EQ(m.Lookup(Id(2, 1, 5)), Answer::kNotCommitted);
  EXPECT_TRUE(m.horizons().empty());
}

TEST(OnePhaseMemoryTest, RepeatsAreIgnored) {
  OnePhaseMemory m(2);
  m.Add(Id(0, 1, 1));
  m.Add(Id(0, 1, 1));
  m.Add(Id(0, 1, 2));
  m.Add(Id(0, 1, 1));  // still remembered: neither re-added nor a cause of eviction
  EXPECT_EQ(m.size(), 2u);
  EXPECT_TRUE(m.horizons().empty());
  EXPECT_EQ(m.Lookup(Id(0, 1, 1)), Answer::kCommitted);
}

TEST(OnePhaseMemoryTest, EvictionRaisesTheEvictedIdsCoordinatorHorizon) {
  OnePhaseMemory m(2);
  m.Add(Id(0, 1, 10));
  m.Add(Id(1, 1, 3));
  m.Add(Id(0, 1, 11));  // evicts T0.1.10
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m.horizons(), (std::map<uint32_t, TxnId>{{0, Id(0, 1, 10)}}));
  EXPECT_EQ(m.Lookup(Id(0, 1, 10)), Answer::kForgotten);
  EXPECT_EQ(m.Lookup(Id(0, 1, 2)), Answer::kForgotten);  // below the horizon: unknowable
  EXPECT_EQ(m.Lookup(Id(0, 1, 11)), Answer::kCommitted);
  EXPECT_EQ(m.Lookup(Id(0, 1, 12)), Answer::kNotCommitted);
  // Another coordinator's horizon is its own: nothing of coordinator 1 was forgotten.
  EXPECT_EQ(m.Lookup(Id(1, 1, 2)), Answer::kNotCommitted);
  EXPECT_EQ(m.Lookup(Id(1, 1, 3)), Answer::kCommitted);
  m.Add(Id(2, 1, 1));  // evicts T1.1.3
  EXPECT_EQ(m.horizons(), (std::map<uint32_t, TxnId>{{0, Id(0, 1, 10)}, {1, Id(1, 1, 3)}}));
  EXPECT_EQ(m.Lookup(Id(1, 1, 3)), Answer::kForgotten);
}

TEST(OnePhaseMemoryTest, HorizonOrdersByIncarnationThenSeq) {
  OnePhaseMemory m(1);
  m.Add(Id(0, 2, 1));
  m.Add(Id(0, 1, 1000));  // evicts T0.2.1
  // Evicting T0.1.1000 (inserted later, but lower in (incarnation, seq)) keeps the horizon.
  m.Add(Id(0, 3, 1));
  EXPECT_EQ(m.horizons().at(0), Id(0, 2, 1));
  EXPECT_EQ(m.Lookup(Id(0, 1, 1000)), Answer::kForgotten);
  EXPECT_EQ(m.Lookup(Id(0, 2, 1)), Answer::kForgotten);
  EXPECT_EQ(m.Lookup(Id(0, 2, 2)), Answer::kNotCommitted);
  EXPECT_EQ(m.Lookup(Id(0, 3, 1)), Answer::kCommitted);
}

TEST(OnePhaseMemoryTest, RememberedIdsBelowTheHorizonAreStillCommitted) {
  // Eviction is by insertion order: an id added after a higher one outlives it.
  OnePhaseMemory m(2);
  m.Add(Id(0, 1, 9));
  m.Add(Id(0, 1, 5));
  m.Add(Id(0, 1, 6));  // evicts T0.1.9: the horizon passes T0.1.5, which is still known
  EXPECT_EQ(m.horizons().at(0), Id(0, 1, 9));
  EXPECT_EQ(m.Lookup(Id(0, 1, 5)), Answer::kCommitted);
  EXPECT_EQ(m.Lookup(Id(0, 1, 6)), Answer::kCommitted);
  EXPECT_EQ(m.Lookup(Id(0, 1, 7)), Answer::kForgotten);
}

TEST(OnePhaseMemoryTest, SetHorizonOnlyRaises) {
  OnePhaseMemory m(4);
  m.SetHorizon(3, Id(3, 2, 7));
  EXPECT_EQ(m.Lookup(Id(3, 2, 7)), Answer::kForgotten);
  EXPECT_EQ(m.Lookup(Id(3, 2, 8)), Answer::kNotCommitted);
  m.SetHorizon(3, Id(3, 1, 100));  // lower: ignored (M2)
  EXPECT_EQ(m.horizons().at(3), Id(3, 2, 7));
  m.SetHorizon(3, Id(3, 2, 9));
  EXPECT_EQ(m.horizons().at(3), Id(3, 2, 9));
  EXPECT_EQ(m.Lookup(Id(3, 2, 8)), Answer::kForgotten);
  m.Add(Id(3, 2, 8));  // a remembered id answers kCommitted even below the horizon
  EXPECT_EQ(m.Lookup(Id(3, 2, 8)), Answer::kCommitted);
}

TEST(OnePhaseMemoryTest, EveryAddedIdIsRememberedOrCoveredByItsHorizon) {
  // (M1) over a long mixed run: ids of three coordinators, out of order within each.
  OnePhaseMemory m(16);
  std::vector<TxnId> added;
  for (uint64_t i = 0; i < 500; i++) {
    TxnId id =
        Id(static_cast<uint32_t>(i % 3), 1 + static_cast<uint32_t>(i / 200), (i * 7919) % 1000);
    m.Add(id);
    added.push_back(id);
    ASSERT_LE(m.size(), 16u);
  }
  for (const TxnId& id : added) EXPECT_NE(m.Lookup(id), Answer::kNotCommitted) << id.ToString();
}

TEST(OnePhaseMemoryTest, ZeroCapacityForgetsEverythingAtOnce) {
  OnePhaseMemory m(0);
  m.Add(Id(0, 1, 1));
  EXPECT_EQ(m.size(), 0u);
  EXPECT_EQ(m.Lookup(Id(0, 1, 1)), Answer::kForgotten);
  EXPECT_EQ(m.Lookup(Id(0, 1, 2)), Answer::kNotCommitted);
}

}  // namespace
}  // namespace kv2pc::participant
