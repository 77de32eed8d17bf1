// See sqlite_store.h.
#include "participant/sqlite_store.h"

#include <sqlite3.h>

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

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<SqliteStore> store(new SqliteStore(db));
  if (rc != SQLITE_OK) return store->Error("open " + path);
  KV2PC_RETURN_IF_ERROR(store->Exec("PRAGMA journal_mode=WAL"));
  KV2PC_RETURN_IF_ERROR(store->Exec("PRAGMA synchronous=FULL"));
  KV2PC_RETURN_IF_ERROR(store->Exec(
      "CREATE TABLE IF NOT EXISTS kv(key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;"
      "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
      "INSERT OR IGNORE INTO meta VALUES('format', 1);"
      "INSERT OR IGNORE INTO meta VALUES('applied_lsn', 0);"));
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

Status SqliteStore::ApplyBatch(const std::vector<KeyWrite>& writes, Lsn lsn) {
  KV2PC_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Status s = [&]() -> Status {
    Stmt put(db_, "INSERT OR REPLACE INTO kv(key, value) VALUES(?1, ?2)");
    Stmt del(db_, "DELETE FROM kv WHERE key = ?1");
    Stmt meta(db_, "UPDATE meta SET value = ?1 WHERE name = 'applied_lsn'");
    if (!put.ok() || !del.ok() || !meta.ok()) return Error("prepare");
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
    sqlite3_bind_int64(meta.get(), 1, static_cast<int64_t>(lsn));
    if (sqlite3_step(meta.get()) != SQLITE_DONE) return Error("write applied_lsn");
    return Status::OK();
  }();
  if (!s.ok()) {
    (void)Exec("ROLLBACK");
    return s;
  }
  KV2PC_RETURN_IF_ERROR(Exec("COMMIT"));
  applied_lsn_ = lsn;
  return Status::OK();
}

}  // namespace kv2pc::participant
