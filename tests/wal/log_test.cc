// Tests of the write-ahead log (wal/log.h) on the real POSIX file system: round trips,
// rotation, recycling, and recovery from torn tails and corruption made by editing the files.
// Crash and I/O-error tests with the fault-injecting file system are in log_fault_test.cc.
#include "wal/log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "tests/wal/wal_test_util.h"
#include "wal/coding.h"
#include "wal/log_format.h"

namespace kv2pc::wal {
namespace {

using test::OpenCollect;
using test::ReadFileBytes;
using test::Rec;
using test::TestPayload;
using test::WriteFileBytes;

uint8_t TypeFor(Lsn lsn) { return static_cast<uint8_t>(1 + lsn % 3); }

// Offset of the last record of a segment holding records followed by zeros.
uint64_t LastRecordOffset(const std::string& segment) {
  uint64_t off = kSegmentHeaderSize;
  uint64_t last = off;
  while (off + kRecordHeaderSize <= segment.size() && segment[off + 8] != 0) {
    last = off;
    off += kRecordHeaderSize + DecodeFixed32(segment.data() + off + 4);
  }
  return last;
}

class LogTest : public ::testing::Test {
 protected:
  LogOptions Options(uint64_t segment_size = 4096, bool sync = false) {
    LogOptions o;
    o.dir = Sub("wal");
    o.segment_size = segment_size;
    o.sync = sync;
    return o;
  }

  std::unique_ptr<Log> MustOpen(const LogOptions& o, std::vector<Rec>* records = nullptr) {
    std::vector<Rec> ignored;
    Result<std::unique_ptr<Log>> log = OpenCollect(o, records ? records : &ignored);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(log).value() : nullptr;
  }

  std::vector<Rec> Reopen(const LogOptions& o) {
    std::vector<Rec> records;
    MustOpen(o, &records);
    return records;
  }

  // Appends TestPayload(lsn) for LSNs from..to, waiting for each to be durable, so that each
  // record's durable hint is the previous LSN.
  void AppendDurably(Log* log, Lsn from, Lsn to) {
    for (Lsn lsn = from; lsn <= to; ++lsn) {
      Result<Lsn> got = log->Append(TypeFor(lsn), TestPayload(lsn));
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      ASSERT_EQ(lsn, *got);
      ASSERT_TRUE(log->WaitDurable(lsn).ok());
    }
  }

  static std::vector<Rec> Expected(Lsn from, Lsn to) {
    std::vector<Rec> v;
    for (Lsn lsn = from; lsn <= to; ++lsn) v.push_back({lsn, TypeFor(lsn), TestPayload(lsn)});
    return v;
  }

  // Offset of LSN lsn's record in a segment whose first LSN is first, for TestPayload records.
  static uint64_t OffsetOf(Lsn first, Lsn lsn) {
    uint64_t off = kSegmentHeaderSize;
    for (Lsn l = first; l < lsn; ++l) off += kRecordHeaderSize + TestPayload(l).size();
    return off;
  }

  std::string SegPath(Lsn first) { return Sub("wal/" + SegmentFileName(first)); }

