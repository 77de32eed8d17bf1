// CoordinatorReplay: rebuilds a coordinator's unfinished decisions from its decision log at
// start-up (docs/architecture.md, "Recovery").
//
// The coordinator logs only COMMIT decisions (forced, before anyone is told) and END records
// (not forced, once every participant acknowledged). Presumed abort: a transaction with no
// decision record aborted. So after replay:
//   - a DECISION_COMMIT without END must be re-sent to its participants until they all
//     acknowledge (unfinished()); queries about it are answered COMMITTED;
//   - everything else the coordinator ever ran is ABORTED, or COMMITTED and fully
//     acknowledged, in which case no participant can still ask about it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/types.h"
#include "wal/log.h"

namespace kv2pc::recovery {

class CoordinatorReplay {
 public:
  struct Decision {
    Lsn lsn;
    TxnId txn;
    std::vector<std::string> participants;  // names that must acknowledge the COMMIT
  };

  Status Visit(const wal::RecordView& record);

  // Commit decisions without END, in LSN order.
  std::vector<Decision> unfinished() const;
  // Highest incarnation seen in any transaction id of this log (0 if none).
  uint32_t max_incarnation() const { return max_incarnation_; }
  size_t ended() const { return ended_; }

 private:
  std::map<TxnId, Decision> open_;
  uint32_t max_incarnation_ = 0;
  size_t ended_ = 0;
};

}  // namespace kv2pc::recovery
