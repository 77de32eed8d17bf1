// Crash recovery at every fail point (issue 5): for each point of the catalogue, a transaction
// spanning three participants crashes the process there (kill -9 semantics), the process is
// restarted by PID, and the transaction must end all-or-nothing on every participant, an
// acknowledged commit must be visible, `kv2pc outcome` must agree, and new transactions must
// get the keys' locks. Coordinator points run twice: restarted at once, and lost until the
// participants settle alone (what they cannot decide must be listed by IN_DOUBT). The same
// rows are what `kv2pc crash-matrix` prints (client/crash_matrix.h).
#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "client/crash_matrix.h"

namespace kv2pc {

// How gtest names a case in its output (instead of a byte dump).
void PrintTo(const CrashCase& c, std::ostream* os) {
  *os << c.point << (c.coordinator_lost ? " (coordinator lost)" : "");
}

namespace {

class CrashTest : public ::testing::TestWithParam<CrashCase> {};

TEST_P(CrashTest, RecoversAllOrNothing) {
  CrashMatrixOptions options;
  options.bin_dir = KV2PC_BIN_DIR;
  std::string logs;
  CrashRow row = RunCrashCase(options, GetParam(), &logs);
  EXPECT_TRUE(row.passed()) << CrashTableHeader() << CrashTableLine(row) << logs;
  if (!row.passed()) return;
  // Each check, so a report names the one that failed.
  EXPECT_TRUE(row.all_or_nothing);
  EXPECT_TRUE(row.ack_durable);
  EXPECT_TRUE(row.outcome_agrees);
  EXPECT_TRUE(row.locks_released);
  EXPECT_GE(row.resolve_ms, 0);
  std::cout << CrashTableLine(row);
}

std::string Name(const ::testing::TestParamInfo<CrashCase>& info) {
  std::string n = info.param.point + (info.param.coordinator_lost ? "_coordinator_lost" : "");
  for (char& ch : n) {
    if (ch == '.') ch = '_';
  }
  return n;
}

INSTANTIATE_TEST_SUITE_P(EveryFailPoint, CrashTest, ::testing::ValuesIn(AllCrashCases()), Name);

}  // namespace
}  // namespace kv2pc