  std::vector<std::string> FilesEndingWith(const std::string& suffix) {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(Sub("wal"))) {
      std::string n = e.path().filename().string();
      if (n.ends_with(suffix)) names.push_back(n);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  std::string Sub(const std::string& name) const { return dir_.path() + "/" + name; }

  kv2pc::testing::TempDir dir_;
};

TEST_F(LogTest, RecordsRoundTripThroughReopen) {
  LogOptions o = Options(4096, /*sync=*/true);
  {
    std::unique_ptr<Log> log = MustOpen(o);
    EXPECT_EQ(0u, log->last_lsn());
    EXPECT_EQ(0u, log->durable_lsn());
    for (Lsn lsn = 1; lsn <= 20; ++lsn)
      ASSERT_EQ(lsn, *log->Append(TypeFor(lsn), TestPayload(lsn)));
    EXPECT_EQ(20u, log->last_lsn());
    ASSERT_TRUE(log->WaitDurable(20).ok());
    EXPECT_EQ(20u, log->durable_lsn());
    EXPECT_TRUE(log->failure().ok());
    EXPECT_FALSE(log->failed());
  }
  EXPECT_EQ(Expected(1, 20), Reopen(o));
}

TEST_F(LogTest, ReopenedLogContinuesTheLsnSequence) {
  LogOptions o = Options();
  AppendDurably(MustOpen(o).get(), 1, 5);
  {
    std::vector<Rec> records;
    std::unique_ptr<Log> log = MustOpen(o, &records);
    EXPECT_EQ(Expected(1, 5), records);
    EXPECT_EQ(5u, log->last_lsn());
    EXPECT_EQ(5u, log->durable_lsn());
    AppendDurably(log.get(), 6, 10);
  }
  EXPECT_EQ(Expected(1, 10), Reopen(o));
}

TEST_F(LogTest, NewLogHasOnePreallocatedSegment) {
  LogOptions o = Options(8192);
  EXPECT_TRUE(Reopen(o).empty());
  EXPECT_TRUE(Reopen(o).empty());
  EXPECT_EQ(std::vector<std::string>{SegmentFileName(1)}, FilesEndingWith(".log"));
  std::string bytes = ReadFileBytes(SegPath(1));
  ASSERT_EQ(8192u, bytes.size());
  EXPECT_EQ(EncodeSegmentHeader(1), bytes.substr(0, kSegmentHeaderSize));
  EXPECT_EQ(std::string(8192 - kSegmentHeaderSize, '\0'), bytes.substr(kSegmentHeaderSize));
}

TEST_F(LogTest, OpenCreatesMissingParentDirectories) {
  LogOptions o = Options();
  o.dir = Sub("a/b/c");
  AppendDurably(MustOpen(o).get(), 1, 2);
  EXPECT_EQ(Expected(1, 2), Reopen(o));
}

TEST_F(LogTest, DestructorMakesAppendedRecordsDurable) {
  LogOptions o = Options(4096, /*sync=*/true);
  {
    std::unique_ptr<Log> log = MustOpen(o);
    for (Lsn lsn = 1; lsn <= 10; ++lsn)
      ASSERT_TRUE(log->Append(TypeFor(lsn), TestPayload(lsn)).ok());
  }
  EXPECT_EQ(Expected(1, 10), Reopen(o));
}

TEST_F(LogTest, OnDurableIsCalledAfterDurableLsnAdvances) {
  LogOptions o = Options();
  std::atomic<Log*> log_ptr{nullptr};
  std::atomic<Lsn> seen{0};
  std::atomic<int> calls{0};
  o.on_durable = [&] {
    if (Log* l = log_ptr.load()) seen.store(l->durable_lsn());
    calls.fetch_add(1);
  };
  std::unique_ptr<Log> log = MustOpen(o);
  log_ptr.store(log.get());
  Lsn lsn = *log->Append(1, "x");
  ASSERT_TRUE(log->WaitDurable(lsn).ok());
  log.reset();  // joins the flusher: its last callback has returned
  EXPECT_GE(calls.load(), 1);
  EXPECT_EQ(lsn, seen.load());
}

TEST_F(LogTest, LazyRecordsWaitForAForcedOneOrAWaiter) {
  LogOptions o = Options();
  o.lazy_flush_delay = std::chrono::hours(1);  // only a forced record or a waiter flushes
  std::unique_ptr<Log> log = MustOpen(o);
  Lsn lazy1 = *log->AppendLazy(1, "lazy-1");
  Lsn lazy2 = *log->AppendLazy(1, "lazy-2");
  EXPECT_EQ(log->durable_lsn(), 0u) << "a lazy record alone starts no write";
  // A forced record takes the lazy ones with it, in LSN order.
  Lsn forced = *log->Append(2, "forced");
  ASSERT_TRUE(log->WaitDurable(forced).ok());
  EXPECT_GE(log->durable_lsn(), lazy2);
  EXPECT_LT(lazy1, lazy2);
  // A waiter on a lazy record flushes it (with a one-hour delay, nothing else would).
  Lsn lazy3 = *log->AppendLazy(1, "lazy-3");
  ASSERT_TRUE(log->WaitDurable(lazy3).ok());
  EXPECT_GE(log->durable_lsn(), lazy3);
  log.reset();
  std::vector<Rec> records = Reopen(o);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].payload, "lazy-1");
  EXPECT_EQ(records[2].payload, "forced");
  EXPECT_EQ(records[3].payload, "lazy-3");
}

TEST_F(LogTest, LazyRecordIsFlushedByItselfAfterTheDelay) {
  LogOptions o = Options();
  o.lazy_flush_delay = std::chrono::milliseconds(5);
  std::unique_ptr<Log> log = MustOpen(o);
  Lsn lsn = *log->AppendLazy(1, "lazy");
  // No waiter and nothing forced: the flusher's own clock must write it (bounded wait).
  for (int i = 0; i < 1000 && log->durable_lsn() < lsn; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(log->durable_lsn(), lsn);
}

TEST_F(LogTest, SegmentsRotateWhenFullAndAreNamedByTheirFirstLsn) {
  LogOptions o = Options(512);
  std::vector<std::string> paths;
  {
    std::unique_ptr<Log> log = MustOpen(o);
    for (Lsn lsn = 1; lsn <= 100; ++lsn)
      ASSERT_TRUE(log->Append(TypeFor(lsn), TestPayload(lsn)).ok());
    ASSERT_TRUE(log->WaitDurable(100).ok());
    paths = log->SegmentPaths();
  }
  ASSERT_GT(paths.size(), 10u);
  // Each segment's name is the LSN of its first record.
  Lsn expected_first = 1;
  for (const std::string& path : paths) {
    std::string name = std::filesystem::path(path).filename().string();
    std::optional<Lsn> first = ParseSegmentFileName(name);
    ASSERT_TRUE(first.has_value()) << name;
    EXPECT_EQ(expected_first, *first) << name;
    std::string bytes = ReadFileBytes(path);
    EXPECT_EQ(512u, bytes.size());
    EXPECT_EQ(*first, DecodeFixed64(bytes.data() + kSegmentHeaderSize + 9)) << name;
    uint64_t off = kSegmentHeaderSize;
    Lsn lsn = *first;
    while (off + kRecordHeaderSize <= bytes.size() && bytes[off + 8] != 0) {
      off += kRecordHeaderSize + DecodeFixed32(bytes.data() + off + 4);
      ++lsn;
    }
    expected_first = lsn;
  }
  EXPECT_EQ(101u, expected_first);
  EXPECT_EQ(Expected(1, 100), Reopen(o));
}

TEST_F(LogTest, RecordLargerThanASegmentGetsASegmentOfItsOwn) {
  LogOptions o = Options(512);
  const std::string big(5000, 'B');
  {
    std::unique_ptr<Log> log = MustOpen(o);
    ASSERT_EQ(1u, *log->Append(1, big));  // the first record: the empty segment grows
    ASSERT_EQ(2u, *log->Append(2, "small"));
    ASSERT_EQ(3u, *log->Append(3, big));  // after others: a new, larger segment
    ASSERT_EQ(4u, *log->Append(1, "tail"));
    ASSERT_TRUE(log->WaitDurable(4).ok());
  }
  std::vector<Rec> records = Reopen(o);
  EXPECT_EQ((std::vector<Rec>{{1, 1, big}, {2, 2, "small"}, {3, 3, big}, {4, 1, "tail"}}), records);
}

TEST_F(LogTest, MaximumSizePayloadRoundTrips) {
  LogOptions o = Options(1 << 20);
  const std::string max(kMaxPayloadSize, 'M');
  {
    std::unique_ptr<Log> log = MustOpen(o);
    ASSERT_TRUE(log->Append(1, max).ok());
    ASSERT_TRUE(log->WaitDurable(1).ok());
  }
  std::vector<Rec> records = Reopen(o);
  ASSERT_EQ(1u, records.size());
  EXPECT_TRUE(records[0].payload == max);
}

TEST_F(LogTest, RemoveSegmentsBeforeKeepsEveryLaterRecord) {
  LogOptions o = Options(512);
  o.max_recycled_segments = 0;
  {
    std::unique_ptr<Log> log = MustOpen(o);
    for (Lsn lsn = 1; lsn <= 100; ++lsn)
      ASSERT_TRUE(log->Append(TypeFor(lsn), TestPayload(lsn)).ok());
    ASSERT_TRUE(log->WaitDurable(100).ok());
    size_t before = log->SegmentPaths().size();
    ASSERT_TRUE(log->RemoveSegmentsBefore(50).ok());
    EXPECT_LT(log->SegmentPaths().size(), before);
    ASSERT_TRUE(log->RemoveSegmentsBefore(1000).ok());  // never the segment being appended to
    EXPECT_EQ(1u, log->SegmentPaths().size());
  }
  EXPECT_TRUE(FilesEndingWith(".recycle").empty());
  std::vector<Rec> records = Reopen(o);
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(Expected(records.front().lsn, 100), records);
}

TEST_F(LogTest, RemovedSegmentsAreRecycledAndTheirStaleRecordsNeverRead) {
  LogOptions o = Options(512);
  o.max_recycled_segments = 2;
  Lsn first_kept;
  {
    std::unique_ptr<Log> log = MustOpen(o);
    AppendDurably(log.get(), 1, 60);
    ASSERT_TRUE(log->RemoveSegmentsBefore(60).ok());
    EXPECT_EQ(2u, FilesEndingWith(".recycle").size());
  }
  {
    // Reopen adopts the recycle files; the next rotations reuse them.
    std::vector<Rec> records;
    std::unique_ptr<Log> log = MustOpen(o, &records);
    ASSERT_FALSE(records.empty());
    first_kept = records.front().lsn;
    EXPECT_EQ(Expected(first_kept, 60), records);
    for (Lsn lsn = 61; lsn <= 75; ++lsn) {
      // Payloads of another length than in the segments' previous life, so stale records are
      // misaligned with the new ones as well as aligned by chance.
      ASSERT_TRUE(log->Append(TypeFor(lsn), TestPayload(lsn)).ok());
      ASSERT_TRUE(log->WaitDurable(lsn).ok());
    }
  }
  EXPECT_TRUE(FilesEndingWith(".recycle").empty());
  // The reused files still hold stale bytes past their last record.
  bool stale_bytes_seen = false;
  for (const std::string& name : FilesEndingWith(".log")) {
    std::string bytes = ReadFileBytes(Sub("wal/" + name));
    if (bytes.substr(bytes.size() - 100) != std::string(100, '\0')) stale_bytes_seen = true;
  }
  EXPECT_TRUE(stale_bytes_seen);
  std::vector<Rec> expected = Expected(first_kept, 75);
  EXPECT_EQ(expected, Reopen(o));
  EXPECT_EQ(expected, Reopen(o));
}

TEST_F(LogTest, RecycleFilesNotOlderThanTheLogAreDeletedNotReused) {
  // Someone deleted the segments by hand but left the recycle files: their stale records have
  // LSNs the new log will reach again, so reusing them could resurrect old records (I6).
  LogOptions o = Options(512);
  {
    std::unique_ptr<Log> log = MustOpen(o);
    AppendDurably(log.get(), 1, 60);
    ASSERT_TRUE(log->RemoveSegmentsBefore(60).ok());
  }
  ASSERT_FALSE(FilesEndingWith(".recycle").empty());
  for (const std::string& name : FilesEndingWith(".log")) {
    std::filesystem::remove(Sub("wal/" + name));
  }
  {
    std::vector<Rec> records;
    std::unique_ptr<Log> log = MustOpen(o, &records);
    EXPECT_TRUE(records.empty());
    EXPECT_TRUE(FilesEndingWith(".recycle").empty());
    AppendDurably(log.get(), 1, 60);
  }
  EXPECT_EQ(Expected(1, 60), Reopen(o));
}

TEST_F(LogTest, ManyThreadsAppendingGetUniqueLsnsAllDurableAfterReopen) {
  LogOptions o = Options(64 << 10, /*sync=*/true);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 50;
  std::mutex mu;
  std::map<Lsn, std::string> written;  // guarded by mu
  {
    std::unique_ptr<Log> log = MustOpen(o);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          std::string payload = "thread " + std::to_string(t) + " record " + std::to_string(i);
          Result<Lsn> lsn = log->Append(1, payload);
          ASSERT_TRUE(lsn.ok());
          ASSERT_TRUE(log->WaitDurable(*lsn).ok());
          ASSERT_GE(log->durable_lsn(), *lsn);
          std::lock_guard<std::mutex> lock(mu);
          ASSERT_TRUE(written.emplace(*lsn, payload).second) << "LSN " << *lsn << " twice";
        }
      });
    }
    for (std::thread& th : threads) th.join();
  }
  ASSERT_EQ(static_cast<size_t>(kThreads * kPerThread), written.size());
  std::vector<Rec> records = Reopen(o);
  ASSERT_EQ(written.size(), records.size());
  for (const Rec& r : records) EXPECT_EQ(written[r.lsn], r.payload) << "LSN " << r.lsn;
  EXPECT_EQ(static_cast<Lsn>(kThreads * kPerThread), records.back().lsn);
}

