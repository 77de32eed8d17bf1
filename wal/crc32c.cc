// CRC-32C: see crc32c.h.
//
// The portable path is slicing-by-8: eight 256-entry tables, built at compile time, let one
// step consume 8 input bytes with 8 independent lookups instead of 8 dependent ones. The
// hardware path uses SSE4.2's crc32 instruction on 8 bytes at a time; it computes the same
// reflected Castagnoli CRC, so both paths are interchangeable and tests compare them.
#include "wal/crc32c.h"

#include <array>

#include "wal/coding.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define KV2PC_CRC32C_HAVE_SSE42 1
#include <nmmintrin.h>
#else
#define KV2PC_CRC32C_HAVE_SSE42 0
#endif

namespace kv2pc::wal::crc32c {
namespace {

constexpr uint32_t kPolynomial = 0x82F63B78u;  // Castagnoli, bit-reversed.

using Tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr Tables MakeTables() {
  Tables t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1) ? kPolynomial : 0);
    t[0][i] = crc;
  }
  // t[k][i] is the CRC of byte i followed by k zero bytes.
  for (uint32_t i = 0; i < 256; ++i) {
    for (size_t k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
  }
  return t;
}

constexpr Tables kTables = MakeTables();

}  // namespace

namespace internal {

uint32_t ExtendPortable(uint32_t init_crc, const char* data, size_t n) {
  const auto* p = reinterpret_cast<const uint8_t*>(data);
  uint32_t crc = ~init_crc;
  while (n >= 8) {
    uint32_t lo = DecodeFixed32(reinterpret_cast<const char*>(p)) ^ crc;
    uint32_t hi = DecodeFixed32(reinterpret_cast<const char*>(p + 4));
    crc = kTables[7][lo & 0xff] ^ kTables[6][(lo >> 8) & 0xff] ^ kTables[5][(lo >> 16) & 0xff] ^
          kTables[4][lo >> 24] ^ kTables[3][hi & 0xff] ^ kTables[2][(hi >> 8) & 0xff] ^
          kTables[1][(hi >> 16) & 0xff] ^ kTables[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    crc = (crc >> 8) ^ kTables[0][(crc ^ *p) & 0xff];
    ++p;
    --n;
  }
  return ~crc;
}

#if KV2PC_CRC32C_HAVE_SSE42

bool CanUseHardware() {
  static const bool kHave = __builtin_cpu_supports("sse4.2");
  return kHave;
}

__attribute__((target("sse4.2"))) uint32_t ExtendHardware(uint32_t init_crc, const char* data,
                                                          size_t n) {
  const char* p = data;
  uint64_t crc = ~init_crc;
  while (n >= 8) {
    uint64_t word;
    __builtin_memcpy(&word, p, sizeof(word));
    crc = _mm_crc32_u64(crc, word);
    p += 8;
    n -= 8;
  }
  auto crc32 = static_cast<uint32_t>(crc);
  while (n > 0) {
    crc32 = _mm_crc32_u8(crc32, static_cast<uint8_t>(*p));
    ++p;
    --n;
  }
  return ~crc32;
}

#else

bool CanUseHardware() { return false; }

uint32_t ExtendHardware(uint32_t init_crc, const char* data, size_t n) {
  return ExtendPortable(init_crc, data, n);
}

#endif

}  // namespace internal

uint32_t Extend(uint32_t init_crc, const char* data, size_t n) {
  static const bool kHardware = internal::CanUseHardware();
  return kHardware ? internal::ExtendHardware(init_crc, data, n)
                   : internal::ExtendPortable(init_crc, data, n);
}

}  // namespace kv2pc::wal::crc32c
