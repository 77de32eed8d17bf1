// Crash and I/O-error tests of the write-ahead log (wal/log.h) on the fault-injecting file
// system (tests/testutil/faulty_fs.h): failed fsyncs, ENOSPC, and power cuts at every step.
// The property under test throughout: no record reported durable is ever lost, no record that
// was never appended ever appears, and recovery after a crash never reports Corruption.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <map>
#include <mutex>
#include <thread>

#include "tests/testutil/faulty_fs.h"
#include "tests/wal/wal_test_util.h"
#include "wal/log.h"
#include "wal/log_reader.h"
#include "wal/log_writer.h"

namespace kv2pc::wal {
namespace {

using test::OpenCollect;
using test::Rec;
using test::TestPayload;
using testutil::FaultyFileSystem;
using PowerCutMode = FaultyFileSystem::PowerCutMode;

class LogFaultTest : public ::testing::Test {
 protected:
  LogOptions Options(uint64_t segment_size = 4096) {
    LogOptions o;
    o.dir = "/wal";
    o.segment_size = segment_size;
    o.fs = &fs_;
    return o;
  }

  std::unique_ptr<Log> MustOpen(const LogOptions& o, std::vector<Rec>* records = nullptr) {
    std::vector<Rec> ignored;
    Result<std::unique_ptr<Log>> log = OpenCollect(o, records ? records : &ignored);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(log).value() : nullptr;
  }

  // Cuts the power, "reboots", and returns the records recovered.
  std::vector<Rec> CrashAndRecover(std::unique_ptr<Log>* log, const LogOptions& o,
                                   PowerCutMode mode = PowerCutMode::kDropUnsynced) {
    if (!fs_.crashed()) fs_.PowerCut(mode, 1);
    log->reset();  // the old process is gone; its destructor can no longer reach the disk
    fs_.ClearFaults();
    fs_.Restart();
    std::vector<Rec> records;
    *log = MustOpen(o, &records);
    return records;
  }

