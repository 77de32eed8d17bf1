// Chaos (issue 5), bounded: 60 s of the bank workload across every participant while a
// nemesis SIGKILLs a random coordinator or participant every few seconds and restarts it
// (client/chaos.h; `scripts/chaos.sh --minutes N` runs it longer). Afterwards the total balance
// is unchanged, every acknowledged transfer is reflected, nothing stays in doubt, every audit
// saw the initial total, and no sanitizer reported anything.
#include "client/chaos.h"

#include <gtest/gtest.h>

#include <iostream>

namespace kv2pc {
namespace {

TEST(ChaosTest, BankSurvivesKillsOfAnyNode) {
  ChaosOptions options;
  options.bin_dir = KV2PC_BIN_DIR;
  options.duration = std::chrono::seconds(60);
  options.seed = 20240605;  // fixed: the same kill schedule every run
  ChaosSummary s = RunChaos(options, &std::cout);
  std::cout << s.text;
  EXPECT_TRUE(s.invariant_held) << s.text;
  // Each check, so a report names the one that failed.
  EXPECT_GT(s.kills, 0);
  EXPECT_EQ(s.restarts, s.kills);
  EXPECT_GT(s.committed, 0u);
  EXPECT_EQ(s.final_sum, s.expected_sum);
  EXPECT_EQ(s.lost_acknowledged, 0u);
  EXPECT_EQ(s.unexpected_commits, 0u);
  EXPECT_EQ(s.unknown_unresolved, 0u);
  EXPECT_EQ(s.unknown, s.unknown_committed + s.unknown_aborted);
  EXPECT_GE(s.settle_ms, 0) << "transactions stayed open or in doubt";
  EXPECT_EQ(s.audits_failed, 0u);
  EXPECT_GT(s.audits_ok, 0u);
  EXPECT_EQ(s.sanitizer_reports, "");
}

}  // namespace
}  // namespace kv2pc
