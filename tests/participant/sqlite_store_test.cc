// The SQLite checkpoint: batches with their LSN, atomic, reloaded after reopen; and the
// durable memory of one-phase commits kept with them.
#include "participant/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <map>

#include "tests/testutil/temp_dir.h"

namespace kv2pc::participant {
namespace {

std::vector<TxnId> LoadOnePhase(SqliteStore& s) {
  std::vector<TxnId> out;
  EXPECT_TRUE(s.LoadOnePhase([&](const TxnId& id) { out.push_back(id); }).ok());
  return out;
}

std::map<uint32_t, TxnId> LoadHorizons(SqliteStore& s) {
  Result<std::map<uint32_t, TxnId>> h = s.LoadOnePhaseHorizons();
  EXPECT_TRUE(h.ok()) << h.status().ToString();
  return h.ok() ? *h : std::map<uint32_t, TxnId>{};
}

// Runs `sql` on a second connection to the file, as a test's way to reach inside.
void ExecOn(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "") << " in: " << sql;
  sqlite3_free(err);
  sqlite3_close(db);
}

std::map<std::string, std::string> LoadAll(SqliteStore& s) {
  std::map<std::string, std::string> out;
  EXPECT_TRUE(s.LoadAll([&](std::string_view k, std::string_view v) {
                 out.emplace(std::string(k), std::string(v));
               }).ok());
  return out;
}

TEST(SqliteStoreTest, NewStoreIsEmptyAtLsnZero) {
  testing::TempDir dir;
  auto s = SqliteStore::Open(dir.path() + "/data.sqlite");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->applied_lsn(), 0u);
  EXPECT_TRUE(LoadAll(**s).empty());
}

TEST(SqliteStoreTest, BatchesSurviveReopenWithTheirLsn) {
  testing::TempDir dir;
  std::string path = dir.path() + "/data.sqlite";
  std::string binary("\x00\x01\xff", 3);
  {
    auto s = SqliteStore::Open(path);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->ApplyBatch({{"a", "1"}, {"b", "2"}, {binary, binary}, {"e", ""}}, 10).ok());
    ASSERT_TRUE((*s)->ApplyBatch({{"a", "3"}, {"b", std::nullopt}}, 20).ok());
  }
  auto s = SqliteStore::Open(path);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->applied_lsn(), 20u);
  auto data = LoadAll(**s);
  EXPECT_EQ(data, (std::map<std::string, std::string>{{"a", "3"}, {binary, binary}, {"e", ""}}));
}

TEST(SqliteStoreTest, ReplayingABatchTwiceIsHarmless) {
  testing::TempDir dir;
  auto s = SqliteStore::Open(dir.path() + "/data.sqlite");
  ASSERT_TRUE(s.ok());
  std::vector<KeyWrite> batch{{"k", "v"}, {"gone", std::nullopt}};
  ASSERT_TRUE((*s)->ApplyBatch(batch, 5).ok());
  ASSERT_TRUE((*s)->ApplyBatch(batch, 5).ok());
  EXPECT_EQ(LoadAll(**s), (std::map<std::string, std::string>{{"k", "v"}}));
}

// ---- One-phase commits ---------------------------------------------------------------------

TEST(SqliteStoreTest, OnePhaseIdsSurviveReopenOldestFirst) {
  testing::TempDir dir;
  std::string path = dir.path() + "/data.sqlite";
  const TxnId big_seq{7, UINT32_MAX, UINT64_MAX};  // seq stored as the int64 of its bits
  {
    auto s = SqliteStore::Open(path);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_TRUE(LoadOnePhase(**s).empty());
    EXPECT_TRUE(LoadHorizons(**s).empty());
    ASSERT_TRUE((*s)->ApplyBatch({{"a", "1"}}, 10, {TxnId{0, 1, 9}, TxnId{1, 1, 2}}).ok());
    ASSERT_TRUE((*s)->ApplyBatch({{"b", "2"}}, 20).ok());  // a two-phase commit: no ids
    // A repeat (replay of a batch after a crash) is ignored and keeps its first place.
    ASSERT_TRUE((*s)->ApplyBatch({}, 30, {big_seq, TxnId{0, 1, 9}, TxnId{0, 1, 3}}).ok());
  }
  auto s = SqliteStore::Open(path);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->applied_lsn(), 30u);
  EXPECT_EQ(LoadOnePhase(**s),
            (std::vector<TxnId>{TxnId{0, 1, 9}, TxnId{1, 1, 2}, big_seq, TxnId{0, 1, 3}}));
  EXPECT_TRUE(LoadHorizons(**s).empty());
  EXPECT_EQ(LoadAll(**s), (std::map<std::string, std::string>{{"a", "1"}, {"b", "2"}}));
}