  FaultyFileSystem fs_;
};

// ---- Failed fsync: the log fails for good ---------------------------------------------------

TEST_F(LogFaultTest, FailedSyncFailsTheLogAndEveryWaiter) {
  LogOptions o = Options();
  std::atomic<int> notified{0};
  o.on_durable = [&] { notified.fetch_add(1); };
  std::unique_ptr<Log> log = MustOpen(o);
  ASSERT_TRUE(log->WaitDurable(*log->Append(1, "durable")).ok());
  fs_.FailNthSync(1);

  constexpr int kThreads = 4;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      Result<Lsn> lsn = log->Append(1, "doomed");
      Status s = lsn.ok() ? log->WaitDurable(*lsn) : lsn.status();
      if (s.IsIOError()) errors.fetch_add(1);
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(kThreads, errors.load());
  EXPECT_TRUE(log->failed());
  EXPECT_TRUE(log->failure().IsIOError());
  EXPECT_NE(std::string::npos, log->failure().message().find("fdatasync"));
  EXPECT_EQ(1u, log->durable_lsn());
  EXPECT_TRUE(log->WaitDurable(1).ok());  // durable before the failure: stays durable
  EXPECT_TRUE(log->Append(1, "later").status().IsIOError());
  EXPECT_TRUE(log->RemoveSegmentsBefore(1).IsIOError());
  EXPECT_GE(notified.load(), 2);  // once for LSN 1, once for the failure
}

TEST_F(LogFaultTest, FailedSyncIsNeverRetried) {
  std::unique_ptr<Log> log = MustOpen(Options());
  fs_.FailNthSync(1);
  Result<Lsn> lsn = log->Append(1, "x");
  ASSERT_TRUE(lsn.ok());
  EXPECT_TRUE(log->WaitDurable(*lsn).IsIOError());
  const int syncs = fs_.sync_count();
  const uint64_t mutations = fs_.mutation_count();
  log.reset();  // the destructor must not write or sync either (I9)
  EXPECT_EQ(syncs, fs_.sync_count());
  EXPECT_EQ(mutations, fs_.mutation_count());
}

TEST_F(LogFaultTest, FailedDirectorySyncDuringRotationFailsTheLog) {
  LogOptions o = Options(256);
  std::unique_ptr<Log> log = MustOpen(o);
  fs_.FailNthDirSync(1);
  Status s;
  for (Lsn lsn = 1; lsn <= 20 && s.ok(); ++lsn) {
    Result<Lsn> got = log->Append(1, TestPayload(lsn));
    s = got.ok() ? log->WaitDurable(*got) : got.status();
  }
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_TRUE(log->failed());
  Lsn durable = log->durable_lsn();
  std::vector<Rec> records = CrashAndRecover(&log, o);
  ASSERT_GE(records.size(), durable);
  for (Lsn lsn = 1; lsn <= durable; ++lsn) EXPECT_EQ(TestPayload(lsn), records[lsn - 1].payload);
}

TEST_F(LogFaultTest, FailedDirectorySyncWhileRemovingSegmentsFailsTheLog) {
  LogOptions o = Options(256);
  std::unique_ptr<Log> log = MustOpen(o);
  for (Lsn lsn = 1; lsn <= 30; ++lsn) ASSERT_TRUE(log->Append(1, TestPayload(lsn)).ok());
  ASSERT_TRUE(log->WaitDurable(30).ok());
  fs_.FailNthDirSync(1);
  EXPECT_TRUE(log->RemoveSegmentsBefore(30).IsIOError());
  EXPECT_TRUE(log->failed());
  EXPECT_TRUE(log->Append(1, "x").status().IsIOError());
}

// ---- Write errors (ENOSPC) ------------------------------------------------------------------

TEST_F(LogFaultTest, NoSpaceFailsTheAffectedRecordsAndKeepsTheDurableOnes) {
  LogOptions o = Options();
  std::unique_ptr<Log> log = MustOpen(o);
  for (Lsn lsn = 1; lsn <= 5; ++lsn) {
    ASSERT_TRUE(log->WaitDurable(*log->Append(1, TestPayload(lsn))).ok());
  }
  fs_.FailWritesFrom(1, ENOSPC);
  Result<Lsn> lsn = log->Append(1, TestPayload(6));
  ASSERT_TRUE(lsn.ok());
  Status s = log->WaitDurable(*lsn);
  EXPECT_TRUE(s.IsIOError());
  EXPECT_NE(std::string::npos, s.message().find("ENOSPC")) << s.ToString();
  EXPECT_TRUE(log->Append(1, TestPayload(7)).status().IsIOError());
  EXPECT_EQ(5u, log->durable_lsn());

  std::vector<Rec> records = CrashAndRecover(&log, o);
  ASSERT_EQ(5u, records.size());
  for (const Rec& r : records) EXPECT_EQ(TestPayload(r.lsn), r.payload);
  // The recovered log is healthy again.
  ASSERT_EQ(6u, *log->Append(1, "after"));
  EXPECT_TRUE(log->WaitDurable(6).ok());
}

TEST_F(LogFaultTest, NoSpaceWhileCreatingASegmentKeepsTheDurableRecords) {
  LogOptions o = Options(256);
  o.max_recycled_segments = 0;
  std::unique_ptr<Log> log = MustOpen(o);
  Lsn lsn = 0;
  while (log->SegmentPaths().size() < 2) {
    ++lsn;
    ASSERT_TRUE(log->WaitDurable(*log->Append(1, TestPayload(lsn))).ok());
  }
  // The next rotation's zero-fill hits a full disk.
  fs_.FailWritesFrom(1, ENOSPC);
  Status s;
  while (s.ok()) {
    Result<Lsn> got = log->Append(1, TestPayload(lsn + 1));
    s = got.ok() ? log->WaitDurable(*got) : got.status();
    if (s.ok()) ++lsn;
  }
  EXPECT_TRUE(s.IsIOError());
  std::vector<Rec> records = CrashAndRecover(&log, o);
  ASSERT_EQ(lsn, records.size());
}

// ---- Power cuts -----------------------------------------------------------------------------

TEST_F(LogFaultTest, PowerCutKeepsEveryRecordReportedDurable) {
  LogOptions o = Options(512);
  std::unique_ptr<Log> log = MustOpen(o);
  for (Lsn lsn = 1; lsn <= 10; ++lsn) {
    ASSERT_TRUE(log->WaitDurable(*log->Append(1, TestPayload(lsn))).ok());
  }
  for (Lsn lsn = 11; lsn <= 15; ++lsn) ASSERT_TRUE(log->Append(1, TestPayload(lsn)).ok());
  std::vector<Rec> records = CrashAndRecover(&log, o);
  ASSERT_GE(records.size(), 10u);
  ASSERT_LE(records.size(), 15u);
  for (const Rec& r : records) EXPECT_EQ(TestPayload(r.lsn), r.payload);
  // New records continue the recovered sequence and survive the next cut.
  Lsn next = records.size() + 1;
  ASSERT_EQ(next, *log->Append(1, "new"));
  ASSERT_TRUE(log->WaitDurable(next).ok());
  records = CrashAndRecover(&log, o);
  ASSERT_EQ(next, records.size());
  EXPECT_EQ("new", records.back().payload);
}

// One life of a log on fs until the first error: appends with periodic waits, segment removal
// and recycling. Records what was appended and which LSNs were reported durable.
struct Workload {
  std::map<Lsn, std::string> appended;
  Lsn durable = 0;        // every LSN <= durable was reported durable
  Lsn removed_below = 0;  // segments with only LSNs below this may have been removed

