// Tests of the power-loss file system (wal/power_loss_fs.h): unsynced writes must stay out of
// the real file and be visible through the File, Sync must put them there, and a Log whose
// process dies keeps exactly its durable records. If it leaked unsynced bytes to the OS, the
// power-loss integration test (tests/integration/power_loss_test.cc) would prove nothing.
#include "wal/power_loss_fs.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

#include "tests/wal/wal_test_util.h"
#include "wal/log.h"
#include "wal/posix_file.h"

namespace kv2pc::wal {
namespace {

using test::OpenCollect;
using test::ReadFileBytes;
using test::Rec;
using test::TestPayload;
using OpenMode = FileSystem::OpenMode;

class PowerLossFileSystemTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return JoinPath(dir_.path(), name); }

  std::unique_ptr<File> Create(FileSystem* fs, const std::string& name) {
    Result<std::unique_ptr<File>> f = fs->OpenFile(Path(name), OpenMode::kCreateNew);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return f.ok() ? std::move(f).value() : nullptr;
  }

  // What the process sees through the File: all of it.
  static std::string Contents(File* f) {
    Result<uint64_t> size = f->Size();
    EXPECT_TRUE(size.ok()) << size.status().ToString();
    std::string data;
    Status s = f->Read(0, size.ok() ? *size : 0, &data);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return data;
  }

  testing::TempDir dir_;
  std::unique_ptr<FileSystem> fs_ = NewPowerLossFileSystem();
};

TEST_F(PowerLossFileSystemTest, UnsyncedWritesAreVisibleThroughTheFileButNotInTheRealFile) {
  auto f = Create(fs_.get(), "a");
  ASSERT_TRUE(f->Write(0, "hello").ok());
  EXPECT_EQ("hello", Contents(f.get()));
  EXPECT_EQ(5u, *f->Size());
  EXPECT_EQ("", ReadFileBytes(Path("a")));  // the OS has not seen a byte

  ASSERT_TRUE(f->Sync().ok());
  EXPECT_EQ("hello", ReadFileBytes(Path("a")));

  ASSERT_TRUE(f->Write(5, " world").ok());
  EXPECT_EQ("hello world", Contents(f.get()));
  EXPECT_EQ("hello", ReadFileBytes(Path("a")));
  ASSERT_TRUE(f->Sync().ok());
  EXPECT_EQ("hello world", ReadFileBytes(Path("a")));
}

TEST_F(PowerLossFileSystemTest, ClosingAFileDropsItsUnsyncedBytes) {
  auto f = Create(fs_.get(), "a");
  ASSERT_TRUE(f->Write(0, "durable").ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Write(0, "DUR").ok());
  ASSERT_TRUE(f->Write(7, " and lost").ok());
  f.reset();  // as the process dying would: the destructor writes nothing
  EXPECT_EQ("durable", ReadFileBytes(Path("a")));
  Result<std::unique_ptr<File>> again = fs_->OpenFile(Path("a"), OpenMode::kOpenExisting);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ("durable", Contents(again->get()));
}

TEST_F(PowerLossFileSystemTest, OverlappingWritesMergeAndTheLastWins) {
  auto f = Create(fs_.get(), "a");
  ASSERT_TRUE(f->Write(10, "jjjjj").ok());     // [10, 15)
  ASSERT_TRUE(f->Write(0, "aaaaa").ok());      // [0, 5), before it
  ASSERT_TRUE(f->Write(20, "xxxxx").ok());     // [20, 25), after it
  ASSERT_TRUE(f->Write(3, "BBBBBBBBB").ok());  // [3, 12): over the end of one, start of another
  ASSERT_TRUE(f->Write(15, "ccccc").ok());     // [15, 20): touches both neighbours
  ASSERT_TRUE(f->Write(22, "D").ok());         // inside one
  ASSERT_TRUE(f->Write(24, "EE").ok());        // past its end by one
  const std::string want = std::string("aaaBBBBBBBBBjjjcccccxxDxEE");
  EXPECT_EQ(want, Contents(f.get()));
  EXPECT_EQ("", ReadFileBytes(Path("a")));
  ASSERT_TRUE(f->Sync().ok());
  EXPECT_EQ(want, ReadFileBytes(Path("a")));
  EXPECT_EQ(want, Contents(f.get()));

  // One write over everything, then one inside it.
  ASSERT_TRUE(f->Write(30, "yy").ok());
  ASSERT_TRUE(f->Write(1, std::string(40, 'Z')).ok());
  ASSERT_TRUE(f->Write(2, "q").ok());
  EXPECT_EQ("a" + std::string(1, 'Z') + "q" + std::string(38, 'Z'), Contents(f.get()));
  EXPECT_EQ(want, ReadFileBytes(Path("a")));
}