TEST(SqliteStoreTest, EvictionBeyondCapacityRaisesEachCoordinatorsHorizon) {
  testing::TempDir dir;
  std::string path = dir.path() + "/data.sqlite";
  {
    auto s = SqliteStore::Open(path, /*one_phase_capacity=*/3);
    ASSERT_TRUE(s.ok());
    // Coordinator 0's ids come out of (incarnation, seq) order: T0.2.1 was added before
    // T0.1.50, and the horizon must be the higher, T0.2.1, not the last evicted.
    ASSERT_TRUE((*s)->ApplyBatch({}, 1, {TxnId{0, 2, 1}, TxnId{0, 1, 50}, TxnId{1, 1, 7}}).ok());
    EXPECT_TRUE(LoadHorizons(**s).empty());
    ASSERT_TRUE((*s)->ApplyBatch({}, 2, {TxnId{1, 1, 8}, TxnId{0, 2, 2}}).ok());  // evicts 2
    EXPECT_EQ(LoadOnePhase(**s),
              (std::vector<TxnId>{TxnId{1, 1, 7}, TxnId{1, 1, 8}, TxnId{0, 2, 2}}));
    EXPECT_EQ(LoadHorizons(**s), (std::map<uint32_t, TxnId>{{0, TxnId{0, 2, 1}}}));
    ASSERT_TRUE((*s)->ApplyBatch({}, 3, {TxnId{1, 1, 8}}).ok());  // a repeat: not one more
    EXPECT_EQ(LoadOnePhase(**s).size(), 3u);
    EXPECT_EQ(LoadHorizons(**s).size(), 1u);
    ASSERT_TRUE((*s)->ApplyBatch({}, 3, {TxnId{2, 1, 1}}).ok());  // evicts T1.1.7
    EXPECT_EQ(LoadHorizons(**s),
              (std::map<uint32_t, TxnId>{{0, TxnId{0, 2, 1}}, {1, TxnId{1, 1, 7}}}));
  }
  // Reopening with a smaller capacity evicts down to it at the next batch; then a horizon
  // never decreases: evicting T0.1.1 (below coordinator 0's T0.2.2) leaves it.
  auto s = SqliteStore::Open(path, /*one_phase_capacity=*/1);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->ApplyBatch({}, 4, {TxnId{0, 1, 1}}).ok());
  EXPECT_EQ(LoadOnePhase(**s), (std::vector<TxnId>{TxnId{0, 1, 1}}));
  EXPECT_EQ(LoadHorizons(**s), (std::map<uint32_t, TxnId>{
                                   {0, TxnId{0, 2, 2}}, {1, TxnId{1, 1, 8}}, {2, TxnId{2, 1, 1}}}));
  ASSERT_TRUE((*s)->ApplyBatch({}, 5, {TxnId{0, 1, 2}}).ok());
  EXPECT_EQ(LoadHorizons(**s).at(0), (TxnId{0, 2, 2}));
  EXPECT_EQ(LoadOnePhase(**s), (std::vector<TxnId>{TxnId{0, 1, 2}}));
}

TEST(SqliteStoreTest, OlderFilesGainTheOnePhaseTablesEmpty) {
  testing::TempDir dir;
  std::string path = dir.path() + "/data.sqlite";
  // A data.sqlite written before one-phase commit existed: kv and meta only.
  ExecOn(path,
         "CREATE TABLE kv(key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;"
         "CREATE TABLE meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
         "INSERT INTO meta VALUES('format', 1); INSERT INTO meta VALUES('applied_lsn', 7);"
         "INSERT INTO kv VALUES(x'61', x'31');");
  auto s = SqliteStore::Open(path);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->applied_lsn(), 7u);
  EXPECT_TRUE(LoadOnePhase(**s).empty());
  EXPECT_TRUE(LoadHorizons(**s).empty());
  ASSERT_TRUE((*s)->ApplyBatch({}, 8, {TxnId{0, 1, 1}}).ok());
  EXPECT_EQ(LoadOnePhase(**s), (std::vector<TxnId>{TxnId{0, 1, 1}}));
  EXPECT_EQ(LoadAll(**s), (std::map<std::string, std::string>{{"a", "1"}}));
}

