// See cluster.h.
#include "tests/testutil/cluster.h"

namespace kv2pc::testing {

TestCluster::TestCluster(int participants, std::vector<std::string> coordinator_args,
                         std::vector<std::string> participant_args)
    : LocalCluster(KV2PC_BIN_DIR, participants, std::move(coordinator_args),
                   std::move(participant_args)) {}

}  // namespace kv2pc::testing
