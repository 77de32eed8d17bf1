// Basic vocabulary shared by every kv2pc module: transaction ids, log sequence numbers,
// node ids and the size limits every entry point enforces. See docs/protocol.md.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace kv2pc {

// Limits enforced at every entry point (client library, coordinator, participant).
inline constexpr size_t kMaxKeySize = 256;            // bytes; a longer key is KEY_TOO_LARGE
inline constexpr size_t kMaxValueSize = 1024 * 1024;  // bytes; a longer value is VALUE_TOO_LARGE
// Largest ZeroMQ message any kv2pc socket accepts (ZMQ_MAXMSGSIZE). Fits one maximal
// key/value pair plus envelope with room to spare; a peer that sends more is disconnected
// by libzmq before the bytes reach us.
inline constexpr int64_t kMaxMessageSize = 4 * 1024 * 1024;

// Log sequence number: position of a record in a write-ahead log. 0 means "none".
using Lsn = uint64_t;

// A transaction id, assigned by the coordinator that runs the transaction.
//
// Globally unique without clocks: `coordinator` is the coordinator's index in the cluster
// layout (coordinator-<index>), `incarnation` is a counter the coordinator increments and
// fsyncs every time it starts, and `seq` counts transactions within one incarnation. A
// participant holding an in-doubt transaction therefore always knows whom to ask.
// Text form (CLI, logs): "T<coordinator>.<incarnation>.<seq>", e.g. "T0.3.1742".
struct TxnId {
  uint32_t coordinator = 0;
  uint32_t incarnation = 0;
  uint64_t seq = 0;

  bool valid() const { return incarnation != 0; }
  std::string ToString() const;
  static std::optional<TxnId> Parse(std::string_view text);
  auto operator<=>(const TxnId&) const = default;
};

struct TxnIdHash {
  size_t operator()(const TxnId& t) const {
    uint64_t h = (static_cast<uint64_t>(t.coordinator) << 32) ^ t.incarnation;
    h ^= t.seq + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return std::hash<uint64_t>{}(h);
  }
};

// Name of the coordinator that owns transaction ids with this index.
std::string CoordinatorName(uint32_t index);

}  // namespace kv2pc
