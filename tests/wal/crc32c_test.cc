// Tests of CRC-32C (wal/crc32c.h) against published vectors (RFC 3720 B.4; LevelDB).
#include "wal/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace kv2pc::wal::crc32c {
namespace {

TEST(Crc32cTest, MatchesKnownVectors) {
  EXPECT_EQ(0xE3069283u, Value("123456789"));
  std::string buf(32, '\0');
  EXPECT_EQ(0x8A9136AAu, Value(buf));
  buf.assign(32, '\xff');
  EXPECT_EQ(0x62A8AB43u, Value(buf));
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<char>(i);
  EXPECT_EQ(0x46DD794Eu, Value(buf));
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<char>(31 - i);
  EXPECT_EQ(0x113FDB5Cu, Value(buf));
  EXPECT_EQ(0u, Value(""));
}

TEST(Crc32cTest, DifferentInputsGiveDifferentValues) {
  EXPECT_NE(Value("a"), Value("foo"));
  EXPECT_NE(Value("hello"), Value("hellp"));
}

TEST(Crc32cTest, ExtendEqualsValueOfConcatenation) {
  EXPECT_EQ(Value("hello world"), Extend(Value("hello "), "world", 5));
}

TEST(Crc32cTest, MaskRoundTripsAndChangesTheValue) {
  uint32_t crc = Value("foo");
  EXPECT_NE(crc, Mask(crc));
  EXPECT_NE(crc, Mask(Mask(crc)));
  EXPECT_EQ(crc, Unmask(Mask(crc)));
  EXPECT_EQ(crc, Unmask(Unmask(Mask(Mask(crc)))));
}

TEST(Crc32cTest, PortableAndHardwarePathsAgreeAtEveryLengthAndAlignment) {
  std::mt19937 rng(42);
  std::string data(1100, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t n = 0; n + offset <= data.size(); n += (n < 64 ? 1 : 37)) {
      uint32_t portable = internal::ExtendPortable(0, data.data() + offset, n);
      EXPECT_EQ(portable, Value(data.data() + offset, n));
      if (internal::CanUseHardware()) {
        EXPECT_EQ(portable, internal::ExtendHardware(0, data.data() + offset, n));
      }
    }
  }
  EXPECT_EQ(0xE3069283u, internal::ExtendPortable(0, "123456789", 9));
}

}  // namespace
}  // namespace kv2pc::wal::crc32c
