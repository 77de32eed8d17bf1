// The raw fdatasync rate of a disk: the ceiling a group-committing log is measured against
// (docs/benchmarks.md). Plain POSIX calls, no kv2pc code, so the figure is the disk's and the
// kernel's, not ours.
#pragma once

#include <cstdint>
#include <string>

#include "bench/stats.h"
#include "common/status.h"

namespace kv2pc::bench {

enum class RawSyncMode {
  // write() write_size bytes at the end of a growing file, then fdatasync: every sync must
  // also persist the new file size (a journal commit on ext4/xfs).
  kAppend,
  // pwrite() write_size bytes at increasing offsets into a file already filled with zeros and
  // synced, then fdatasync: only data blocks change. This is what wal::Log does.
  kOverwrite,
};

const char* RawSyncModeName(RawSyncMode mode);

struct RawSyncResult {
  double ops_per_s = 0;
  LatencySummary latency;  // write + fdatasync, per operation
  // Time the measuring thread was runnable but not running, per operation: the share of the
  // latency that is the machine's load, not the disk.
  double runq_wait_per_op_ms = 0;
};

struct RawSyncOptions {
  std::string dir;  // a scratch file is created (and removed) here
  RawSyncMode mode = RawSyncMode::kAppend;
  size_t write_size = 128;        // bytes per write
  double warmup_s = 0.5;          // operations run but not counted
  double seconds = 3;             // operations counted
  uint64_t file_size = 64 << 20;  // kOverwrite: size of the zero-filled file; wraps at its end
};

// Runs write + fdatasync in a loop for warmup_s + seconds. IOError if any call fails.
Result<RawSyncResult> MeasureRawSync(const RawSyncOptions& options);

}  // namespace kv2pc::bench
