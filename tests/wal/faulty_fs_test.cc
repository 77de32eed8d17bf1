// Tests of the fault-injecting file system (tests/testutil/faulty_fs.h) that the WAL's crash
// tests rely on: if it kept too much after a power cut, those tests would prove nothing.
#include "tests/testutil/faulty_fs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>

namespace kv2pc::testutil {
namespace {

using OpenMode = wal::FileSystem::OpenMode;

class FaultyFileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fs_.CreateDir("/d").ok()); }

  std::unique_ptr<wal::File> Create(const std::string& path) {
    Result<std::unique_ptr<wal::File>> f = fs_.OpenFile(path, OpenMode::kCreateNew);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return f.ok() ? std::move(f).value() : nullptr;
  }

  FaultyFileSystem fs_;
};

TEST_F(FaultyFileSystemTest, PowerCutKeepsSyncedDataAndDropsTheRest) {
  auto f = Create("/d/a");
  ASSERT_TRUE(f->Write(0, "hello").ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  ASSERT_TRUE(f->Write(5, " world").ok());
  ASSERT_TRUE(f->Write(0, "J").ok());
  EXPECT_EQ("Jello world", fs_.Contents("/d/a"));
  fs_.PowerCut();
  fs_.Restart();
  EXPECT_EQ("hello", fs_.Contents("/d/a"));
}

TEST_F(FaultyFileSystemTest, DirectoryEntriesNeedADirectorySync) {
  auto a = Create("/d/a");
  ASSERT_TRUE(a->Sync().ok());  // data synced, entry not
  fs_.PowerCut();
  fs_.Restart();
  EXPECT_FALSE(fs_.Exists("/d/a"));
}

TEST_F(FaultyFileSystemTest, RenameAndRemoveAreUndoneWithoutADirectorySync) {
  auto a = Create("/d/a");
  ASSERT_TRUE(a->Write(0, "A").ok());
  ASSERT_TRUE(a->Sync().ok());
  auto b = Create("/d/b");
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  ASSERT_TRUE(fs_.Rename("/d/a", "/d/c").ok());
  ASSERT_TRUE(fs_.RemoveFile("/d/b").ok());
  Result<std::vector<std::string>> names = fs_.ListDir("/d");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ((std::vector<std::string>{"c"}), *names);
  fs_.PowerCut();
  fs_.Restart();
  EXPECT_EQ("A", fs_.Contents("/d/a"));
  EXPECT_TRUE(fs_.Exists("/d/b"));
  EXPECT_FALSE(fs_.Exists("/d/c"));
}

TEST_F(FaultyFileSystemTest, HandlesOpenedBeforeAPowerCutStayDead) {
  auto a = Create("/d/a");
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  fs_.PowerCut();
  EXPECT_TRUE(fs_.ListDir("/d").status().IsIOError());  // the machine is off
  fs_.Restart();
  EXPECT_TRUE(a->Write(0, "x").IsIOError());
  EXPECT_TRUE(a->Sync().IsIOError());
  auto again = fs_.OpenFile("/d/a", OpenMode::kOpenExisting);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)->Write(0, "x").ok());
}

TEST_F(FaultyFileSystemTest, FailsTheNthSyncOnly) {
  auto a = Create("/d/a");
  fs_.FailNthSync(2);
  EXPECT_TRUE(a->Sync().ok());
  Status s = a->Sync();
  EXPECT_TRUE(s.IsIOError());
  EXPECT_NE(std::string::npos, s.message().find("EIO"));
  EXPECT_TRUE(a->Sync().ok());
  EXPECT_EQ(2, fs_.sync_count());
}

TEST_F(FaultyFileSystemTest, FailsWritesFromTheNthOnWithTheGivenErrno) {
  auto a = Create("/d/a");
  fs_.FailWritesFrom(2, ENOSPC);
  EXPECT_TRUE(a->Write(0, "1").ok());
  EXPECT_NE(std::string::npos, a->Write(1, "2").message().find("ENOSPC"));
  EXPECT_TRUE(a->Write(1, "3").IsIOError());
  fs_.ClearFaults();
  EXPECT_TRUE(a->Write(1, "4").ok());
  EXPECT_EQ("14", fs_.Contents("/d/a"));
}

TEST_F(FaultyFileSystemTest, CrashAtMutationCutsPowerBeforeThatCall) {
  auto a = Create("/d/a");
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  fs_.CrashAtMutation(2);
  EXPECT_TRUE(a->Write(0, "one").ok());
  EXPECT_TRUE(a->Sync().IsIOError());  // power cut instead
  EXPECT_TRUE(fs_.crashed());
  fs_.Restart();
  EXPECT_EQ("", fs_.Contents("/d/a"));
}

TEST_F(FaultyFileSystemTest, RandomSectorModeKeepsSyncedDataAndSomeUnsyncedSectors) {
  auto a = Create("/d/a");
  std::string synced(4096, 's');
  ASSERT_TRUE(a->Write(0, synced).ok());
  ASSERT_TRUE(a->Sync().ok());
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  ASSERT_TRUE(a->Write(0, std::string(4096, 'u')).ok());
  fs_.PowerCut(FaultyFileSystem::PowerCutMode::kKeepRandomSectors, 1);
  fs_.Restart();
  std::string after = fs_.Contents("/d/a");
  ASSERT_EQ(4096u, after.size());
  size_t kept = std::count(after.begin(), after.end(), 'u');
  EXPECT_EQ(0u, kept % 512);  // whole sectors only
  EXPECT_GT(kept, 0u);
  EXPECT_LT(kept, 4096u);
}

TEST_F(FaultyFileSystemTest, LockIsExclusiveUntilReleased) {
  auto lock = fs_.LockFile("/d/LOCK");
  ASSERT_TRUE(lock.ok());
  EXPECT_TRUE(fs_.LockFile("/d/LOCK").status().IsIOError());
  lock = Status::Internal("drop");  // releases
  EXPECT_TRUE(fs_.LockFile("/d/LOCK").ok());
}

}  // namespace
}  // namespace kv2pc::testutil