// ---- Torn tails: the normal result of a crash -----------------------------------------------

TEST_F(LogTest, TruncatedLastRecordIsDroppedAtEveryOffset) {
  LogOptions o = Options();
  AppendDurably(MustOpen(o).get(), 1, 5);
  const std::string original = ReadFileBytes(SegPath(1));
  const uint64_t start = OffsetOf(1, 5);
  const uint64_t end = OffsetOf(1, 6);
  for (uint64_t cut = start; cut < end; ++cut) {
    SCOPED_TRACE("file truncated at byte " + std::to_string(cut));
    WriteFileBytes(SegPath(1), original.substr(0, cut));
    {
      std::vector<Rec> records;
      std::unique_ptr<Log> log = MustOpen(o, &records);
      ASSERT_NE(nullptr, log);
      EXPECT_EQ(Expected(1, 4), records);
      ASSERT_EQ(5u, *log->Append(7, "after the crash"));
      ASSERT_TRUE(log->WaitDurable(5).ok());
    }
    EXPECT_EQ(4096u, ReadFileBytes(SegPath(1)).size());  // pre-allocation restored
    std::vector<Rec> expected = Expected(1, 4);
    expected.push_back({5, 7, "after the crash"});
    EXPECT_EQ(expected, Reopen(o));
  }
}