  void Run(const LogOptions& o) {
    Result<std::unique_ptr<Log>> opened = Log::Open(o, nullptr);
    if (!opened.ok()) return;
    std::unique_ptr<Log> log = std::move(opened).value();
    for (int i = 1; i <= 45; ++i) {
      std::string payload = TestPayload(i, static_cast<size_t>(i % 5) * 9);
      Result<Lsn> lsn = log->Append(static_cast<uint8_t>(1 + i % 3), payload);
      if (!lsn.ok()) return;
      appended[*lsn] = payload;
      if (i % 3 == 0) {
        if (!log->WaitDurable(*lsn).ok()) return;
        durable = *lsn;
      }
      if (i % 10 == 0 && durable > 4) {
        removed_below = durable - 4;  // before the call: a crash may interrupt it midway
        if (!log->RemoveSegmentsBefore(removed_below).ok()) return;
      }
    }
  }

  // Checks the records recovered after a crash.
  void Check(const std::vector<Rec>& records) const {
    for (const Rec& r : records) {
      auto it = appended.find(r.lsn);
      ASSERT_NE(appended.end(), it) << "LSN " << r.lsn << " was never appended";
      ASSERT_EQ(it->second, r.payload) << "LSN " << r.lsn;
    }
    for (size_t i = 1; i < records.size(); ++i) ASSERT_EQ(records[i - 1].lsn + 1, records[i].lsn);
    if (durable > 0) {
      ASSERT_FALSE(records.empty()) << "durable up to " << durable;
      EXPECT_LE(records.front().lsn, std::max<Lsn>(removed_below, 1));
      EXPECT_GE(records.back().lsn, durable);
    }
  }
};

void CrashAtEveryMutation(PowerCutMode mode) {
  LogOptions o;
  o.dir = "/wal";
  o.segment_size = 400;
  o.max_recycled_segments = 1;
  uint64_t total;
  {
    FaultyFileSystem fs;
    o.fs = &fs;
    Workload w;
    w.Run(o);
    total = fs.mutation_count();
  }
  ASSERT_GT(total, 50u);
  for (uint64_t n = 1; n <= total + 5; ++n) {
    SCOPED_TRACE("power cut at mutation " + std::to_string(n));
    FaultyFileSystem fs;
    o.fs = &fs;
    fs.CrashAtMutation(n, mode, static_cast<uint32_t>(n));
    Workload w;
    w.Run(o);
    if (!fs.crashed()) fs.PowerCut(mode, static_cast<uint32_t>(n));
    fs.Restart();
    std::vector<Rec> records;
    Result<std::unique_ptr<Log>> log = OpenCollect(o, &records);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    w.Check(records);
    // The repaired log takes new records and keeps them across one more cut.
    Result<Lsn> lsn = (*log)->Append(1, "after recovery");
    ASSERT_TRUE(lsn.ok());
    ASSERT_TRUE((*log)->WaitDurable(*lsn).ok());
    fs.PowerCut(mode, static_cast<uint32_t>(n) + 1);
    log = Status::Aborted("closed");
    fs.Restart();
    std::vector<Rec> again;
    log = OpenCollect(o, &again);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    ASSERT_FALSE(again.empty());
    EXPECT_EQ(*lsn, again.back().lsn);
    EXPECT_EQ("after recovery", again.back().payload);
  }
}

TEST(LogCrashTest, PowerCutAtEveryStepKeepsDurableRecords) {
  CrashAtEveryMutation(PowerCutMode::kDropUnsynced);
}

TEST(LogCrashTest, PowerCutKeepingRandomUnsyncedSectorsNeverLooksLikeCorruption) {
  CrashAtEveryMutation(PowerCutMode::kKeepRandomSectors);
}

TEST_F(LogFaultTest, ConcurrentAppendersLoseNothingDurableInAPowerCut) {
  LogOptions o = Options(1024);
  for (uint32_t seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    fs_.Restart();
    std::mutex mu;
    std::map<Lsn, std::string> appended;  // guarded by mu
    std::map<Lsn, std::string> durable;   // guarded by mu
    std::vector<Rec> before;
    std::unique_ptr<Log> log = MustOpen(o, &before);
    ASSERT_NE(nullptr, log);
    for (const Rec& r : before) appended[r.lsn] = durable[r.lsn] = r.payload;
    fs_.CrashAtMutation(10 + seed * 7, PowerCutMode::kKeepRandomSectors, seed);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0;; ++i) {
          std::string payload =
              "s" + std::to_string(seed) + "t" + std::to_string(t) + "i" + std::to_string(i);
          Result<Lsn> lsn = log->Append(1, payload);
          if (!lsn.ok()) return;
          {
            std::lock_guard<std::mutex> lock(mu);
            appended[*lsn] = payload;
          }
          if (!log->WaitDurable(*lsn).ok()) return;
          std::lock_guard<std::mutex> lock(mu);
          durable[*lsn] = payload;
        }
      });
    }
    for (std::thread& t : threads) t.join();
    std::vector<Rec> records = CrashAndRecover(&log, o, PowerCutMode::kKeepRandomSectors);
    ASSERT_NE(nullptr, log);
    std::map<Lsn, std::string> recovered;
    for (const Rec& r : records) recovered[r.lsn] = r.payload;
    for (const auto& [lsn, payload] : durable) {
      ASSERT_EQ(1u, recovered.count(lsn)) << "durable LSN " << lsn << " lost";
      EXPECT_EQ(payload, recovered[lsn]);
    }
    for (const auto& [lsn, payload] : recovered) EXPECT_EQ(appended[lsn], payload);
    log.reset();
  }
}

