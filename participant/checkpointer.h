// Checkpointer: applies committed writes to SQLite in batches, on its own thread, so the
// participant's event loop never waits for SQLite (docs/architecture.md, "Durability").
//
// The loop calls Submit() with writes whose COMMIT records are durable, in LSN order; the
// thread coalesces everything submitted since its last batch (latest value per key wins) and
// writes it with the highest LSN in one SQLite transaction (SqliteStore::ApplyBatch). A
// failed batch is kept and retried on the next round (the WAL still holds every write, so
// nothing is lost meanwhile); repeated failures are logged.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "participant/sqlite_store.h"
#include "wal/record.h"

namespace kv2pc::participant {

class Checkpointer {
 public:
  explicit Checkpointer(std::unique_ptr<SqliteStore> store);
  // Writes what was submitted, then stops the thread.
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Thread-safe. REQUIRES: lsn >= every earlier Submit's lsn.
  void Submit(std::vector<wal::WriteOp> writes, Lsn lsn);
  // Highest LSN durable in SQLite (thread-safe).
  Lsn applied_lsn() const;

 private:
  void Loop();

  mutable std::mutex mu_;
  // Signalled by Submit() and by the destructor (stop_).
  std::condition_variable cv_;
  // Guarded by mu_:
  std::map<std::string, std::optional<std::string>> pending_;
  Lsn pending_lsn_ = 0;
  Lsn applied_lsn_ = 0;
  bool stop_ = false;

  std::unique_ptr<SqliteStore> store_;  // used only by the thread after construction
  std::thread thread_;
};

}  // namespace kv2pc::participant