// ---- Error paths ----------------------------------------------------------------------------

TEST(SqliteStoreTest, AFailedBatchLeavesNeitherDataNorIds) {
  testing::TempDir dir;
  std::string path = dir.path() + "/data.sqlite";
  auto s = SqliteStore::Open(path, /*one_phase_capacity=*/2);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->ApplyBatch({{"a", "1"}}, 1, {TxnId{0, 1, 1}, TxnId{0, 1, 2}}).ok());
  // The last statement of the batch, applied_lsn's update, fails after the writes, the ids
  // and the eviction (with its horizon) are done: all of it must roll back.
  ExecOn(path,
         "CREATE TRIGGER fail_lsn BEFORE UPDATE ON meta WHEN NEW.value = 2"
         " BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");
  Status failed = (*s)->ApplyBatch({{"a", "2"}, {"b", "2"}}, 2, {TxnId{0, 1, 3}});
  EXPECT_TRUE(failed.IsIOError()) << failed.ToString();
  auto check_unchanged = [&](SqliteStore& store) {
    EXPECT_EQ(store.applied_lsn(), 1u);
    EXPECT_EQ(LoadAll(store), (std::map<std::string, std::string>{{"a", "1"}}));
    EXPECT_EQ(LoadOnePhase(store), (std::vector<TxnId>{TxnId{0, 1, 1}, TxnId{0, 1, 2}}));
    EXPECT_TRUE(LoadHorizons(store).empty());
  };
  check_unchanged(**s);
  // So does a failure in the eviction itself (the horizon's write).
  ExecOn(path,
         "DROP TRIGGER fail_lsn; CREATE TRIGGER fail_horizon BEFORE INSERT ON one_phase_horizon"
         " BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");
  EXPECT_TRUE((*s)->ApplyBatch({{"a", "2"}}, 2, {TxnId{0, 1, 3}}).IsIOError());
  check_unchanged(**s);
  {
    auto reopened = SqliteStore::Open(path, 2);
    ASSERT_TRUE(reopened.ok());
    check_unchanged(**reopened);
  }
  // The same batch, retried once the fault is gone, applies whole.
  ExecOn(path, "DROP TRIGGER fail_horizon;");
  ASSERT_TRUE((*s)->ApplyBatch({{"a", "2"}, {"b", "2"}}, 2, {TxnId{0, 1, 3}}).ok());
  EXPECT_EQ((*s)->applied_lsn(), 2u);
  EXPECT_EQ(LoadAll(**s), (std::map<std::string, std::string>{{"a", "2"}, {"b", "2"}}));
  EXPECT_EQ(LoadOnePhase(**s), (std::vector<TxnId>{TxnId{0, 1, 2}, TxnId{0, 1, 3}}));
  EXPECT_EQ(LoadHorizons(**s), (std::map<uint32_t, TxnId>{{0, TxnId{0, 1, 1}}}));
}

TEST(SqliteStoreTest, AnOutOfRangeStoredIdIsCorruption) {
  testing::TempDir dir;
  std::string path = dir.path() + "/data.sqlite";
  { ASSERT_TRUE(SqliteStore::Open(path).ok()); }
  ExecOn(path,
         "INSERT INTO one_phase VALUES(4294967296, 1, 1);"
         "INSERT INTO one_phase_horizon VALUES(0, 0, 1);");
  auto s = SqliteStore::Open(path);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE((*s)->LoadOnePhase([](const TxnId&) {}).IsCorruption());
  EXPECT_TRUE((*s)->LoadOnePhaseHorizons().status().IsCorruption());
}

TEST(SqliteStoreTest, UnwritableLocationIsAnIOError) {
  auto s = SqliteStore::Open("/nonexistent-dir/data.sqlite");
  EXPECT_TRUE(s.status().IsIOError()) << s.status().ToString();
}

}  // namespace
}  // namespace kv2pc::participant
