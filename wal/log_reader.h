// Reads the records of one WAL segment held in memory, and decides how the segment ends:
// cleanly (zeros, end of file, stale bytes of a recycled segment), with a torn tail (a crash
// interrupted the last unsynced write), or with corruption (a record that had been durable is
// damaged). Log::Open (log.h) calls it for every segment in LSN order; kv2pc-waldump reuses it.
// The rules are in docs/wal-format.md, "Reading a segment" and "The torn-tail rule".
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/types.h"
#include "wal/file.h"
#include "wal/log_format.h"

namespace kv2pc::wal {

// How one segment's records end.
struct SegmentScan {
  // LSN of the last valid record, or first_lsn - 1 when the segment holds none.
  Lsn last_lsn = 0;
  // Offset just past the last valid record: where the next record goes.
  uint64_t end_offset = 0;
  // True when the bytes at end_offset are not a normal end (zeros, end of file, a stale record
  // of a recycled segment), or when a valid record with a later LSN lies further on: a crash
  // tore the last write. Worth a warning.
  bool torn = false;
  // Last segment only: offset just past the last non-zero byte at or after end_offset (equal to
  // end_offset if only zeros follow). The writer zeroes [end_offset, dirty_end) before its
  // first append, torn or stale bytes alike ((I7) in log.h).
  uint64_t dirty_end = 0;
  // Why reading stopped at end_offset, for warnings: "zero header", "checksum mismatch", ...
  std::string stop_reason;
};

// Reads the records of the segment whose whole file contents are `data` (header included),
// calling visit for each valid record in order. first_lsn is the header's (already checked).
// When is_last, also looks past the stop point for later valid records (see (I4) in log.h):
//  - one whose durable hint proves the stopped-at record had been durable -> Corruption;
//  - otherwise any found are leftovers of an unsynced write, and the tail is torn.
// Returns Corruption naming file_name and the byte offset, or the first non-OK visit status.
// Non-last segments are not searched: the caller checks that the next segment starts at
// last_lsn + 1, which catches a damaged record there.
Result<SegmentScan> ScanSegment(std::string_view file_name, std::string_view data, Lsn first_lsn,
                                bool is_last, const RecordVisitor& visit);

// True when some offset of data at or after `from` holds a record that is valid in itself
// (length, checksum, type) with an LSN in [min_lsn, max_lsn]. Used to tell a segment whose
// creation was interrupted (nothing there) from one whose header was damaged (records there).
bool ContainsRecordInRange(std::string_view data, uint64_t from, Lsn min_lsn, Lsn max_lsn);

// One segment of a scanned log.
struct ScannedSegment {
  Lsn first_lsn = 0;
  std::string path;
  uint64_t size = 0;  // file size
  SegmentScan scan;
};

// What ScanLog found in a log directory. Read-only: repairing is the caller's business.
struct LogScan {
  std::vector<ScannedSegment> segments;  // readable segments, oldest first
  std::unique_ptr<File> last_file;       // open handle on segments.back(), if any
  Lsn next_lsn = 1;                      // the LSN the next record gets
  // A last segment whose header is unusable and that holds no record: its creation was
  // interrupted. Not in `segments`; its first LSN is next_lsn. Empty if none.
  std::string abandoned_path;
  std::string abandoned_reason;
  std::vector<std::string> temp_names;     // *.log.tmp: interrupted creations
  std::vector<std::string> recycle_names;  // *.recycle: removed segments kept for reuse
};

// Reads every segment of the log in dir in LSN order, calling visit for each valid record, and
// checks that the segments are contiguous. With sync, fdatasyncs each segment before reading
// it ((I8) in log.h). Returns Corruption (naming file and offset) for damage before the tail or
// a gap, FailedPrecondition for a newer format version, IOError, or visit's first error.
Result<LogScan> ScanLog(FileSystem* fs, const std::string& dir, bool sync,
                        const RecordVisitor& visit);

}  // namespace kv2pc::wal
