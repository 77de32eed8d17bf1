// Maps keys to participants with a consistent-hash ring of virtual nodes.
//
// Each participant owns `vnodes` points on a 64-bit ring, at Hash64("<name>#<i>"); a key
// belongs to the participant owning the first point at or after Hash64(key), wrapping
// around. The owner depends only on the participants' names and the vnode count, never on
// the order of the config file, so every process that reads the same layout agrees, and
// adding a participant moves only about 1/N of the keys. docs/architecture.md explains the
// choice and its costs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kv2pc {

// A stable 64-bit hash (FNV-1a followed by the murmur3 finalizer for avalanche). Stable
// across platforms and releases: changing it would move every key.
uint64_t Hash64(std::string_view data);

class HashRing {
 public:
  // REQUIRES: names is not empty and has no duplicates; vnodes >= 1.
  HashRing(std::vector<std::string> names, int vnodes);

  // Index into names() of the participant that owns `key`.
  size_t OwnerIndex(std::string_view key) const;
  const std::string& Owner(std::string_view key) const { return names_[OwnerIndex(key)]; }
  const std::vector<std::string>& names() const { return names_; }

 private:
  std::vector<std::string> names_;
  std::vector<std::pair<uint64_t, uint32_t>> points_;  // sorted (hash, owner index)
};

}  // namespace kv2pc
