// See sqlite_store.h.
#include "participant/sqlite_store.h"

#include <sqlite3.h>

#include "recovery/coordinator_replay.h"

namespace kv2pc::participant {

namespace {
// A prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

// Reads the id in columns [col, col + 3) of the current row: coordinator, incarnation, seq
// (the int64 of seq's bits). Corruption for values no TxnId can hold.
Result<TxnId> ColumnTxn(sqlite3_stmt* st, int col) {
  int64_t coordinator = sqlite3_column_int64(st, col);
  int64_t incarnation = sqlite3_column_int64(st, col + 1);
  if (coordinator < 0 || coordinator > UINT32_MAX || incarnation <= 0 || incarnation > UINT32_MAX) {
    return Status::Corruption("data.sqlite holds a one-phase commit id out of range: coordinator " +
                              std::to_string(coordinator) + ", incarnation " +
                              std::to_string(incarnation));
  }
  return TxnId{static_cast<uint32_t>(coordinator), static_cast<uint32_t>(incarnation),
               static_cast<uint64_t>(sqlite3_column_int64(st, col + 2))};
}

// Binds `id` to parameters [param, param + 3).
void BindTxn(sqlite3_stmt* st, int param, const TxnId& id) {
  sqlite3_bind_int64(st, param, id.coordinator);
  sqlite3_bind_int64(st, param + 1, id.incarnation);
  sqlite3_bind_int64(st, param + 2, static_cast<int64_t>(id.seq));
}
}  // namespace

Status SqliteStore::Error(std::string_view what) const {
  return Status::IOError("sqlite " + std::string(what) + ": " + sqlite3_errmsg(db_));
}

Status SqliteStore::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "unknown error";
    sqlite3_free(err);
    return Status::IOError(std::string("sqlite: ") + m + " (in: " + sql + ")");
  }
  return Status::OK();
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path,
                                                       size_t one_phase_capacity) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<SqliteStore> store(new SqliteStore(db, one_phase_capacity));
  if (rc != SQLITE_OK) return store->Error("open " + path);
  KV2PC_RETURN_IF_ERROR(store->Exec("PRAGMA journal_mode=WAL"));
  KV2PC_RETURN_IF_ERROR(store->Exec("PRAGMA synchronous=FULL"));
  KV2PC_RETURN_IF_ERROR(store->Exec(
      "CREATE TABLE IF NOT EXISTS kv(key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;"
      "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
      "INSERT OR IGNORE INTO meta VALUES('format', 1);"
      "INSERT OR IGNORE INTO meta VALUES('applied_lsn', 0);"
      // Not WITHOUT ROWID: the rowid is the insertion order eviction goes by.
      "CREATE TABLE IF NOT EXISTS one_phase(coordinator INTEGER NOT NULL,"
      " incarnation INTEGER NOT NULL, seq INTEGER NOT NULL,"
      " PRIMARY KEY(coordinator, incarnation, seq));"
      "CREATE TABLE IF NOT EXISTS one_phase_horizon(coordinator INTEGER PRIMARY KEY,"
      " incarnation INTEGER NOT NULL, seq INTEGER NOT NULL);"));
  Stmt q(db, "SELECT name, value FROM meta");
  if (!q.ok()) return store->Error("read meta");
  while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
    std::string_view name(reinterpret_cast<const char*>(sqlite3_column_text(q.get(), 0)));
    int64_t v = sqlite3_column_int64(q.get(), 1);
    if (name == "format" && v != 1) {
      return Status::Corruption(path + " has store format " + std::to_string(v) +
                                "; this build reads format 1");
    }
    if (name == "applied_lsn") store->applied_lsn_ = static_cast<Lsn>(v);
  }
  if (rc != SQLITE_DONE) return store->Error("read meta");
  Stmt count(db, "SELECT count(*) FROM one_phase");
  if (!count.ok() || sqlite3_step(count.get()) != SQLITE_ROW) {
    return store->Error("count one_phase");
  }
  store->one_phase_rows_ = static_cast<uint64_t>(sqlite3_column_int64(count.get(), 0));
  return store;
}

SqliteStore::~SqliteStore() { sqlite3_close_v2(db_); }

Result<uint64_t> SqliteStore::Count() {
  Stmt q(db_, "SELECT count(*) FROM kv");
  if (!q.ok() || sqlite3_step(q.get()) != SQLITE_ROW) return Error("count");
  return static_cast<uint64_t>(sqlite3_column_int64(q.get(), 0));
}

Status SqliteStore::LoadAll(
    const std::function<void(std::string_view key, std::string_view value)>& fn) {
  Stmt q(db_, "SELECT key, value FROM kv");
  if (!q.ok()) return Error("load");
  int rc;
  while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
    auto blob = [&](int col) {
      const void* p = sqlite3_column_blob(q.get(), col);
      int n = sqlite3_column_bytes(q.get(), col);
      return std::string_view(p ? static_cast<const char*>(p) : "", static_cast<size_t>(n));
    };
    fn(blob(0), blob(1));
  }
  if (rc != SQLITE_DONE) return Error("load");
  return Status::OK();
}

