// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every WAL header and
// record (docs/wal-format.md). The same function as iSCSI (RFC 3720), ext4 and LevelDB, so
// published test vectors apply: Value("123456789") == 0xE3069283.
//
// Two implementations compute identical results: a portable slicing-by-8 table walk
// (~1-2 GB/s) and, on x86-64 CPUs with SSE4.2 (detected once at run time), the crc32
// instruction (~several GB/s). Thread-safe: no mutable state after the first call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace kv2pc::wal::crc32c {

// Returns the CRC-32C of concat(A, data[0,n-1]) where init_crc is the CRC-32C of some string A.
// Extend() is often used to maintain the CRC-32C of a data stream.
uint32_t Extend(uint32_t init_crc, const char* data, size_t n);

// Returns the CRC-32C of data[0,n-1].
inline uint32_t Value(const char* data, size_t n) { return Extend(0, data, n); }
inline uint32_t Value(std::string_view data) { return Extend(0, data.data(), data.size()); }

// Why masking: the CRC of a string that itself contains embedded CRCs is weak (a record whose
// payload is another record would check out at the wrong offset more often than chance), so
// stored CRCs are rotated and offset first. Same constant as LevelDB.
inline constexpr uint32_t kMaskDelta = 0xa282ead8u;

// Returns a masked representation of crc, the form stored on disk.
inline uint32_t Mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kMaskDelta; }

// Returns the crc whose masked representation is masked_crc.
inline uint32_t Unmask(uint32_t masked_crc) {
  uint32_t rot = masked_crc - kMaskDelta;
  return ((rot >> 17) | (rot << 15));
}

namespace internal {
// Exposed for tests, which check both paths against each other and against known vectors.
uint32_t ExtendPortable(uint32_t init_crc, const char* data, size_t n);
// True when this CPU has the SSE4.2 crc32 instruction and this build can use it.
bool CanUseHardware();
// REQUIRES: CanUseHardware().
uint32_t ExtendHardware(uint32_t init_crc, const char* data, size_t n);
}  // namespace internal

}  // namespace kv2pc::wal::crc32c