TEST_F(PowerLossFileSystemTest, ReadsSpanPendingAndOnDiskBytesAndGapsReadAsZeros) {
  auto f = Create(fs_.get(), "a");
  ASSERT_TRUE(f->Write(0, "0123456789").ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Write(3, "ab").ok());
  ASSERT_TRUE(f->Write(12, "XY").ok());  // past the real end: [10, 12) reads as zeros
  EXPECT_EQ(14u, *f->Size());
  std::string got;
  ASSERT_TRUE(f->Read(0, 100, &got).ok());
  EXPECT_EQ(std::string("012ab56789\0\0XY", 14), got);
  ASSERT_TRUE(f->Read(4, 7, &got).ok());  // inside a pending extent, then disk, then a gap
  EXPECT_EQ(std::string("b56789\0", 7), got);
  ASSERT_TRUE(f->Read(13, 5, &got).ok());  // short at the end
  EXPECT_EQ("Y", got);
  ASSERT_TRUE(f->Read(20, 5, &got).ok());  // past the end
  EXPECT_EQ("", got);
  EXPECT_EQ("0123456789", ReadFileBytes(Path("a")));
  ASSERT_TRUE(f->Sync().ok());
  EXPECT_EQ(std::string("012ab56789\0\0XY", 14), ReadFileBytes(Path("a")));
}

TEST_F(PowerLossFileSystemTest, TruncateDropsPendingBytesPastTheNewSize) {
  auto f = Create(fs_.get(), "a");
  ASSERT_TRUE(f->Write(0, "abcdef").ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Write(4, "EFGHIJ").ok());
  ASSERT_TRUE(f->Write(20, "far").ok());
  ASSERT_TRUE(f->Truncate(8).ok());
  EXPECT_EQ(8u, *f->Size());
  EXPECT_EQ("abcdEFGH", Contents(f.get()));
  ASSERT_TRUE(f->Sync().ok());
  EXPECT_EQ("abcdEFGH", ReadFileBytes(Path("a")));
  // Growing: zeros, with pending bytes still on top.
  ASSERT_TRUE(f->Write(9, "z").ok());
  ASSERT_TRUE(f->Truncate(12).ok());
  EXPECT_EQ(std::string("abcdEFGH\0z\0\0", 12), Contents(f.get()));
}

TEST_F(PowerLossFileSystemTest, RandomWritesTruncatesAndSyncsMatchAModel) {
  auto f = Create(fs_.get(), "a");
  std::string model;    // what the process must see
  std::string durable;  // what the real file must hold
  std::mt19937 rng(42);
  for (int step = 0; step < 3000; ++step) {
    const uint32_t op = rng() % 20;
    if (op < 16) {
      const uint64_t offset = rng() % 300;
      std::string data(1 + rng() % 60, '\0');
      for (char& c : data) c = static_cast<char>('a' + rng() % 26);
      ASSERT_TRUE(f->Write(offset, data).ok());
      if (model.size() < offset + data.size()) model.resize(offset + data.size(), '\0');
      model.replace(offset, data.size(), data);
    } else if (op < 19) {
      ASSERT_TRUE(f->Sync().ok());
      durable = model;
    } else {
      const uint64_t size = rng() % 350;
      ASSERT_TRUE(f->Truncate(size).ok());
      model.resize(size, '\0');
      durable.resize(size, '\0');  // Truncate reaches the real file at once
    }
    ASSERT_EQ(model, Contents(f.get())) << "step " << step;
    ASSERT_EQ(durable, ReadFileBytes(Path("a"))) << "step " << step;
    const uint64_t at = rng() % 400, n = rng() % 100;
    std::string got;
    ASSERT_TRUE(f->Read(at, n, &got).ok());
    ASSERT_EQ(at >= model.size() ? "" : model.substr(at, n), got) << "step " << step;
  }
}

