// See cluster.h.
#include "tests/testutil/cluster.h"

namespace kv2pc::testing {

TestCluster::TestCluster(int participants, std::vector<std::string> coordinator_args,
                         std::vector<std::string> participant_args)
    : TestCluster(participants, 1, std::move(coordinator_args), std::move(participant_args)) {}

TestCluster::TestCluster(int participants, int coordinators,
                         std::vector<std::string> coordinator_args,
                         std::vector<std::string> participant_args)
    : LocalCluster(KV2PC_BIN_DIR, participants, coordinators, std::move(coordinator_args),
                   std::move(participant_args)) {}

}  // namespace kv2pc::testing