TEST_F(LogTest, PartlyWrittenLastRecordIsDroppedAtEveryOffset) {
  LogOptions o = Options();
  AppendDurably(MustOpen(o).get(), 1, 5);
  const std::string original = ReadFileBytes(SegPath(1));
  const uint64_t start = OffsetOf(1, 5);
  const uint64_t end = OffsetOf(1, 6);
  for (char fill : {'\0', '\xab'}) {
    for (uint64_t cut = start; cut < end; ++cut) {
      SCOPED_TRACE("bytes from " + std::to_string(cut) + " overwritten with " +
                   std::to_string(static_cast<unsigned char>(fill)));
      std::string bytes = original;
      std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(cut),
                bytes.begin() + static_cast<std::ptrdiff_t>(end), fill);
      WriteFileBytes(SegPath(1), bytes);
      {
        std::vector<Rec> records;
        std::unique_ptr<Log> log = MustOpen(o, &records);
        ASSERT_NE(nullptr, log);
        EXPECT_EQ(Expected(1, 4), records);
        ASSERT_EQ(5u, *log->Append(7, "x"));
        ASSERT_TRUE(log->WaitDurable(5).ok());
      }
      std::string after = ReadFileBytes(SegPath(1));
      // The torn bytes past the new record were zeroed.
      uint64_t new_end = start + kRecordHeaderSize + 1;
      EXPECT_TRUE(std::string(4096 - new_end, '\0') == after.substr(new_end));
      std::vector<Rec> expected = Expected(1, 4);
      expected.push_back({5, 7, "x"});
      EXPECT_EQ(expected, Reopen(o));
    }
  }
}

