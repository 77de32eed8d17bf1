// Tests of ScanSegment (wal/log_reader.h): how one segment's records end -- cleanly, torn, or
// corrupt -- on in-memory buffers, without a Log.
#include "wal/log_reader.h"

#include <gtest/gtest.h>

#include <vector>

#include "wal/log_writer.h"

namespace kv2pc::wal {
namespace {

constexpr size_t kSegmentBytes = 2048;

class LogReaderTest : public ::testing::Test {
 protected:
  // Builds a segment starting at first_lsn holding n records; record i (0-based) carries the
  // durable hint hints[i] (default: the previous LSN, as if each was synced alone).
  void Build(Lsn first_lsn, int n, std::vector<Lsn> hints = {}) {
    data_ = EncodeSegmentHeader(first_lsn);
    offsets_.clear();
    for (int i = 0; i < n; ++i) {
      Lsn lsn = first_lsn + i;
      offsets_.push_back(data_.size());
      Lsn hint = i < static_cast<int>(hints.size()) ? hints[i] : lsn - 1;
      EncodeRecord(&data_, 1, lsn, hint, "payload-" + std::to_string(lsn));
    }
    offsets_.push_back(data_.size());
    data_.resize(kSegmentBytes, '\0');
  }

  Result<SegmentScan> Scan(Lsn first_lsn, bool is_last = true) {
    lsns_.clear();
    return ScanSegment("seg", data_, first_lsn, is_last, [this](const RecordView& r) {
      lsns_.push_back(r.lsn);
      return Status::OK();
    });
  }

