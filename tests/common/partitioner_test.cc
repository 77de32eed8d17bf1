// Consistent-hash ring: stable owners, even spread, and minimal movement on growth.
#include "common/partitioner.h"

#include <gtest/gtest.h>

#include <map>

namespace kv2pc {
namespace {

TEST(HashRingTest, HashIsStable) {
  // Pinned values: changing Hash64 would move every stored key to another participant.
  // Computed independently from the definition (FNV-1a 64, then murmur3 fmix64).
  EXPECT_EQ(Hash64(""), 0xefd01f60ba992926ULL);
  EXPECT_EQ(Hash64("kv2pc"), 0x88dd435aeaa7e21cULL);
  EXPECT_EQ(Hash64("participant-0#0"), 0x5d8d58b16c000d32ULL);  // a ring point
}

TEST(HashRingTest, OwnerDoesNotDependOnOrder) {
  HashRing a({"participant-0", "participant-1", "participant-2"}, 64);
  HashRing b({"participant-2", "participant-0", "participant-1"}, 64);
  for (int i = 0; i < 10000; i++) {
    std::string key = "key" + std::to_string(i);
    EXPECT_EQ(a.Owner(key), b.Owner(key));
  }
}

TEST(HashRingTest, SpreadsKeysEvenly) {
  HashRing ring({"participant-0", "participant-1", "participant-2"}, 256);
  std::map<std::string, int> count;
  const int n = 30000;
  for (int i = 0; i < n; i++) count[ring.Owner("user:" + std::to_string(i))]++;
  ASSERT_EQ(count.size(), 3u);
  for (const auto& [name, c] : count) {
    EXPECT_GT(c, n / 3 * 0.85) << name;  // within 15% of a fair share
    EXPECT_LT(c, n / 3 * 1.15) << name;
  }
}

TEST(HashRingTest, AddingAParticipantMovesAboutItsShare) {
  HashRing three({"p0", "p1", "p2"}, 64);
  HashRing four({"p0", "p1", "p2", "p3"}, 64);
  int moved = 0;
  const int n = 20000;
  for (int i = 0; i < n; i++) {
    std::string key = "k" + std::to_string(i);
    if (three.Owner(key) != four.Owner(key)) {
      moved++;
      EXPECT_EQ(four.Owner(key), "p3");  // keys only move to the new participant
    }
  }
  EXPECT_GT(moved, n / 4 * 0.6);
  EXPECT_LT(moved, n / 4 * 1.4);
}

TEST(HashRingTest, SingleParticipantOwnsEverything) {
  HashRing ring({"only"}, 1);
  EXPECT_EQ(ring.Owner("x"), "only");
  EXPECT_EQ(ring.Owner(""), "only");
}

}  // namespace
}  // namespace kv2pc