TEST_F(LogTest, GarbageAfterTheLastRecordIsZeroedBeforeAppending) {
  LogOptions o = Options();
  AppendDurably(MustOpen(o).get(), 1, 3);
  std::string bytes = ReadFileBytes(SegPath(1));
  const uint64_t end = OffsetOf(1, 4);
  for (uint64_t i = end + 30; i < end + 300; ++i) bytes[i] = static_cast<char>(i * 7 + 1);
  WriteFileBytes(SegPath(1), bytes);
  std::vector<Rec> records;
  std::unique_ptr<Log> log = MustOpen(o, &records);
  EXPECT_EQ(Expected(1, 3), records);
  log.reset();
  EXPECT_TRUE(std::string(4096 - end, '\0') == ReadFileBytes(SegPath(1)).substr(end));
}

TEST_F(LogTest, BitFlipInTheLastRecordIsATornTail) {
  LogOptions o = Options();
  AppendDurably(MustOpen(o).get(), 1, 5);
  std::string bytes = ReadFileBytes(SegPath(1));
  bytes[OffsetOf(1, 5) + kRecordHeaderSize + 3] ^= 0x08;
  WriteFileBytes(SegPath(1), bytes);
  std::vector<Rec> records;
  std::unique_ptr<Log> log = MustOpen(o, &records);
  EXPECT_EQ(Expected(1, 4), records);
  EXPECT_EQ(4u, log->last_lsn());
}

