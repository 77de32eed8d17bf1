// A server's data directory: created if missing and locked (flock on <dir>/LOCK) for the life
// of the process, so two servers can never share one directory (as LevelDB's LOCK file).
#pragma once

#include <memory>
#include <string>

#include "common/status.h"

namespace kv2pc {

class DataDirLock {
 public:
  // Creates `dir` (with parents) and takes the lock. Unavailable when another process holds
  // it, IOError when the directory or file cannot be made.
  static Result<std::unique_ptr<DataDirLock>> Acquire(const std::string& dir);
  ~DataDirLock();  // releases the lock
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_;
};

// Writes `contents` to `path` atomically and durably: a temporary file is written and
// fsynced, renamed over `path`, and the directory fsynced. A crash leaves the old or the new
// contents, never a mix.
Status WriteFileDurably(const std::string& path, const std::string& contents);

}  // namespace kv2pc
