// Consistent-hash ring. See partitioner.h.
#include "common/partitioner.h"

#include <algorithm>

namespace kv2pc {

uint64_t Hash64(std::string_view data) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a offset basis
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;  // FNV prime
  }
  // murmur3 fmix64: FNV-1a alone clusters similar short strings ("k1", "k2").
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

HashRing::HashRing(std::vector<std::string> names, int vnodes) : names_(std::move(names)) {
  points_.reserve(names_.size() * static_cast<size_t>(vnodes));
  for (uint32_t i = 0; i < names_.size(); i++) {
    for (int v = 0; v < vnodes; v++) {
      points_.emplace_back(Hash64(names_[i] + "#" + std::to_string(v)), i);
    }
  }
  // Ties (astronomically unlikely) are broken by name so the ring stays order-independent.
  std::sort(points_.begin(), points_.end(), [this](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    return names_[a.second] < names_[b.second];
  });
}

size_t HashRing::OwnerIndex(std::string_view key) const {
  uint64_t h = Hash64(key);
  auto it = std::lower_bound(points_.begin(), points_.end(), h,
                             [](const auto& p, uint64_t v) { return p.first < v; });
  if (it == points_.end()) it = points_.begin();
  return it->second;
}

}  // namespace kv2pc