TEST_F(LogTest, ReplayingTwiceGivesTheSameRecords) {
  LogOptions o = Options(512);
  AppendDurably(MustOpen(o).get(), 1, 30);
  EXPECT_EQ(Reopen(o), Reopen(o));
  // Also after a torn tail has been repaired by the first replay.
  std::vector<std::string> segs = FilesEndingWith(".log");
  std::string last = Sub("wal/" + segs.back());
  std::string bytes = ReadFileBytes(last);
  bytes[LastRecordOffset(bytes) + kRecordHeaderSize] ^= 0x01;
  WriteFileBytes(last, bytes);
  std::vector<Rec> first = Reopen(o);
  EXPECT_EQ(first, Reopen(o));
  EXPECT_LT(first.back().lsn, 30u);
}

// ---- Crashes during rotation ----------------------------------------------------------------

// Appends durably until the log rotates; returns the LSN that starts the second segment.
Lsn FillFirstSegment(Log* log) {
  for (Lsn lsn = 1;; ++lsn) {
    EXPECT_TRUE(log->Append(TypeFor(lsn), TestPayload(lsn)).ok());
    EXPECT_TRUE(log->WaitDurable(lsn).ok());
    if (log->SegmentPaths().size() > 1) return lsn;
  }
}

TEST_F(LogTest, HeaderOnlyNewSegmentIsAnEmptyEnd) {
  // Crash right after a rotation created the next segment, before any record reached it.
  LogOptions o = Options(512);
  Lsn next;
  {
    std::unique_ptr<Log> log = MustOpen(o);
    next = FillFirstSegment(log.get()) - 1;  // records 1..next are in seg 1
  }
  std::filesystem::remove(SegPath(next + 1));
  std::string fresh = EncodeSegmentHeader(next + 1);
  fresh.resize(512, '\0');
  WriteFileBytes(SegPath(next + 1), fresh);
  {
    std::vector<Rec> records;
    std::unique_ptr<Log> log = MustOpen(o, &records);
    EXPECT_EQ(Expected(1, next), records);
    AppendDurably(log.get(), next + 1, next + 3);
  }
  EXPECT_EQ(Expected(1, next + 3), Reopen(o));
}