TEST_F(PowerLossFileSystemTest, DirectoryOperationsPassThrough) {
  ASSERT_TRUE(fs_->CreateDir(Path("d/e")).ok());
  auto f = Create(fs_.get(), "d/e/x");
  ASSERT_NE(nullptr, f);
  ASSERT_TRUE(fs_->Rename(Path("d/e/x"), Path("d/e/y")).ok());
  ASSERT_TRUE(fs_->SyncDir(Path("d/e")).ok());
  Result<std::vector<std::string>> names = fs_->ListDir(Path("d/e"));
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(std::vector<std::string>{"y"}, *names);
  Result<std::unique_ptr<FileLock>> lock = fs_->LockFile(Path("d/LOCK"));
  ASSERT_TRUE(lock.ok());
  EXPECT_FALSE(fs_->LockFile(Path("d/LOCK")).ok());  // held
  ASSERT_TRUE(fs_->RemoveFile(Path("d/e/y")).ok());
  EXPECT_FALSE(fs_->OpenFile(Path("d/e/y"), OpenMode::kOpenExisting).ok());
}

TEST_F(PowerLossFileSystemTest, ConcurrentUseIsSafe) {
  // Run under TSan: threads with files of their own (as the flusher and the event loop use
  // the file system), and two threads on one shared file.
  auto shared = Create(fs_.get(), "shared");
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto f = Create(fs_.get(), "own" + std::to_string(t));
      for (int i = 0; i < 200; ++i) {
        EXPECT_TRUE(f->Write(static_cast<uint64_t>(i) * 3, "abc").ok());
        if (i % 20 == 0) {
          EXPECT_TRUE(f->Sync().ok());
        }
        std::string got;
        EXPECT_TRUE(shared->Read(0, 64, &got).ok());
        if (t < 2) {
          EXPECT_TRUE(shared->Write(static_cast<uint64_t>(t * 32 + i % 32), "s").ok());
        }
      }
      EXPECT_TRUE(f->Sync().ok());
      EXPECT_EQ(600u, ReadFileBytes(Path("own" + std::to_string(t))).size());
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(std::string(64, 's'), Contents(shared.get()));
}

// ---- The Log on top: exactly the durable records survive a dropped process ----------------

// A FileSystem over another whose file Sync() can be made to fail (without reaching the inner
// Sync, so the power-loss file keeps its bytes pending) or to kill the process.
class SyncGateFileSystem final : public ForwardingFileSystem {
 public:
  enum Mode { kPass, kFail, kKillProcess };

  explicit SyncGateFileSystem(FileSystem* inner) : ForwardingFileSystem(inner) {}
  void set_mode(Mode m) { mode_.store(m); }

  Result<std::unique_ptr<File>> OpenFile(const std::string& path, OpenMode mode) override {
    KV2PC_ASSIGN_OR_RETURN(std::unique_ptr<File> f, inner()->OpenFile(path, mode));
    return std::unique_ptr<File>(std::make_unique<GatedFile>(this, std::move(f)));
  }

 private:
  class GatedFile final : public File {
   public:
    GatedFile(SyncGateFileSystem* fs, std::unique_ptr<File> inner)
        : fs_(fs), inner_(std::move(inner)) {}
    Status Read(uint64_t offset, size_t n, std::string* dst) override {
      return inner_->Read(offset, n, dst);
    }
    Status Write(uint64_t offset, std::string_view data) override {
      return inner_->Write(offset, data);
    }
    Status Sync() override {
      switch (fs_->mode_.load()) {
        case kPass:
          return inner_->Sync();
        case kFail:
          return Status::IOError("fdatasync: injected failure (EIO)");
        case kKillProcess:
          raise(SIGKILL);  // the process dies between its pwrite and its fdatasync
      }
      return Status::Internal("unreachable");
    }
    Result<uint64_t> Size() override { return inner_->Size(); }
    Status Truncate(uint64_t size) override { return inner_->Truncate(size); }

