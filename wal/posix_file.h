// The real FileSystem: POSIX calls (pread/pwrite, fdatasync, fsync on directories, rename,
// unlink, flock). See file.h for the contract and docs/wal-format.md for how the WAL uses it.
#pragma once

#include <memory>

#include "wal/file.h"

namespace kv2pc::wal {

// Returns a new POSIX file system. Stateless; any number may coexist.
std::unique_ptr<FileSystem> NewPosixFileSystem();

}  // namespace kv2pc::wal