TEST_F(LogTest, NewSegmentWithTornOrMissingHeaderIsRecreated) {
  LogOptions o = Options(512);
  Lsn next;
  {
    std::unique_ptr<Log> log = MustOpen(o);
    next = FillFirstSegment(log.get()) - 1;
  }
  const std::string header = EncodeSegmentHeader(next + 1);
  for (std::string contents : {std::string(), std::string(512, '\0'), header.substr(0, 10),
                               header.substr(0, 10) + std::string(502, '\0'),
                               header.substr(0, 20) + std::string(492, '\0')}) {
    SCOPED_TRACE("new segment of " + std::to_string(contents.size()) + " bytes");
    WriteFileBytes(SegPath(next + 1), contents);
    {
      std::vector<Rec> records;
      std::unique_ptr<Log> log = MustOpen(o, &records);
      ASSERT_NE(nullptr, log);
      EXPECT_EQ(Expected(1, next), records);
      AppendDurably(log.get(), next + 1, next + 1);
    }
    EXPECT_EQ(Expected(1, next + 1), Reopen(o));
  }
}

TEST_F(LogTest, LeftoverTempSegmentIsIgnoredAndRemoved) {
  LogOptions o = Options();
  AppendDurably(MustOpen(o).get(), 1, 3);
  WriteFileBytes(Sub("wal/" + TempFileName(4)), std::string(100, 'x'));
  EXPECT_EQ(Expected(1, 3), Reopen(o));
  EXPECT_TRUE(FilesEndingWith(".tmp").empty());
}

// ---- Error paths ----------------------------------------------------------------------------

TEST_F(LogTest, BitFlipInAnEarlierRecordIsCorruptionNamingFileAndOffset) {
  LogOptions o = Options();
  AppendDurably(MustOpen(o).get(), 1, 6);
  const std::string original = ReadFileBytes(SegPath(1));
  const uint64_t offset = OffsetOf(1, 3);
  // In the payload, in the length field, in the LSN field.
  for (uint64_t pos : {offset + kRecordHeaderSize + 4, offset + 5, offset + 10}) {
    SCOPED_TRACE("bit flip at byte " + std::to_string(pos));
    std::string bytes = original;
    bytes[pos] ^= 0x04;
    WriteFileBytes(SegPath(1), bytes);
    Result<std::unique_ptr<Log>> log = Log::Open(o, nullptr);
    ASSERT_TRUE(log.status().IsCorruption()) << log.status().ToString();
    EXPECT_NE(std::string::npos, log.status().message().find(SegmentFileName(1)))
        << log.status().ToString();
    EXPECT_NE(std::string::npos, log.status().message().find("offset " + std::to_string(offset)))
        << log.status().ToString();
  }
  WriteFileBytes(SegPath(1), original);
  EXPECT_EQ(Expected(1, 6), Reopen(o));
}

TEST_F(LogTest, BitFlipInAnEarlierSegmentIsCorruption) {
  LogOptions o = Options(512);
  AppendDurably(MustOpen(o).get(), 1, 40);
  std::string bytes = ReadFileBytes(SegPath(1));
  bytes[OffsetOf(1, 2) + kRecordHeaderSize] ^= 0x01;
  WriteFileBytes(SegPath(1), bytes);
  Result<std::unique_ptr<Log>> log = Log::Open(o, nullptr);
  ASSERT_TRUE(log.status().IsCorruption()) << log.status().ToString();
  EXPECT_NE(std::string::npos, log.status().message().find(SegmentFileName(1)));
  EXPECT_NE(std::string::npos,
            log.status().message().find("offset " + std::to_string(OffsetOf(1, 2))));
}