   private:
    SyncGateFileSystem* const fs_;
    const std::unique_ptr<File> inner_;
  };

  std::atomic<Mode> mode_{kPass};
};

class PowerLossLogTest : public PowerLossFileSystemTest {
 protected:
  LogOptions Options(FileSystem* fs, const std::string& dir = "wal") const {
    LogOptions o;
    o.dir = Path(dir);
    o.segment_size = uint64_t{64} << 10;  // no rotation in these tests
    o.fs = fs;
    o.sync = true;
    return o;
  }

  // The records a fresh process finds, reading through the real POSIX file system.
  std::vector<Rec> RecoverWithPosix() {
    std::unique_ptr<FileSystem> posix = NewPosixFileSystem();
    std::vector<Rec> records;
    Result<std::unique_ptr<Log>> log = OpenCollect(Options(posix.get()), &records);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return records;
  }

  // The bytes of every file of the log directory, concatenated, as the OS has them.
  std::string RealLogBytes(const std::string& dir = "wal") const {
    std::string all;
    std::unique_ptr<FileSystem> posix = NewPosixFileSystem();
    Result<std::vector<std::string>> names = posix->ListDir(Path(dir));
    EXPECT_TRUE(names.ok());
    if (names.ok()) {
      for (const std::string& n : *names) all += ReadFileBytes(JoinPath(Path(dir), n));
    }
    return all;
  }

