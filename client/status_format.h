// Text form of a node's STATUS answer for `kv2pc status` (docs/protocol.md, STATUS).
#pragma once

#include <string>

#include "common/messages.h"

namespace kv2pc {

// Renders `reply` (an OK answer to STATUS, with node, role and status) for a terminal:
// a summary of the counters, then a table of transactions (oldest first) and a table of
// locked keys (contended first), each saying when it shows fewer than there are. Keys are
// printed with SafeText. `endpoint` is where the node was asked.
std::string FormatNodeStatus(const Reply& reply, const std::string& endpoint);

// "850ms", "12.3s", "4m05s", "2h10m".
std::string FormatDuration(uint64_t ms);

}  // namespace kv2pc