TEST_F(LogTest, MissingSegmentIsCorruption) {
  LogOptions o = Options(512);
  std::vector<std::string> paths;
  {
    std::unique_ptr<Log> log = MustOpen(o);
    AppendDurably(log.get(), 1, 40);
    paths = log->SegmentPaths();
  }
  ASSERT_GE(paths.size(), 3u);
  std::filesystem::remove(paths[1]);
  Result<std::unique_ptr<Log>> log = Log::Open(o, nullptr);
  ASSERT_TRUE(log.status().IsCorruption()) << log.status().ToString();
  EXPECT_NE(std::string::npos, log.status().message().find("gap")) << log.status().ToString();
}

TEST_F(LogTest, DamagedHeaderOfASegmentWithRecordsIsCorruption) {
  LogOptions o = Options(512);
  AppendDurably(MustOpen(o).get(), 1, 40);
  std::vector<std::string> segs = FilesEndingWith(".log");
  for (const std::string& name : {segs.front(), segs.back()}) {
    std::string path = Sub("wal/" + name);
    std::string original = ReadFileBytes(path);
    std::string bytes = original;
    bytes[14] ^= 0x01;  // first LSN field: header checksum fails
    WriteFileBytes(path, bytes);
    Result<std::unique_ptr<Log>> log = Log::Open(o, nullptr);
    EXPECT_TRUE(log.status().IsCorruption()) << name << ": " << log.status().ToString();
    WriteFileBytes(path, original);
  }
}

TEST_F(LogTest, SegmentFromANewerFormatVersionIsRefused) {
  LogOptions o = Options();
  AppendDurably(MustOpen(o).get(), 1, 2);
  std::string bytes = ReadFileBytes(SegPath(1));
  EncodeFixed32(bytes.data() + 8, kFormatVersion + 1);
  WriteFileBytes(SegPath(1), bytes);
  Result<std::unique_ptr<Log>> log = Log::Open(o, nullptr);
  EXPECT_EQ(Status::Code::kFailedPrecondition, log.status().code()) << log.status().ToString();
  EXPECT_NE(std::string::npos, log.status().message().find("newer"));
}

TEST_F(LogTest, VisitorErrorFailsOpen) {
  LogOptions o = Options();
  AppendDurably(MustOpen(o).get(), 1, 3);
  Result<std::unique_ptr<Log>> log = Log::Open(o, [](const RecordView& r) {
    return r.lsn == 2 ? Status::InvalidArgument("cannot apply") : Status::OK();
  });
  EXPECT_TRUE(log.status().IsInvalidArgument()) << log.status().ToString();
}

TEST_F(LogTest, SecondOpenOfTheSameDirectoryIsRefused) {
  LogOptions o = Options();
  std::unique_ptr<Log> log = MustOpen(o);
  Result<std::unique_ptr<Log>> second = Log::Open(o, nullptr);
  EXPECT_TRUE(second.status().IsIOError()) << second.status().ToString();
  log.reset();
  EXPECT_TRUE(Log::Open(o, nullptr).ok());
}

TEST_F(LogTest, AppendRejectsTypeZeroAndOversizedPayloads) {
  std::unique_ptr<Log> log = MustOpen(Options());
  EXPECT_TRUE(log->Append(0, "x").status().IsInvalidArgument());
  EXPECT_TRUE(log->Append(1, std::string(kMaxPayloadSize + 1, 'x')).status().IsInvalidArgument());
  EXPECT_EQ(0u, log->last_lsn());
  EXPECT_FALSE(log->failed());
}

TEST_F(LogTest, WaitDurableBeyondTheLastLsnIsInvalidArgument) {
  std::unique_ptr<Log> log = MustOpen(Options());
  EXPECT_TRUE(log->WaitDurable(1).IsInvalidArgument());
  EXPECT_TRUE(log->WaitDurable(0).ok());
}

TEST_F(LogTest, BadOptionsAreInvalidArgument) {
  LogOptions o = Options();
  o.segment_size = kMinSegmentSize - 1;
  EXPECT_TRUE(Log::Open(o, nullptr).status().IsInvalidArgument());
  o = Options();
  o.dir.clear();
  EXPECT_TRUE(Log::Open(o, nullptr).status().IsInvalidArgument());
}

}  // namespace
}  // namespace kv2pc::wal
