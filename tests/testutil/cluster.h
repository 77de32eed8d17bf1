// TestCluster: a LocalCluster (client/local_cluster.h) of the servers this build made, for
// integration tests: real kv2pc-coordinator and kv2pc-participant processes with their own
// temporary directory and free 127.0.0.1 ports, ended only by the PIDs it recorded.
#pragma once

#include <string>
#include <vector>

#include "client/local_cluster.h"

namespace kv2pc::testing {

using ::kv2pc::FreePort;

class TestCluster : public LocalCluster {
 public:
  // The args are added to the coordinators' and participants' command lines (e.g. short
  // timeouts).
  explicit TestCluster(int participants, std::vector<std::string> coordinator_args = {},
                       std::vector<std::string> participant_args = {});
  // With `coordinators` coordinators (coordinator-0..N-1); coordinator() is coordinator-0.
  TestCluster(int participants, int coordinators, std::vector<std::string> coordinator_args = {},
              std::vector<std::string> participant_args = {});
};

}  // namespace kv2pc::testing