TEST_F(LogFaultTest, PartlyPersistedUnsyncedBatchIsATornTailNotCorruption) {
  // Records 11-40 were written by one pwrite that the power cut interrupted before its
  // fdatasync: any subset of the batch's sectors may be on disk, so later records can survive
  // while earlier ones are torn. Their durable hints (10) prove nothing about LSN 11+ (I4).
  LogOptions o = Options(64 << 10);
  const std::string path = "/wal/" + SegmentFileName(1);
  int later_records_seen = 0;
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    fs_.SetContents(path, "");
    ASSERT_TRUE(fs_.RemoveFile(path).ok());
    std::unique_ptr<Log> log = MustOpen(o);
    for (Lsn lsn = 1; lsn <= 10; ++lsn) {
      ASSERT_TRUE(log->WaitDurable(*log->Append(1, TestPayload(lsn))).ok());
    }
    log.reset();
    uint64_t end = kSegmentHeaderSize;
    for (Lsn lsn = 1; lsn <= 10; ++lsn) end += kRecordHeaderSize + TestPayload(lsn).size();
    std::string batch;
    for (Lsn lsn = 11; lsn <= 40; ++lsn) EncodeRecord(&batch, 1, lsn, 10, TestPayload(lsn));
    Result<std::unique_ptr<File>> file = fs_.OpenFile(path, FileSystem::OpenMode::kOpenExisting);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->Write(end, batch).ok());
    fs_.PowerCut(PowerCutMode::kKeepRandomSectors, seed);
    fs_.Restart();

    Result<LogScan> scan = ScanLog(&fs_, "/wal", false, nullptr);
    ASSERT_TRUE(scan.ok()) << scan.status().ToString();
    if (scan->segments.back().scan.stop_reason.find("unsynced later records") !=
        std::string::npos) {
      ++later_records_seen;
    }
    std::vector<Rec> records;
    log = MustOpen(o, &records);
    ASSERT_GE(records.size(), 10u);
    for (const Rec& r : records) EXPECT_EQ(TestPayload(r.lsn), r.payload);
    log.reset();
  }
  EXPECT_GT(later_records_seen, 0);  // the case under test did occur
}

TEST_F(LogFaultTest, CrashWhileRepairingATornTailIsRecoverable) {
  LogOptions o = Options();
  std::unique_ptr<Log> log = MustOpen(o);
  for (Lsn lsn = 1; lsn <= 5; ++lsn) {
    ASSERT_TRUE(log->WaitDurable(*log->Append(1, TestPayload(lsn))).ok());
  }
  log.reset();
  // Garbage after the last record, as a torn write leaves it.
  const std::string path = "/wal/" + SegmentFileName(1);
  std::string bytes = fs_.Contents(path);
  uint64_t end = kSegmentHeaderSize;
  for (Lsn lsn = 1; lsn <= 5; ++lsn) end += kRecordHeaderSize + TestPayload(lsn).size();
  for (uint64_t i = end; i < end + 200; ++i) bytes[i] = static_cast<char>(0x5a ^ i);
  fs_.SetContents(path, bytes);
  for (uint64_t n = 1; n <= 8; ++n) {
    SCOPED_TRACE("power cut at mutation " + std::to_string(n) + " of Open");
    fs_.CrashAtMutation(n, PowerCutMode::kKeepRandomSectors, static_cast<uint32_t>(n));
    Result<std::unique_ptr<Log>> crashed = Log::Open(o, nullptr);
    crashed = Status::Aborted("closed");
    std::unique_ptr<Log> reopened;
    std::vector<Rec> records = CrashAndRecover(&reopened, o);
    ASSERT_EQ(5u, records.size());
    reopened.reset();
    fs_.SetContents(path, bytes);
  }
}

}  // namespace
}  // namespace kv2pc::wal
