// kv2pc-waldump, run as a user would: on a participant log and a coordinator log, with a torn
// tail, and with corruption before the tail.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>

#include "tests/wal/wal_test_util.h"
#include "wal/log_format.h"
#include "wal/record.h"

namespace kv2pc::wal {
namespace {

struct DumpResult {
  int exit_code;
  std::string out;
};

DumpResult Dump(const std::string& dir) {
  std::string cmd = std::string(KV2PC_BIN_DIR) + "/kv2pc-waldump '" + dir + "' 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  DumpResult r{-1, ""};
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class WaldumpTest : public ::testing::Test {
 protected:
  std::unique_ptr<Log> Open() {
    LogOptions o;
    o.dir = dir_.path() + "/wal";
    o.segment_size = 64 * 1024;
    auto log = Log::Open(o, [](const RecordView&) { return Status::OK(); });
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return std::move(log).value();
  }
  testing::TempDir dir_;
  const TxnId t1_{0, 1, 1}, t2_{0, 1, 2}, t3_{0, 1, 3};
};

TEST_F(WaldumpTest, PairsEachPrepareWithItsOutcomeAndFlagsInDoubt) {
  {
    auto log = Open();
    ASSERT_TRUE(
        log->Append(kPrepare, PrepareRecord{t1_, {{"a", "1"}, {"b", std::nullopt}}}.Encode()).ok());
    ASSERT_TRUE(log->Append(kPrepare, PrepareRecord{t2_, {{"c", "2"}}}.Encode()).ok());
    ASSERT_TRUE(log->Append(kPrepare, PrepareRecord{t3_, {{"d", "3"}}}.Encode()).ok());
    ASSERT_TRUE(log->Append(kCommit, CommitRecord{t1_}.Encode()).ok());
    ASSERT_TRUE(log->Append(kAbort, AbortRecord{t2_}.Encode()).ok());
  }
  DumpResult r = Dump(dir_.path());  // a data dir: the tool finds wal/ in it
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("LSN 1 PREPARE T0.1.1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("LSN 4 COMMIT T0.1.1  <- PREPARE at LSN 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("LSN 5 ABORT T0.1.2  <- PREPARE at LSN 2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("IN DOUBT T0.1.3: PREPARE at LSN 3"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("IN DOUBT T0.1.1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("outcomes: 1 committed, 1 aborted, 1 in doubt"), std::string::npos) << r.out;
}

TEST_F(WaldumpTest, ShowsUnfinishedCoordinatorDecisions) {
  {
    auto log = Open();
    ASSERT_TRUE(
        log->Append(kDecisionCommit, DecisionCommitRecord{t1_, {"participant-0"}}.Encode()).ok());
    ASSERT_TRUE(
        log->Append(kDecisionCommit, DecisionCommitRecord{t2_, {"participant-1"}}.Encode()).ok());
    ASSERT_TRUE(log->Append(kEnd, EndRecord{t1_}.Encode()).ok());
  }
  DumpResult r = Dump(dir_.path() + "/wal");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("UNFINISHED T0.1.2: DECISION_COMMIT at LSN 2 has no END"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("decisions: 1 ended, 1 unfinished"), std::string::npos) << r.out;
}

TEST_F(WaldumpTest, ReportsATornTailAndExitsZero) {
  std::string segment;
  {
    auto log = Open();
    ASSERT_TRUE(log->Append(kPrepare, PrepareRecord{t1_, {{"a", "1"}}}.Encode()).ok());
    ASSERT_TRUE(log->Append(kCommit, CommitRecord{t1_}.Encode()).ok());
    segment = log->SegmentPaths().back();
  }
  // Cut the last record in half, as a crash mid-write would.
  std::string bytes = test::ReadFileBytes(segment);
  size_t end = kSegmentHeaderSize;
  for (int i = 0; i < 2; i++) {
    uint32_t len = static_cast<uint8_t>(bytes[end + 4]) | static_cast<uint8_t>(bytes[end + 5]) << 8;
    if (i == 1) {
      for (size_t j = end + 10; j < end + kRecordHeaderSize + len; j++) bytes[j] = 0;
    }
    end += kRecordHeaderSize + len;
  }
  test::WriteFileBytes(segment, bytes);
  DumpResult r = Dump(dir_.path());
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("TORN TAIL"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("IN DOUBT T0.1.1"), std::string::npos) << r.out;  // its COMMIT is torn
}

TEST_F(WaldumpTest, RefusesCorruptionBeforeTheTailWithExitTwo) {
  std::string segment;
  {
    auto log = Open();
    // Each record durable before the next: the later ones prove the first had been synced,
    // so damage to it is corruption, not a torn write (docs/wal-format.md).
    for (uint64_t i = 1; i <= 20; i++) {
      auto lsn = log->Append(kPrepare, PrepareRecord{TxnId{0, 1, i}, {{"k", "v"}}}.Encode());
      ASSERT_TRUE(lsn.ok());
      ASSERT_TRUE(log->WaitDurable(*lsn).ok());
    }
    segment = log->SegmentPaths().back();
  }
  std::string bytes = test::ReadFileBytes(segment);
  bytes[kSegmentHeaderSize + kRecordHeaderSize + 2] ^= 0x40;  // inside the first payload
  test::WriteFileBytes(segment, bytes);
  DumpResult r = Dump(dir_.path());
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("Corruption"), std::string::npos) << r.out;
}

TEST(WaldumpUsageTest, NoArgumentIsAUsageError) {
  FILE* p = popen((std::string(KV2PC_BIN_DIR) + "/kv2pc-waldump 2>/dev/null").c_str(), "r");
  ASSERT_NE(p, nullptr);
  int status = pclose(p);
  EXPECT_EQ(WEXITSTATUS(status), 1);
}

}  // namespace
}  // namespace kv2pc::wal
