// Writing side of the WAL format: framing records (EncodeRecord), creating pre-allocated
// segment files, and the segment the log currently appends to (SegmentWriter). No threads and
// no policy here: Log (log.h) decides when to write, sync and rotate. docs/wal-format.md has
// the layouts; log.h's design note has the crash analysis of every step.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/types.h"
#include "wal/file.h"

namespace kv2pc::wal {

// Appends one framed record (header + payload) to *dst.
// REQUIRES: type != 0, payload.size() <= kMaxPayloadSize, durable_lsn < lsn.
void EncodeRecord(std::string* dst, uint8_t type, Lsn lsn, Lsn durable_lsn,
                  std::string_view payload);

// Writes zeros over [begin, end) of file with real writes (not holes), 1 MiB at a time.
Status WriteZeros(File* file, uint64_t begin, uint64_t end);

// The segment being appended to: a pre-allocated file of capacity() bytes whose records end at
// offset(). Not thread-safe: the log's flusher thread owns it.
class SegmentWriter {
 public:
  SegmentWriter(std::string path, Lsn first_lsn, std::unique_ptr<File> file, uint64_t offset,
                uint64_t capacity);
  SegmentWriter(const SegmentWriter&) = delete;
  SegmentWriter& operator=(const SegmentWriter&) = delete;

  const std::string& path() const { return path_; }
  Lsn first_lsn() const { return first_lsn_; }
  uint64_t offset() const { return offset_; }
  uint64_t capacity() const { return capacity_; }
  bool empty() const;  // no record written yet
  bool Fits(uint64_t n) const { return n <= capacity_ - offset_; }

  // Writes data at offset() and advances offset(). REQUIRES: Fits(data.size()).
  Status Append(std::string_view data);
  // fdatasync. After a failure the file's state is unknown: the caller must stop using it.
  Status Sync();
  // Grows the pre-allocated size to new_capacity (zeros written, not synced).
  // REQUIRES: new_capacity >= capacity().
  Status Grow(uint64_t new_capacity);

 private:
  const std::string path_;
  const Lsn first_lsn_;
  const std::unique_ptr<File> file_;
  uint64_t offset_;
  uint64_t capacity_;
};

// Creates dir/SegmentFileName(first_lsn) ready for appends and returns its writer. Either
//  - fresh (recycle_path empty): writes dir/TempFileName(first_lsn) full of zeros up to `size`,
//    then the header; or
//  - recycled: writes the header over the start of recycle_path (a *.recycle file of `size`
//    bytes; its stale records stay, and are never valid: (I6) in log.h);
// then syncs the file, renames it to its final name and syncs dir, so that a file bearing a
// segment name always has a complete, durable header ((I3) in log.h). With sync false the two
// syncs are skipped (tests that do not test durability).
Result<std::unique_ptr<SegmentWriter>> CreateSegment(FileSystem* fs, const std::string& dir,
                                                     Lsn first_lsn, uint64_t size,
                                                     const std::string& recycle_path, bool sync);

}  // namespace kv2pc::wal
