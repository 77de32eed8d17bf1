// SqliteStore: the participant's checkpointed committed data, in <data-dir>/data.sqlite, and
// its durable memory of one-phase commits (docs/wal-format.md, "data.sqlite").
//
// Design note. The WAL is the source of truth; SQLite holds a checkpoint of it so restarts
// do not replay history from the beginning (docs/architecture.md, "Durability").
//   Files:   data.sqlite (+ SQLite's own -wal/-shm files; journal_mode=WAL, synchronous=FULL).
//   Tables:  kv(key BLOB PRIMARY KEY, value BLOB) WITHOUT ROWID  -- committed values
//            meta(name TEXT PRIMARY KEY, value INTEGER)           -- 'applied_lsn', 'format'
//            one_phase(coordinator, incarnation, seq INTEGER, PRIMARY KEY(all three))
//                -- ids committed here by one-phase commit, the newest one_phase_capacity;
//                   rowid order is insertion order (nothing here VACUUMs, which could
//                   renumber them)
//            one_phase_horizon(coordinator INTEGER PRIMARY KEY, incarnation, seq INTEGER)
//                -- per coordinator, the highest id (by incarnation, seq) evicted from
//                   one_phase: OnePhaseMemory's horizons (participant/one_phase_memory.h)
//   A seq (u64) is stored as the int64 of the same bits. The one_phase tables came after
//   format 1 and are created IF NOT EXISTS at every Open: an older file gains them empty
//   (nothing was committed by one phase before them), so the format stays 1.
//   A batch of committed writes, the one-phase commits among them, any eviction from
//   one_phase with the horizons it raises, and the highest WAL LSN the batch covers are
//   written in ONE SQLite transaction, so after any crash the tables and applied_lsn agree:
//   recovery replays WAL COMMIT and ONE_PHASE_COMMIT records with LSN > applied_lsn on top
//   (replaying one twice is harmless: writes are whole-value puts and deletes, idempotent,
//   and a one-phase id already stored is ignored), and every id evicted from one_phase is
//   covered by its coordinator's horizon (OnePhaseMemory's (M1), on disk).
//   Crash during ApplyBatch: SQLite rolls the transaction back; applied_lsn is the old one.
//
// Thread-safety: one SqliteStore is used by one thread at a time (the participant opens and
// loads it on the main thread before the checkpointer thread takes it over).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
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

// Default number of one-phase commits data.sqlite remembers (one_phase_capacity), and the
// participant's OnePhaseMemory with it: some 8 MB in memory, a few MB on disk.
inline constexpr size_t kOnePhaseMemory = 100000;

class SqliteStore {
 public:
  // Opens (creating if needed) the store at `path`. IOError if SQLite cannot open or set it
  // up, Corruption if it has a newer format. `one_phase_capacity`: how many one-phase commit
  // ids ApplyBatch keeps (a smaller value than a previous Open's evicts at the next batch).
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path,
                                                   size_t one_phase_capacity = kOnePhaseMemory);
  ~SqliteStore();
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // Highest WAL LSN whose commits are all in the table (0 for a new store).
  Lsn applied_lsn() const { return applied_lsn_; }

  // Number of stored pairs (a scan of the table's b-tree: for sizing, not for hot paths).
  Result<uint64_t> Count();

  // Calls fn for every stored pair.
  Status LoadAll(const std::function<void(std::string_view key, std::string_view value)>& fn);

  // Applies `writes` (in order), remembers the ids in `one_phase` (transactions committed
  // here by one-phase commit; one already remembered is ignored) and sets applied_lsn = lsn,
  // atomically and durably. If one_phase then holds more than one_phase_capacity ids, the
  // oldest go, and each one's coordinator horizon is raised to cover it, in the same
  // transaction. IOError (Corruption for an unreadable stored id) leaves the store as it was.
  // REQUIRES: lsn >= applied_lsn().
  Status ApplyBatch(const std::vector<KeyWrite>& writes, Lsn lsn,
                    const std::vector<TxnId>& one_phase = {});

  // Calls fn for every remembered one-phase commit, oldest first (the order ApplyBatch
  // stored them in). IOError, or Corruption for a stored id out of range.
  Status LoadOnePhase(const std::function<void(const TxnId&)>& fn);
  // Coordinator index -> the highest id of it evicted from the one-phase memory (absent:
  // nothing evicted). IOError, or Corruption for a stored id out of range.
  Result<std::map<uint32_t, TxnId>> LoadOnePhaseHorizons();

 private:
  SqliteStore(sqlite3* db, size_t one_phase_capacity)
      : db_(db), one_phase_capacity_(one_phase_capacity) {}
  Status Exec(const char* sql);
  Status Error(std::string_view what) const;
  // Deletes the `count` oldest rows of one_phase and raises one_phase_horizon over them.
  // REQUIRES: inside ApplyBatch's transaction.
  Status EvictOnePhase(uint64_t count);

  sqlite3* db_;
  const size_t one_phase_capacity_;
  Lsn applied_lsn_ = 0;
  uint64_t one_phase_rows_ = 0;  // rows in one_phase, as of the last committed transaction
};

}  // namespace kv2pc::participant