Status SqliteStore::ApplyBatch(const std::vector<KeyWrite>& writes, Lsn lsn,
                               const std::vector<TxnId>& one_phase) {
  KV2PC_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  uint64_t rows = one_phase_rows_;  // one_phase's rows as this transaction leaves them
  Status s = [&]() -> Status {
    Stmt put(db_, "INSERT OR REPLACE INTO kv(key, value) VALUES(?1, ?2)");
    Stmt del(db_, "DELETE FROM kv WHERE key = ?1");
    Stmt meta(db_, "UPDATE meta SET value = ?1 WHERE name = 'applied_lsn'");
    Stmt remember(db_,
                  "INSERT OR IGNORE INTO one_phase(coordinator, incarnation, seq)"
                  " VALUES(?1, ?2, ?3)");
    if (!put.ok() || !del.ok() || !meta.ok() || !remember.ok()) return Error("prepare");
    for (const KeyWrite& w : writes) {
      sqlite3_stmt* st = w.value ? put.get() : del.get();
      sqlite3_reset(st);
      // SQLITE_STATIC: the strings outlive the step.
      sqlite3_bind_blob(st, 1, w.key.data(), static_cast<int>(w.key.size()), SQLITE_STATIC);
      if (w.value) {
        sqlite3_bind_blob(st, 2, w.value->data(), static_cast<int>(w.value->size()), SQLITE_STATIC);
      }
      if (sqlite3_step(st) != SQLITE_DONE) return Error("write");
    }
    for (const TxnId& id : one_phase) {
      sqlite3_reset(remember.get());
      BindTxn(remember.get(), 1, id);
      if (sqlite3_step(remember.get()) != SQLITE_DONE) return Error("write one_phase");
      rows += static_cast<uint64_t>(sqlite3_changes(db_));  // 0 for an id already there
    }
    if (rows > one_phase_capacity_) {
      KV2PC_RETURN_IF_ERROR(EvictOnePhase(rows - one_phase_capacity_));
      rows = one_phase_capacity_;
    }
    sqlite3_bind_int64(meta.get(), 1, static_cast<int64_t>(lsn));
    if (sqlite3_step(meta.get()) != SQLITE_DONE) return Error("write applied_lsn");
    return Status::OK();
  }();
  if (s.ok()) s = Exec("COMMIT");
  if (!s.ok()) {
    // After a failed COMMIT the transaction may still be open (SQLITE_BUSY): end it, so the
    // next batch starts clean. The store is as it was before this call.
    (void)Exec("ROLLBACK");
    return s;
  }
  applied_lsn_ = lsn;
  one_phase_rows_ = rows;
  return Status::OK();
}

Status SqliteStore::EvictOnePhase(uint64_t count) {
  // The evicted ids' highest per coordinator, by (incarnation, seq) as OnePhaseMemory orders
  // them: insertion order is not id order, so the last evicted need not be the highest.
  std::map<uint32_t, TxnId> raise;
  {
    Stmt oldest(db_, "SELECT coordinator, incarnation, seq FROM one_phase ORDER BY rowid LIMIT ?1");
    if (!oldest.ok()) return Error("prepare");
    sqlite3_bind_int64(oldest.get(), 1, static_cast<int64_t>(count));
    int rc;
    while ((rc = sqlite3_step(oldest.get())) == SQLITE_ROW) {
      KV2PC_ASSIGN_OR_RETURN(TxnId id, ColumnTxn(oldest.get(), 0));
      auto [it, inserted] = raise.try_emplace(id.coordinator, id);
      if (!inserted && recovery::IdBefore(it->second, id)) it->second = id;
    }
    if (rc != SQLITE_DONE) return Error("read one_phase");
  }
  Stmt get(db_,
           "SELECT coordinator, incarnation, seq FROM one_phase_horizon WHERE coordinator = ?1");
  Stmt set(db_,
           "INSERT OR REPLACE INTO one_phase_horizon(coordinator, incarnation, seq)"
           " VALUES(?1, ?2, ?3)");
  Stmt del(db_,
           "DELETE FROM one_phase WHERE rowid IN"
           " (SELECT rowid FROM one_phase ORDER BY rowid LIMIT ?1)");
  if (!get.ok() || !set.ok() || !del.ok()) return Error("prepare");
  for (const auto& [coordinator, id] : raise) {
    sqlite3_reset(get.get());
    sqlite3_bind_int64(get.get(), 1, coordinator);
    int rc = sqlite3_step(get.get());
    if (rc == SQLITE_ROW) {
      KV2PC_ASSIGN_OR_RETURN(TxnId old, ColumnTxn(get.get(), 0));
      if (!recovery::IdBefore(old, id)) continue;  // a horizon never decreases
    } else if (rc != SQLITE_DONE) {
      return Error("read one_phase_horizon");
    }
    sqlite3_reset(set.get());
    BindTxn(set.get(), 1, id);
    if (sqlite3_step(set.get()) != SQLITE_DONE) return Error("write one_phase_horizon");
  }
  sqlite3_bind_int64(del.get(), 1, static_cast<int64_t>(count));
  if (sqlite3_step(del.get()) != SQLITE_DONE) return Error("evict one_phase");
  return Status::OK();
}

Status SqliteStore::LoadOnePhase(const std::function<void(const TxnId&)>& fn) {
  Stmt q(db_, "SELECT coordinator, incarnation, seq FROM one_phase ORDER BY rowid");
  if (!q.ok()) return Error("load one_phase");
  int rc;
  while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
    KV2PC_ASSIGN_OR_RETURN(TxnId id, ColumnTxn(q.get(), 0));
    fn(id);
  }
  if (rc != SQLITE_DONE) return Error("load one_phase");
  return Status::OK();
}

Result<std::map<uint32_t, TxnId>> SqliteStore::LoadOnePhaseHorizons() {
  Stmt q(db_, "SELECT coordinator, incarnation, seq FROM one_phase_horizon");
  if (!q.ok()) return Error("load one_phase_horizon");
  std::map<uint32_t, TxnId> out;
  int rc;
  while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
    KV2PC_ASSIGN_OR_RETURN(TxnId id, ColumnTxn(q.get(), 0));
    out[id.coordinator] = id;
  }
  if (rc != SQLITE_DONE) return Error("load one_phase_horizon");
  return out;
}

}  // namespace kv2pc::participant
