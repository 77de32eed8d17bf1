// The file-system seam of the WAL: every byte the log reads or writes, every fsync, rename and
// unlink goes through FileSystem, so tests can substitute a fault-injecting implementation
// (tests/testutil/faulty_fs.h: failing syncs, ENOSPC, power cuts that drop unsynced data)
// for the real one (posix_file.h). See docs/wal-format.md for how the log uses the calls.
//
// Contract shared by every implementation:
//  - All errors are returned as Status::IOError naming the path and the system error; nothing
//    throws. EINTR and short reads/writes are retried inside the call, never reported.
//  - A Sync() failure means the file's unsynced data may be lost; callers must not retry it
//    (see Log's design note). Durability of directory entries (create, rename, remove) needs
//    SyncDir() on the containing directory.
//  - Objects are not thread-safe unless stated; the log uses each File from one thread at a
//    time. FileSystem methods themselves are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kv2pc::wal {

// An open file read and written at explicit offsets (pread/pwrite): the WAL overwrites
// pre-allocated zeros in place, so there is no append position.
class File {
 public:
  File() = default;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  virtual ~File() = default;  // closes the file; unsynced data stays wherever the OS has it

  // Reads up to n bytes at offset into *dst (replacing its contents). Fewer bytes only at
  // end of file.
  virtual Status Read(uint64_t offset, size_t n, std::string* dst) = 0;
  // Writes all of data at offset, extending the file (with zeros before offset) if needed.
  virtual Status Write(uint64_t offset, std::string_view data) = 0;
  // Makes the file's data durable (fdatasync). Never retry a failure.
  virtual Status Sync() = 0;
  virtual Result<uint64_t> Size() = 0;
  virtual Status Truncate(uint64_t size) = 0;
};

// Held while a directory is in use; released by destruction.
class FileLock {
 public:
  FileLock() = default;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  virtual ~FileLock() = default;
};

class FileSystem {
 public:
  enum class OpenMode {
    kOpenExisting,  // NotFound-like IOError if missing
    kCreateNew,     // fails if the file exists (O_EXCL)
  };

  FileSystem() = default;
  FileSystem(const FileSystem&) = delete;
  FileSystem& operator=(const FileSystem&) = delete;
  virtual ~FileSystem() = default;

  virtual Result<std::unique_ptr<File>> OpenFile(const std::string& path, OpenMode mode) = 0;
  // Creates path and any missing parents; OK if it already exists as a directory.
  virtual Status CreateDir(const std::string& path) = 0;
  // Makes the directory's entries (creates, renames, removes inside it) durable (fsync).
  virtual Status SyncDir(const std::string& path) = 0;
  // Atomically replaces `to` (if present) with `from`.
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  // Names (not paths) of the entries of a directory, excluding "." and "..", in no order.
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;
  // Takes an exclusive advisory lock on path (creating it), so two processes -- or two Log
  // objects in one process -- never write the same log. IOError if already locked.
  virtual Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;
};

// Joins a directory and a name with exactly one '/'.
inline std::string JoinPath(std::string_view dir, std::string_view name) {
  std::string path(dir);
  if (!path.empty() && path.back() != '/') path += '/';
  path += name;
  return path;
}

// A FileSystem that forwards every call to another one: decorators (the power-loss file system,
// test seams) derive from it and override only what they change. Does not own `inner`.
class ForwardingFileSystem : public FileSystem {
 public:
  explicit ForwardingFileSystem(FileSystem* inner) : inner_(inner) {}

  Result<std::unique_ptr<File>> OpenFile(const std::string& path, OpenMode mode) override {
    return inner_->OpenFile(path, mode);
  }
  Status CreateDir(const std::string& path) override { return inner_->CreateDir(path); }
  Status SyncDir(const std::string& path) override { return inner_->SyncDir(path); }
  Status Rename(const std::string& from, const std::string& to) override {
    return inner_->Rename(from, to);
  }
  Status RemoveFile(const std::string& path) override { return inner_->RemoveFile(path); }
  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    return inner_->ListDir(path);
  }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    return inner_->LockFile(path);
  }

 protected:
  FileSystem* inner() const { return inner_; }

 private:
  FileSystem* const inner_;
};

}  // namespace kv2pc::wal
