// The SQLite checkpoint: batches with their LSN, atomic, reloaded after reopen.
#include "participant/sqlite_store.h"

#include <gtest/gtest.h>

#include <map>

#include "tests/testutil/temp_dir.h"

namespace kv2pc::participant {
namespace {

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

TEST(SqliteStoreTest, UnwritableLocationIsAnIOError) {
  auto s = SqliteStore::Open("/nonexistent-dir/data.sqlite");
  EXPECT_TRUE(s.status().IsIOError()) << s.status().ToString();
}

}  // namespace
}  // namespace kv2pc::participant
