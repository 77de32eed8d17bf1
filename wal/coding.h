// Fixed-width little-endian integer encoding for the WAL's on-disk format (docs/wal-format.md).
//
// Every multi-byte integer kv2pc writes to a log file is little-endian regardless of the host,
// so a log written on one machine reads on any other. memcpy keeps the loads and stores legal
// at any alignment (records are packed back to back, not aligned); compilers turn each into a
// single mov on little-endian hosts.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>

namespace kv2pc::wal {

inline uint32_t ByteSwap32(uint32_t v) { return __builtin_bswap32(v); }
inline uint64_t ByteSwap64(uint64_t v) { return __builtin_bswap64(v); }

// REQUIRES: dst has room for 4 (resp. 8) bytes.
inline void EncodeFixed32(char* dst, uint32_t value) {
  if constexpr (std::endian::native == std::endian::big) value = ByteSwap32(value);
  std::memcpy(dst, &value, sizeof(value));
}
inline void EncodeFixed64(char* dst, uint64_t value) {
  if constexpr (std::endian::native == std::endian::big) value = ByteSwap64(value);
  std::memcpy(dst, &value, sizeof(value));
}

// REQUIRES: src points at 4 (resp. 8) readable bytes.
inline uint32_t DecodeFixed32(const char* src) {
  uint32_t value;
  std::memcpy(&value, src, sizeof(value));
  if constexpr (std::endian::native == std::endian::big) value = ByteSwap32(value);
  return value;
}
inline uint64_t DecodeFixed64(const char* src) {
  uint64_t value;
  std::memcpy(&value, src, sizeof(value));
  if constexpr (std::endian::native == std::endian::big) value = ByteSwap64(value);
  return value;
}

inline void PutFixed32(std::string* dst, uint32_t value) {
  char buf[sizeof(value)];
  EncodeFixed32(buf, value);
  dst->append(buf, sizeof(buf));
}
inline void PutFixed64(std::string* dst, uint64_t value) {
  char buf[sizeof(value)];
  EncodeFixed64(buf, value);
  dst->append(buf, sizeof(buf));
}

}  // namespace kv2pc::wal
