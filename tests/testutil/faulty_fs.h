// FaultyFileSystem: an in-memory wal::FileSystem for crash and error tests, in the spirit of
// LevelDB's db/fault_injection_test.cc and SQLite's test/crash*.test.
//
// It remembers, for every file, its contents as of the last Sync(), and for every directory
// its entries as of the last SyncDir(). A power cut keeps exactly that durable state (or, in
// kKeepRandomSectors mode, the durable state plus a random subset of the 512-byte sectors
// written since, as a disk that reorders writes would), forgets every other change, and kills
// every open handle. Directories themselves are created durable (tests open the log in an
// existing directory; the WAL syncs the parent anyway).
//
// It can also fail the Nth file Sync or directory SyncDir with EIO, fail writes with ENOSPC
// (or any errno), and crash at the Nth mutating call (write, sync, create, rename, remove), so
// a test can sweep every crash point of a workload. Thread-safe: one mutex serializes all
// calls, so the log's flusher thread and the test thread may use it concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "wal/file.h"

namespace kv2pc::testutil {

class FaultyFileSystem final : public wal::FileSystem {
 public:
  enum class PowerCutMode {
    kDropUnsynced,       // only what was synced survives
    kKeepRandomSectors,  // plus a random subset of the sectors written since the last sync
  };

  FaultyFileSystem() = default;
  ~FaultyFileSystem() override = default;

  // ---- Fault injection ------------------------------------------------------------------
  // The nth file Sync() from now (1 = the next one) fails with EIO; the data stays unsynced.
  void FailNthSync(int nth);
  // The nth SyncDir() from now fails with EIO; the entries stay unsynced.
  void FailNthDirSync(int nth);
  // The nth Write() from now and every later one fail with err (e.g. ENOSPC), writing nothing,
  // until ClearFaults().
  void FailWritesFrom(int nth, int err);
  // The nth mutating call from now (Write, Sync, SyncDir, create, Rename, RemoveFile) does not
  // happen: the power is cut just before it (see PowerCut) and it fails with EIO.
  void CrashAtMutation(uint64_t nth, PowerCutMode mode = PowerCutMode::kDropUnsynced,
                       uint32_t seed = 0);
  void ClearFaults();

  // Cuts the power now: every file and directory goes back to its durable state (see the file
  // comment), every open File fails with EIO from now on, and every call fails with EIO until
  // Restart().
  void PowerCut(PowerCutMode mode = PowerCutMode::kDropUnsynced, uint32_t seed = 0);
  // Powers the machine back on: calls work again (handles opened before the cut stay dead).
  void Restart();
  bool crashed() const;

  // ---- Inspection and direct manipulation (bypass faults and counters) ------------------
  int sync_count() const;           // file Syncs that succeeded so far
  uint64_t mutation_count() const;  // mutating calls attempted so far
  bool Exists(const std::string& path) const;
  // Current contents; empty string if missing.
  std::string Contents(const std::string& path) const;
  // Replaces the contents, current and durable, creating the file (durably) if needed.
  void SetContents(const std::string& path, const std::string& data);

  // ---- wal::FileSystem --------------------------------------------------------------------
  Result<std::unique_ptr<wal::File>> OpenFile(const std::string& path, OpenMode mode) override;
  Status CreateDir(const std::string& path) override;
  Status SyncDir(const std::string& path) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status RemoveFile(const std::string& path) override;
  Result<std::vector<std::string>> ListDir(const std::string& path) override;
  Result<std::unique_ptr<wal::FileLock>> LockFile(const std::string& path) override;

 private:
  class FaultyFile;
  class FaultyLock;

  struct Op {
    bool truncate = false;
    uint64_t offset = 0;  // write offset, or the new size for a truncate
    std::string bytes;
  };
  struct Inode {
    std::string data;    // what reads see now
    std::string synced;  // as of the last successful Sync
    std::vector<Op> unsynced;
  };
  using InodePtr = std::shared_ptr<Inode>;

  // REQUIRES: mu_ held. Counts a mutating call; returns EIO if it must not happen (crashed,
  // or this is the call chosen by CrashAtMutation, in which case the power is cut first).
  Status BeginMutation(const char* op, const std::string& path);
  // REQUIRES: mu_ held.
  void PowerCutLocked(PowerCutMode mode, uint32_t seed);
  Status CheckAlive(const char* op, const std::string& path) const;  // REQUIRES: mu_ held.
  bool ParentExists(const std::string& path) const;                  // REQUIRES: mu_ held.

  // File operations, called by FaultyFile with its inode and the generation it was opened in.
  Status FileRead(const InodePtr& inode, uint64_t gen, const std::string& path, uint64_t offset,
                  size_t n, std::string* dst);
  Status FileWrite(const InodePtr& inode, uint64_t gen, const std::string& path, uint64_t offset,
                   std::string_view data);
  Status FileSync(const InodePtr& inode, uint64_t gen, const std::string& path);
  Result<uint64_t> FileSize(const InodePtr& inode, uint64_t gen, const std::string& path);
  Status FileTruncate(const InodePtr& inode, uint64_t gen, const std::string& path, uint64_t size);

  // mu_ guards every field below.
  mutable std::mutex mu_;
  std::map<std::string, InodePtr> files_;          // current directory entries (full paths)
  std::map<std::string, InodePtr> durable_files_;  // entries as of each directory's last sync
  std::set<std::string> dirs_{"/", "."};
  std::set<std::string> locked_;
  uint64_t generation_ = 0;  // bumped by every power cut; older handles are dead
  bool crashed_ = false;     // between PowerCut and Restart
  int sync_count_ = 0;
  uint64_t mutation_count_ = 0;
  int fail_sync_in_ = 0;      // > 0: counts down to the failing Sync
  int fail_dir_sync_in_ = 0;  // > 0: counts down to the failing SyncDir
  int fail_writes_in_ = 0;    // > 0: counts down to the first failing Write
  bool failing_writes_ = false;
  int fail_writes_errno_ = 0;
  uint64_t crash_at_ = 0;  // > 0: absolute mutation_count_ at which to crash
  PowerCutMode crash_mode_ = PowerCutMode::kDropUnsynced;
  uint32_t crash_seed_ = 0;
};

}  // namespace kv2pc::testutil
