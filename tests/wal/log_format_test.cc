// Tests of the WAL format helpers (wal/log_format.h, wal/coding.h, EncodeRecord).
#include "wal/log_format.h"

#include <gtest/gtest.h>

#include "wal/coding.h"
#include "wal/crc32c.h"
#include "wal/log_writer.h"

namespace kv2pc::wal {
namespace {

TEST(CodingTest, FixedIntegersAreLittleEndian) {
  std::string s;
  PutFixed32(&s, 0x04030201u);
  PutFixed64(&s, 0x0c0b0a0908070605ull);
  EXPECT_EQ(std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c", 12), s);
  EXPECT_EQ(0x04030201u, DecodeFixed32(s.data()));
  EXPECT_EQ(0x0c0b0a0908070605ull, DecodeFixed64(s.data() + 4));
}

TEST(LogFormatTest, SegmentFileNamesRoundTrip) {
  EXPECT_EQ("wal-0000000000000001.log", SegmentFileName(1));
  EXPECT_EQ("wal-00000000deadbeef.log", SegmentFileName(0xdeadbeef));
  for (Lsn lsn : {Lsn{1}, Lsn{255}, Lsn{0xffffffffffffffff}}) {
    EXPECT_EQ(lsn, ParseSegmentFileName(SegmentFileName(lsn)));
  }
}

TEST(LogFormatTest, OtherNamesAreNotSegments) {
  for (const char* name :
       {"wal-0000000000000000.log", "wal-000000000000000A.log", "wal-1.log",
        "wal-00000000000000001.log", "wal-0000000000000001.log.tmp", "LOCK",
        "wal-0000000000000001.recycle", "xal-0000000000000001.log", "wal-000000000000000g.log"}) {
    EXPECT_FALSE(ParseSegmentFileName(name).has_value()) << name;
  }
  EXPECT_TRUE(IsTempFileName(TempFileName(7)));
  EXPECT_TRUE(IsRecycleFileName(RecycleFileName(7)));
  EXPECT_FALSE(IsTempFileName(SegmentFileName(7)));
  EXPECT_FALSE(IsRecycleFileName(SegmentFileName(7)));
}

TEST(LogFormatTest, SegmentHeaderRoundTrips) {
  std::string header = EncodeSegmentHeader(42);
  ASSERT_EQ(kSegmentHeaderSize, header.size());
  EXPECT_EQ("KV2PCWAL", header.substr(0, 8));
  Result<Lsn> lsn = DecodeSegmentHeader(header + std::string(100, '\0'), "f");
  ASSERT_TRUE(lsn.ok()) << lsn.status().ToString();
  EXPECT_EQ(42u, *lsn);
}

TEST(LogFormatTest, DamagedSegmentHeaderIsCorruption) {
  const std::string good = EncodeSegmentHeader(42);
  EXPECT_TRUE(DecodeSegmentHeader(good.substr(0, 23), "f").status().IsCorruption());
  EXPECT_TRUE(DecodeSegmentHeader(std::string(24, '\0'), "f").status().IsCorruption());
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] ^= 0x10;
    Status s = DecodeSegmentHeader(bad, "wal-x.log").status();
    EXPECT_FALSE(s.ok()) << "flip at byte " << i;
    if (i < 8 || i >= 12) {
      EXPECT_TRUE(s.IsCorruption()) << s.ToString();
    }
  }
}

TEST(LogFormatTest, NewerFormatVersionIsRefusedWithAClearError) {
  std::string header = EncodeSegmentHeader(1);
  EncodeFixed32(header.data() + 8, kFormatVersion + 1);
  Status s = DecodeSegmentHeader(header, "wal-0000000000000001.log").status();
  EXPECT_EQ(Status::Code::kFailedPrecondition, s.code());
  EXPECT_NE(std::string::npos, s.message().find("newer")) << s.ToString();
  EXPECT_NE(std::string::npos, s.message().find("wal-0000000000000001.log")) << s.ToString();
}

TEST(LogFormatTest, EncodedRecordHasTheDocumentedLayout) {
  std::string buf = "prefix";
  EncodeRecord(&buf, 2, 7, 5, "hello");
  ASSERT_EQ(6 + kRecordHeaderSize + 5, buf.size());
  const char* p = buf.data() + 6;
  RecordHeader h = DecodeRecordHeader(p);
  EXPECT_EQ(5u, h.length);
  EXPECT_EQ(2u, h.type);
  EXPECT_EQ(7u, h.lsn);
  EXPECT_EQ(5u, h.durable_lsn);
  EXPECT_EQ("hello", std::string(p + kRecordHeaderSize, 5));
  EXPECT_EQ(h.masked_crc, ComputeRecordCrc(p, h.length));
  EXPECT_EQ(h.masked_crc, crc32c::Mask(crc32c::Value(p + 4, 21 + 5)));
}

}  // namespace
}  // namespace kv2pc::wal
