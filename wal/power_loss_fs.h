// A FileSystem that simulates power loss for kill -9 tests: file writes stay in process memory
// until Sync(), so killing the process loses exactly what a power cut would have lost. Enabled
// in the servers by KV2PC_SIMULATE_POWER_LOSS=1 (NewDefaultFileSystem); docs/wal-format.md,
// "Simulating power loss (tests)", tells how the tests use it.
//
// DESIGN NOTE
//
// Why: kill -9 alone cannot show a missing fdatasync. The process dies, but the OS keeps its
// written pages and writes them back later, so a log that "forgot" to sync before voting YES
// still finds its PREPARE after restart. A power cut would have lost it. This file system makes
// a process crash behave like a power cut for the files it writes.
//
// How: it decorates the real POSIX file system (posix_file.h). File::Write does not reach the
// OS: the bytes are kept in the File object as pending extents (non-overlapping runs of bytes at
// file offsets; a later write over an earlier one wins, touching runs are merged). Read() and
// Size() overlay the pending extents on the real file, so the process sees its own writes as
// it would through the page cache. Sync() pwrite()s the pending extents through the real file,
// then fdatasync()s it, and forgets them. Destroying a File (closing it) drops its pending
// bytes without writing them.
//
// What a crash at each step leaves, for a file written through this file system:
//   1. After Write, before Sync: the bytes are only in this process; a kill loses all of them,
//      exactly like a power cut that drops every page written since the last fdatasync.
//   2. During Sync, between the pwrites and the fdatasync: the bytes are in the OS page cache,
//      which the kill does not drop, so they survive. A power cut at that instant might have
//      lost any of them; the caller cannot tell the two apart, since Sync never returned.
//   3. After Sync returns: the bytes are on disk (the real fdatasync ran).
//
// What it does NOT simulate (kill -9 still shows only the process-crash behaviour there):
//   - Directory entries. CreateDir, OpenFile(kCreateNew), Rename, RemoveFile, LockFile pass
//     straight to the OS, so they are durable at once as far as a kill can tell, SyncDir or
//     not. A missing SyncDir is not caught; FaultyFileSystem (tests/testutil/faulty_fs.h)
//     tests those paths in memory.
//   - Truncate and file size: Truncate reaches the real file at once (dropping pending bytes
//     past the new size), as if the size change had been synced.
//   - Partial loss: a real power cut may keep any subset of the unsynced sectors, or tear a
//     sector; this drops all of them. FaultyFileSystem's kKeepRandomSectors covers reordering.
//   - Sharing: pending bytes belong to one File object. Another File opened on the same path,
//     or another process (kv2pc-waldump), sees only the synced bytes. The WAL never reads
//     through one handle what it wrote through another without syncing first (log.h, I8).
//   - Files not written through wal::FileSystem, e.g. the participants' SQLite checkpoints:
//     SQLite does its own I/O, which a kill leaves in the OS page cache.
// Costs: pending bytes take memory until the next Sync (a new segment's pre-allocation is held
// whole, e.g. 64 MiB, until its first Sync); with LogOptions::sync false nothing is ever
// written. Only for tests.
#pragma once

#include <memory>

#include "wal/file.h"

namespace kv2pc::wal {

// Returns a power-loss file system over the real POSIX one (see above). Thread-safe, like
// every FileSystem; each File it opens is also thread-safe (one mutex per File), although the
// WAL uses each File from one thread at a time. Stateless apart from its open Files; any
// number may coexist.
std::unique_ptr<FileSystem> NewPowerLossFileSystem();

// The file system the WAL uses when LogOptions::fs is nullptr: NewPowerLossFileSystem() when
// the environment variable KV2PC_SIMULATE_POWER_LOSS is "1" (read at each call), otherwise
// NewPosixFileSystem(). Logs nothing. Reads the environment: must not race with setenv.
std::unique_ptr<FileSystem> NewDefaultFileSystem();

}  // namespace kv2pc::wal
