// The cluster layout: which nodes exist, their roles and addresses. One file, read by every
// process (and written by run_cluster.sh); the same file with other hosts' addresses runs
// kv2pc across machines. Format (docs/architecture.md, "Cluster layout"):
//
//   # comment
//   version 1
//   vnodes 256
//   node coordinator-0 coordinator tcp://127.0.0.1:7000
//   node participant-0 participant tcp://127.0.0.1:7001
//
// Coordinators must be named coordinator-<N>: N is the index carried by every TxnId it
// issues, so a participant can find the coordinator of an in-doubt transaction by name.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kv2pc {

enum class Role : uint8_t { kCoordinator, kParticipant };
std::string_view RoleName(Role role);

struct NodeInfo {
  std::string name;
  Role role = Role::kParticipant;
  std::string endpoint;  // tcp://host:port
};

class ClusterConfig {
 public:
  static Result<ClusterConfig> Parse(std::string_view text);
  static Result<ClusterConfig> Load(const std::string& path);

  int vnodes() const { return vnodes_; }
  const std::vector<NodeInfo>& nodes() const { return nodes_; }
  // Participants in file order (the ring does not depend on the order).
  std::vector<const NodeInfo*> participants() const;
  std::vector<const NodeInfo*> coordinators() const;
  // nullptr when there is no such node.
  const NodeInfo* Find(std::string_view name) const;

  // Index N of "coordinator-N", or -1.
  static int64_t CoordinatorIndex(std::string_view name);

 private:
  int vnodes_ = 256;  // see docs/architecture.md, "Partitioning"
  std::vector<NodeInfo> nodes_;
};

}  // namespace kv2pc
