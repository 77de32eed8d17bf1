// The WAL's on-disk format: segment file names, the segment header and the record header.
// docs/wal-format.md tells the whole story (byte layouts, validity rules, torn tails, a worked
// example); this header is its executable form. Changing anything here changes the format:
// bump kFormatVersion and teach the reader the old one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/types.h"

namespace kv2pc::wal {

// ---- Segment header: 24 bytes at offset 0 of every segment file ----------------------------
//   [0, 8)   magic "KV2PCWAL"
//   [8, 12)  format version, u32 LE (kFormatVersion)
//   [12, 20) first LSN of the segment, u64 LE (equals the number in the file name)
//   [20, 24) masked CRC-32C of bytes [0, 20)
inline constexpr std::string_view kSegmentMagic = "KV2PCWAL";
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kSegmentHeaderSize = 24;

// ---- Record: 25-byte header, then the payload -----------------------------------------------
//   [0, 4)   masked CRC-32C of bytes [4, 25 + length): every header field after it + payload
//   [4, 8)   length of the payload, u32 LE, <= kMaxPayloadSize
//   [8, 9)   type, u8, never 0 (so an all-zero header is recognisably "no record")
//   [9, 17)  LSN, u64 LE: exactly one more than the previous record's
//   [17, 25) durable LSN hint, u64 LE: the log's durable LSN when this record was appended;
//            always < LSN. Lets recovery tell a torn tail from corruption (log.h, (I4)).
inline constexpr size_t kRecordHeaderSize = 25;
// A PREPARE may carry several 1 MiB values; anything larger is refused by Log::Append.
inline constexpr size_t kMaxPayloadSize = 16u << 20;

inline constexpr uint64_t kDefaultSegmentSize = 64ull << 20;
// The smallest segment that can hold one (empty) record. Tests use a few hundred bytes.
inline constexpr uint64_t kMinSegmentSize = kSegmentHeaderSize + kRecordHeaderSize;

// A record as the reader hands it out. `payload` points into the reader's buffer and is valid
// only during the visitor call that receives it.
struct RecordView {
  Lsn lsn = 0;
  uint8_t type = 0;
  std::string_view payload;
};

// Called once per valid record, in LSN order. A non-OK return stops the scan and is returned.
using RecordVisitor = std::function<Status(const RecordView&)>;

// ---- File names -----------------------------------------------------------------------------
// "wal-<16 lowercase hex digits of first_lsn>.log", e.g. wal-0000000000000001.log. Sorting names
// sorts segments by LSN.
std::string SegmentFileName(Lsn first_lsn);
// The first LSN named by a segment file name; nullopt for any other name (including LSN 0).
std::optional<Lsn> ParseSegmentFileName(std::string_view name);
// A segment being created: "<segment name>.tmp". Never read; deleted by recovery.
std::string TempFileName(Lsn first_lsn);
bool IsTempFileName(std::string_view name);
// A removed segment kept for reuse: "wal-<16 hex of its old first LSN>.recycle".
std::string RecycleFileName(Lsn old_first_lsn);
bool IsRecycleFileName(std::string_view name);
// The old first LSN named by a recycle file name; nullopt for any other name.
std::optional<Lsn> ParseRecycleFileName(std::string_view name);

// ---- Header codecs --------------------------------------------------------------------------
// Returns the kSegmentHeaderSize bytes of a header for a segment starting at first_lsn.
std::string EncodeSegmentHeader(Lsn first_lsn);

// Parses the header at the start of `data` (a whole segment file). Returns the first LSN or
//   FailedPrecondition  magic matches but the version is newer than this build reads;
//   Corruption          anything else: short file, zeros, wrong magic, version 0, bad CRC.
// `file_name` is used in messages only.
Result<Lsn> DecodeSegmentHeader(std::string_view data, std::string_view file_name);

struct RecordHeader {
  uint32_t masked_crc = 0;
  uint32_t length = 0;
  uint8_t type = 0;
  Lsn lsn = 0;
  Lsn durable_lsn = 0;
};

// REQUIRES: p points at kRecordHeaderSize readable bytes.
RecordHeader DecodeRecordHeader(const char* p);

// The CRC a record starting at p must carry (masked), given its header says `length`.
// REQUIRES: p points at kRecordHeaderSize + length readable bytes.
uint32_t ComputeRecordCrc(const char* p, uint32_t length);

}  // namespace kv2pc::wal