  // In a child process: opens the log through `power_loss` (else the POSIX file system),
  // makes LSNs 1..durable durable, appends up to `last`, and is killed (SIGKILL) at the next
  // fdatasync. Returns once the child is gone; false if it did not die of SIGKILL.
  bool RunAndKillChild(bool power_loss, Lsn durable, Lsn last) {
    const pid_t pid = fork();
    if (pid == 0) {
      std::unique_ptr<FileSystem> inner =
          power_loss ? NewPowerLossFileSystem() : NewPosixFileSystem();
      SyncGateFileSystem gate(inner.get());
      std::vector<Rec> ignored;
      Result<std::unique_ptr<Log>> log = OpenCollect(Options(&gate), &ignored);
      if (!log.ok()) _exit(2);
      for (Lsn lsn = 1; lsn <= durable; ++lsn) {
        if (!(*log)->Append(1, TestPayload(lsn)).ok()) _exit(3);
      }
      if (!(*log)->WaitDurable(durable).ok()) _exit(4);
      gate.set_mode(SyncGateFileSystem::kKillProcess);
      for (Lsn lsn = durable + 1; lsn <= last; ++lsn) {
        if (!(*log)->Append(1, TestPayload(lsn)).ok()) _exit(5);
      }
      (void)(*log)->WaitDurable(last);  // never returns: the flusher's Sync kills us
      _exit(6);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return false;
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  }
};

TEST_F(PowerLossLogTest, DroppedProcessStateKeepsExactlyTheDurableRecords) {
  SyncGateFileSystem gate(fs_.get());
  std::vector<Rec> ignored;
  Result<std::unique_ptr<Log>> log = OpenCollect(Options(&gate), &ignored);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  for (Lsn lsn = 1; lsn <= 10; ++lsn) ASSERT_TRUE((*log)->Append(1, TestPayload(lsn)).ok());
  ASSERT_TRUE((*log)->WaitDurable(10).ok());

  // The next batches are written (into memory) but their fdatasync never happens.
  gate.set_mode(SyncGateFileSystem::kFail);
  ASSERT_TRUE((*log)->Append(1, TestPayload(11)).ok());
  for (Lsn lsn = 12; lsn <= 20; ++lsn) {
    if (!(*log)->Append(1, TestPayload(lsn)).ok()) break;  // the log may have failed already
  }
  EXPECT_TRUE((*log)->WaitDurable(11).IsIOError());
  EXPECT_EQ(10u, (*log)->durable_lsn());
  const std::string on_disk = RealLogBytes();
  EXPECT_NE(std::string::npos, on_disk.find(TestPayload(10)));
  EXPECT_EQ(std::string::npos, on_disk.find(TestPayload(11)));  // the OS never saw it

  log->reset();  // a failed log syncs nothing more (I9); the Files drop their pending bytes
  std::vector<Rec> records = RecoverWithPosix();
  ASSERT_EQ(10u, records.size());
  for (Lsn lsn = 1; lsn <= 10; ++lsn) {
    EXPECT_EQ(lsn, records[lsn - 1].lsn);
    EXPECT_EQ(TestPayload(lsn), records[lsn - 1].payload);
  }
}

TEST_F(PowerLossLogTest, KilledProcessKeepsExactlyTheDurableRecords) {
  ASSERT_TRUE(RunAndKillChild(/*power_loss=*/true, 10, 20));
  std::vector<Rec> records = RecoverWithPosix();
  ASSERT_EQ(10u, records.size());
  for (Lsn lsn = 1; lsn <= 10; ++lsn) EXPECT_EQ(TestPayload(lsn), records[lsn - 1].payload);
}

TEST_F(PowerLossLogTest, WithoutItAKilledProcessKeepsUnsyncedRecords) {
  // The reason this file system exists: on the real one, the OS still writes back what a
  // killed process wrote, fdatasync or not, so a kill -9 test cannot see a missing sync.
  ASSERT_TRUE(RunAndKillChild(/*power_loss=*/false, 10, 20));
  std::vector<Rec> records = RecoverWithPosix();
  EXPECT_GT(records.size(), 10u);  // at least the first batch after LSN 10 survived
}

// ---- NewDefaultFileSystem ----------------------------------------------------------------

// Sets (or with nullptr unsets) KV2PC_SIMULATE_POWER_LOSS. Only while no other thread runs.
void SetSimulateEnv(const char* value) {
  if (value == nullptr) {
    unsetenv("KV2PC_SIMULATE_POWER_LOSS");  // NOLINT(concurrency-mt-unsafe): single-threaded
  } else {
    setenv("KV2PC_SIMULATE_POWER_LOSS", value, 1);  // NOLINT(concurrency-mt-unsafe): same
  }
}

TEST_F(PowerLossLogTest, DefaultFileSystemFollowsTheEnvironment) {
  // A write reaches the real file at once on the POSIX file system, not on the power-loss one.
  auto reaches_os_unsynced = [&](const char* value, const std::string& name) {
    SetSimulateEnv(value);
    std::unique_ptr<FileSystem> fs = NewDefaultFileSystem();
    auto f = Create(fs.get(), name);
    EXPECT_TRUE(f->Write(0, "x").ok());
    return ReadFileBytes(Path(name)) == "x";
  };
  EXPECT_FALSE(reaches_os_unsynced("1", "a"));
  EXPECT_TRUE(reaches_os_unsynced("0", "b"));
  EXPECT_TRUE(reaches_os_unsynced("", "c"));
  EXPECT_TRUE(reaches_os_unsynced("yes", "d"));
  EXPECT_TRUE(reaches_os_unsynced(nullptr, "e"));

  // A Log without LogOptions::fs uses it. With sync off nothing is ever fdatasynced, so under
  // the simulation no record reaches the OS, while the POSIX file system writes it at once.
  auto record_reaches_os = [&](const char* value, const std::string& dir) {
    SetSimulateEnv(value);
    LogOptions o = Options(nullptr, dir);
    o.sync = false;
    std::vector<Rec> ignored;
    Result<std::unique_ptr<Log>> log = OpenCollect(o, &ignored);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    if (!log.ok()) return false;
    EXPECT_TRUE((*log)->WaitDurable(*(*log)->Append(1, TestPayload(1))).ok());
    return RealLogBytes(dir).find(TestPayload(1)) != std::string::npos;
  };
  EXPECT_FALSE(record_reaches_os("1", "wal-simulated"));
  EXPECT_TRUE(record_reaches_os(nullptr, "wal-posix"));
  SetSimulateEnv(nullptr);
}

}  // namespace
}  // namespace kv2pc::wal
