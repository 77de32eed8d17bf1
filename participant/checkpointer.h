// Checkpointer: applies committed writes to SQLite in batches, on its own thread, so the
// participant's event loop never waits for SQLite, and then trims the WAL below the
// checkpoint (docs/architecture.md, "Durability").
//
// The loop calls Submit() with writes whose COMMIT records are durable, in LSN order; the
// thread coalesces everything submitted since its last batch (latest value per key wins) and
// writes it with the highest LSN in one SQLite transaction (SqliteStore::ApplyBatch), with
// the ids of the one-phase commits among them (kept in SQLite's bounded one-phase memory). A
// failed batch, ids included, is kept and retried on the next round (the WAL still holds
// every write and every ONE_PHASE_COMMIT, so nothing is lost meanwhile); repeated failures
// are logged.
//
// Trimming. Once a batch up to LSN L is durable in SQLite, WAL records at or below L are no
// longer needed, except the PREPARE records of transactions that are not yet decided or
// whose COMMIT is above L (their write sets live only in those records). Submit() carries
// `pin`, the lowest such PREPARE LSN at submission; after applying, the thread removes the
// segments wholly below min(pin, L + 1) (wal::Log::RemoveSegmentsBefore). Any PREPARE
// appended after the submission has an LSN above L, so the pin stays valid. A crash between
// the SQLite commit and the removal leaves extra segments, which replay skips (commits at or
// below applied_lsn are not re-applied).
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/types.h"
#include "participant/sqlite_store.h"
#include "wal/log.h"
#include "wal/record.h"

namespace kv2pc::participant {

class Checkpointer {
 public:
  // `log` (may be null: no trimming) must outlive the Checkpointer.
  Checkpointer(std::unique_ptr<SqliteStore> store, wal::Log* log);
  // Writes what was submitted, then stops the thread.
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Thread-safe. REQUIRES: lsn >= every earlier Submit's lsn; `pin` as above (kNoPin when
  // no transaction pins the log); `one_phase`: the transactions among the writes committed
  // by one-phase commit (their ONE_PHASE_COMMIT records at or below `lsn`), oldest first.
  static constexpr Lsn kNoPin = UINT64_MAX;
  void Submit(std::vector<wal::WriteOp> writes, Lsn lsn, Lsn pin,
              std::vector<TxnId> one_phase = {});
  // Highest LSN durable in SQLite (thread-safe).
  Lsn applied_lsn() const;

 private:
  void Loop();

  mutable std::mutex mu_;
  // Signalled by Submit() and by the destructor (stop_).
  std::condition_variable cv_;
  // Guarded by mu_:
  std::map<std::string, std::optional<std::string>> pending_;
  std::vector<TxnId> pending_one_phase_;  // oldest first, as they go to SQLite
  Lsn pending_lsn_ = 0;
  Lsn pending_pin_ = kNoPin;  // the pin that came with pending_lsn_
  Lsn applied_lsn_ = 0;
  bool stop_ = false;

  std::unique_ptr<SqliteStore> store_;  // used only by the thread after construction
  wal::Log* const log_;
  std::thread thread_;
};

}  // namespace kv2pc::participant
