// SqliteStore: the participant's checkpointed committed data, in <data-dir>/data.sqlite.
//
// Design note. The WAL is the source of truth; SQLite holds a checkpoint of it so restarts
// do not replay history from the beginning (docs/architecture.md, "Durability").
//   Files:   data.sqlite (+ SQLite's own -wal/-shm files; journal_mode=WAL, synchronous=FULL).
//   Tables:  kv(key BLOB PRIMARY KEY, value BLOB) WITHOUT ROWID  -- committed values
//            meta(name TEXT PRIMARY KEY, value INTEGER)           -- 'applied_lsn', 'format'
//   A batch of committed writes and the highest WAL LSN it covers are written in ONE SQLite
//   transaction, so after any crash the table and applied_lsn agree: recovery replays WAL
//   COMMIT records with LSN > applied_lsn on top (replaying one twice is harmless: writes are
//   whole-value puts and deletes, idempotent).
//   Crash during ApplyBatch: SQLite rolls the transaction back; applied_lsn is the old one.
//
// Thread-safety: one SqliteStore is used by one thread at a time (the participant opens and
// loads it on the main thread before the checkpointer thread takes it over).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/types.h"

struct sqlite3;

namespace kv2pc::participant {

struct KeyWrite {
  std::string key;
  std::optional<std::string> value;  // nullopt = delete
};

class SqliteStore {
 public:
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path);
  ~SqliteStore();
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // Highest WAL LSN whose commits are all in the table (0 for a new store).
  Lsn applied_lsn() const { return applied_lsn_; }

  // Number of stored pairs (a scan of the table's b-tree: for sizing, not for hot paths).
  Result<uint64_t> Count();

  // Calls fn for every stored pair.
  Status LoadAll(const std::function<void(std::string_view key, std::string_view value)>& fn);

  // Applies `writes` (in order) and sets applied_lsn = lsn, atomically and durably.
  // REQUIRES: lsn >= applied_lsn().
  Status ApplyBatch(const std::vector<KeyWrite>& writes, Lsn lsn);

 private:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  Status Exec(const char* sql);
  Status Error(std::string_view what) const;

  sqlite3* db_;
  Lsn applied_lsn_ = 0;
};

}  // namespace kv2pc::participant
