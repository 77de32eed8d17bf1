// WAL format helpers: see log_format.h and docs/wal-format.md.
#include "wal/log_format.h"

#include <cstdio>

#include "wal/coding.h"
#include "wal/crc32c.h"

namespace kv2pc::wal {
namespace {

constexpr std::string_view kSegmentPrefix = "wal-";
constexpr std::string_view kSegmentSuffix = ".log";
constexpr std::string_view kTempSuffix = ".log.tmp";
constexpr std::string_view kRecycleSuffix = ".recycle";
constexpr size_t kHexDigits = 16;

std::string NameWithSuffix(Lsn lsn, std::string_view suffix) {
  char hex[kHexDigits + 1];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(lsn));
  std::string name(kSegmentPrefix);
  name.append(hex, kHexDigits);
  name += suffix;
  return name;
}

// Parses "wal-<16 lowercase hex><suffix>"; nullopt otherwise.
std::optional<Lsn> ParseWithSuffix(std::string_view name, std::string_view suffix) {
  if (name.size() != kSegmentPrefix.size() + kHexDigits + suffix.size()) return std::nullopt;
  if (!name.starts_with(kSegmentPrefix) || !name.ends_with(suffix)) return std::nullopt;
  Lsn lsn = 0;
  for (char c : name.substr(kSegmentPrefix.size(), kHexDigits)) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return std::nullopt;  // uppercase too: one name per LSN
    }
    lsn = (lsn << 4) | static_cast<Lsn>(digit);
  }
  return lsn;
}

}  // namespace

std::string SegmentFileName(Lsn first_lsn) { return NameWithSuffix(first_lsn, kSegmentSuffix); }

std::optional<Lsn> ParseSegmentFileName(std::string_view name) {
  std::optional<Lsn> lsn = ParseWithSuffix(name, kSegmentSuffix);
  if (lsn.has_value() && *lsn == 0) return std::nullopt;  // LSN 0 means "none"
  return lsn;
}

std::string TempFileName(Lsn first_lsn) { return NameWithSuffix(first_lsn, kTempSuffix); }

bool IsTempFileName(std::string_view name) {
  return ParseWithSuffix(name, kTempSuffix).has_value();
}

std::string RecycleFileName(Lsn old_first_lsn) {
  return NameWithSuffix(old_first_lsn, kRecycleSuffix);
}

bool IsRecycleFileName(std::string_view name) {
  return ParseWithSuffix(name, kRecycleSuffix).has_value();
}

std::optional<Lsn> ParseRecycleFileName(std::string_view name) {
  return ParseWithSuffix(name, kRecycleSuffix);
}

std::string EncodeSegmentHeader(Lsn first_lsn) {
  std::string header(kSegmentMagic);
  PutFixed32(&header, kFormatVersion);
  PutFixed64(&header, first_lsn);
  PutFixed32(&header, crc32c::Mask(crc32c::Value(header)));
  return header;
}

Result<Lsn> DecodeSegmentHeader(std::string_view data, std::string_view file_name) {
  auto corrupt = [&](std::string_view why) {
    return Status::Corruption(std::string(file_name) +
                              ": bad segment header at offset 0: " + std::string(why));
  };
  if (data.size() < kSegmentHeaderSize) {
    return corrupt("file is " + std::to_string(data.size()) + " bytes, shorter than the " +
                   std::to_string(kSegmentHeaderSize) + "-byte header");
  }
  if (data.substr(0, kSegmentMagic.size()) != kSegmentMagic) return corrupt("wrong magic");
  uint32_t version = DecodeFixed32(data.data() + 8);
  // The version is checked before the CRC: a newer format may lay out (and checksum) its
  // header differently, and "upgrade kv2pc" is the useful message either way.
  if (version > kFormatVersion) {
    return Status::FailedPrecondition(std::string(file_name) + ": WAL format version " +
                                      std::to_string(version) +
                                      " is newer than this build supports (" +
                                      std::to_string(kFormatVersion) + "); run a newer kv2pc");
  }
  if (version == 0) return corrupt("format version 0");
  uint32_t expected = crc32c::Mask(crc32c::Value(data.data(), 20));
  if (DecodeFixed32(data.data() + 20) != expected) return corrupt("header checksum mismatch");
  return DecodeFixed64(data.data() + 12);
}

RecordHeader DecodeRecordHeader(const char* p) {
  RecordHeader h;
  h.masked_crc = DecodeFixed32(p);
  h.length = DecodeFixed32(p + 4);
  h.type = static_cast<uint8_t>(p[8]);
  h.lsn = DecodeFixed64(p + 9);
  h.durable_lsn = DecodeFixed64(p + 17);
  return h;
}

uint32_t ComputeRecordCrc(const char* p, uint32_t length) {
  return crc32c::Mask(crc32c::Value(p + 4, kRecordHeaderSize - 4 + length));
}

}  // namespace kv2pc::wal