  std::string data_;
  std::vector<uint64_t> offsets_;  // start of each record, then the end of the last
  std::vector<Lsn> lsns_;
};

TEST_F(LogReaderTest, ZeroFilledTailIsANormalEnd) {
  Build(1, 3);
  Result<SegmentScan> scan = Scan(1);
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ((std::vector<Lsn>{1, 2, 3}), lsns_);
  EXPECT_EQ(3u, scan->last_lsn);
  EXPECT_EQ(offsets_.back(), scan->end_offset);
  EXPECT_FALSE(scan->torn);
  EXPECT_EQ("zero header", scan->stop_reason);
}

TEST_F(LogReaderTest, HeaderOnlySegmentHoldsNoRecords) {
  Build(5, 0);
  Result<SegmentScan> scan = Scan(5);
  ASSERT_TRUE(scan.ok());
  EXPECT_TRUE(lsns_.empty());
  EXPECT_EQ(4u, scan->last_lsn);
  EXPECT_EQ(kSegmentHeaderSize, scan->end_offset);
  EXPECT_FALSE(scan->torn);
}

TEST_F(LogReaderTest, RecordsEndingExactlyAtEndOfFileAreAllRead) {
  Build(1, 3);
  data_.resize(offsets_.back());
  Result<SegmentScan> scan = Scan(1);
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(3u, lsns_.size());
  EXPECT_FALSE(scan->torn);
}

TEST_F(LogReaderTest, TruncatedLastRecordIsATornTailAtEveryOffset) {
  Build(1, 3);
  for (uint64_t cut = offsets_[2]; cut < offsets_[3]; ++cut) {
    std::string full = data_;
    data_.resize(cut);
    Result<SegmentScan> scan = Scan(1);
    ASSERT_TRUE(scan.ok()) << "cut at " << cut << ": " << scan.status().ToString();
    EXPECT_EQ((std::vector<Lsn>{1, 2}), lsns_) << "cut at " << cut;
    EXPECT_EQ(offsets_[2], scan->end_offset);
    EXPECT_EQ(cut > offsets_[2], scan->torn) << "cut at " << cut;
    data_ = full;
  }
}

TEST_F(LogReaderTest, BitFlipInLastRecordIsATornTail) {
  Build(1, 3);
  for (uint64_t pos = offsets_[2]; pos < offsets_[3]; ++pos) {
    std::string full = data_;
    data_[pos] ^= 0x01;
    Result<SegmentScan> scan = Scan(1);
    ASSERT_TRUE(scan.ok()) << "flip at " << pos << ": " << scan.status().ToString();
    EXPECT_EQ((std::vector<Lsn>{1, 2}), lsns_);
    EXPECT_TRUE(scan->torn);
    EXPECT_GE(scan->dirty_end, offsets_[3] - 1);
    data_ = full;
  }
}

TEST_F(LogReaderTest, DamagedRecordFollowedByLaterDurableRecordIsCorruption) {
  Build(1, 5);  // each record's hint is the previous LSN: record 4 proves 3 was durable
  data_[offsets_[2] + kRecordHeaderSize + 2] ^= 0x40;
  Result<SegmentScan> scan = Scan(1);
  ASSERT_TRUE(scan.status().IsCorruption()) << scan.status().ToString();
  const std::string& m = scan.status().message();
  EXPECT_NE(std::string::npos, m.find("seg")) << m;
  EXPECT_NE(std::string::npos, m.find("offset " + std::to_string(offsets_[2]))) << m;
}

TEST_F(LogReaderTest, DamagedRecordFollowedOnlyByUnsyncedRecordsIsATornTail) {
  // Records 3-5 were one batch appended while only LSN 2 was durable; the power cut kept 4
  // and 5 but not 3. Nothing proves 3 was ever durable: a torn tail, to be zeroed.
  Build(1, 5, {0, 1, 2, 2, 2});
  for (uint64_t pos = offsets_[2]; pos < offsets_[3]; ++pos) data_[pos] = 0;
  Result<SegmentScan> scan = Scan(1);
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ((std::vector<Lsn>{1, 2}), lsns_);
  EXPECT_TRUE(scan->torn);
  EXPECT_EQ(offsets_[2], scan->end_offset);
  EXPECT_EQ(offsets_[5], scan->dirty_end);
}

TEST_F(LogReaderTest, StaleRecordsOfARecycledSegmentEndTheLog) {
  Build(1, 6);  // the segment's previous life: LSNs 1-6
  std::string old = data_;
  // Reused for LSN 100: new header and two records over the start; stale bytes remain.
  std::string fresh = EncodeSegmentHeader(100);
  EncodeRecord(&fresh, 1, 100, 99, "payload-1");  // same size as the old first record
  EncodeRecord(&fresh, 1, 101, 100, "payload-2");
  data_ = fresh + old.substr(fresh.size());
  Result<SegmentScan> scan = Scan(100);
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ((std::vector<Lsn>{100, 101}), lsns_);
  EXPECT_FALSE(scan->torn);
  EXPECT_NE(std::string::npos, scan->stop_reason.find("stale")) << scan->stop_reason;

  // Shifted by a byte, the stale bytes are garbage rather than a stale record: still no
  // record with a current LSN, so the log ends there (a torn-looking end).
  fresh = EncodeSegmentHeader(100);
  EncodeRecord(&fresh, 1, 100, 99, "payload-10");
  data_ = fresh + old.substr(fresh.size());
  scan = Scan(100);
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ((std::vector<Lsn>{100}), lsns_);
}

TEST_F(LogReaderTest, UnexpectedLsnEndsTheLog) {
  Build(1, 3);
  std::string tail;
  EncodeRecord(&tail, 1, 9, 2, "x");  // valid, but 9 where 4 was expected
  data_.replace(offsets_[3], tail.size(), tail);
  Result<SegmentScan> scan = Scan(1);
  // Its hint (2) does not prove LSN 4 durable: treated as leftovers of a torn write.
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ(3u, lsns_.size());
  EXPECT_TRUE(scan->torn);
}

TEST_F(LogReaderTest, NonLastSegmentIsNotSearchedPastItsEnd) {
  Build(1, 5);
  data_[offsets_[2] + 1] ^= 0x01;
  Result<SegmentScan> scan = Scan(1, /*is_last=*/false);
  ASSERT_TRUE(scan.ok());  // the caller's LSN continuity check reports it
  EXPECT_EQ(2u, scan->last_lsn);
  EXPECT_EQ(offsets_[2], scan->end_offset);
}

TEST_F(LogReaderTest, VisitorErrorStopsTheScan) {
  Build(1, 3);
  Result<SegmentScan> scan = ScanSegment("seg", data_, 1, true, [](const RecordView& r) {
    return r.lsn == 2 ? Status::Internal("boom") : Status::OK();
  });
  EXPECT_EQ(Status::Code::kInternal, scan.status().code());
  EXPECT_NE(std::string::npos, scan.status().message().find("boom"));
}

}  // namespace
}  // namespace kv2pc::wal
