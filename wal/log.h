// kv2pc's write-ahead log: an append-only sequence of records numbered by consecutive LSNs
// (1, 2, 3, ...; 0 means none), stored in pre-allocated segment files, made durable in batches
// by one flusher thread (group commit). Participants log PREPARE/COMMIT/ABORT, coordinators
// COMMIT decisions and END (record.h). Byte layout: docs/wal-format.md.
//
// DESIGN NOTE
//
// Files, all in LogOptions::dir:
//   wal-<16 hex first LSN>.log      segments, each starting with a header that repeats the
//                                   first LSN; records follow back to back; then zeros.
//   wal-<16 hex first LSN>.log.tmp  a segment being created; never read, deleted by Open.
//   wal-<16 hex old LSN>.recycle    a removed segment kept for reuse (RemoveSegmentsBefore).
//   LOCK                            flock()ed while a Log has the directory open.
//
// Write path: Append() frames the record into an in-memory buffer under mu_ and returns its
// LSN; it never touches the disk. The flusher thread takes the whole buffer, pwrite()s it into
// the active segment (rotating when a record does not fit), fdatasync()s once, advances
// durable_lsn(), wakes WaitDurable() callers and calls on_durable. One fdatasync covers every
// record appended before the flusher took the buffer, so under N concurrent appenders the cost
// per record falls towards fsync/N. Segments are pre-allocated (zeros really written, then
// synced) so a steady-state fdatasync flushes data blocks only, not file size or allocation.
//
// What a crash (process kill or power cut) at each step leaves, and what Open does about it:
//   1. During pwrite or before the batch's fdatasync returns: any subset of the batch's pages
//      may be on disk. Open keeps the valid prefix, warns, and zeroes the rest (torn tail). No
//      record of that batch had been reported durable, so nothing acknowledged is lost.
//   2. During rotation: the old segment is synced first (I2); the new one is written as *.tmp
//      (or is a *.recycle file), gets its header, is synced, renamed, and the directory is
//      synced (I3). A crash before the rename leaves a .tmp (deleted) or .recycle (reused);
//      after it, a valid empty segment. Either way the log reads the same records.
//   3. During RemoveSegmentsBefore: segments go oldest first with a directory sync after each,
//      so what survives is always a contiguous suffix of LSNs (I5).
//   4. During Open's own repairs (zeroing a torn tail): the next Open sees the same torn tail
//      or a clean one.
// Corruption before the tail -- a damaged record followed by one that proves it had been
// durable (I4), a gap in LSNs between segments, a damaged header of a non-last segment -- makes
// Open return Corruption naming the file and byte offset. It never skips data silently.
//
// Failure state machine (docs/wal-format.md, "Failure policy"):
//
//     OK ---- write error (ENOSPC, EIO), fdatasync or directory fsync failure ----> FAILED
//
//   OK -> FAILED: Fail(), called by the flusher (write, sync, rotation) or RemoveSegmentsBefore.
//   In OK: LSNs <= durable_lsn() are on disk and survive any crash.
//   In FAILED (terminal): durable_lsn() stays where it was and those records stay durable;
//   records above it may or may not survive; every waiter and every later Append gets the
//   failure; no further write or sync is issued. A failed fdatasync is never retried: Linux
//   may drop the dirty pages and clear the error, so a retry that succeeds proves nothing
//   (PostgreSQL "fsyncgate", 2018). The owner is expected to log failure() and exit; restart
//   recovers from what is on disk. EINTR and short writes are retried by the FileSystem.
//
// NOTES: invariants
//   (I1) durable_lsn_ <= last_lsn_, and durable_lsn_ only advances after the fdatasync of the
//        segment holding those records (and of every earlier segment, by I2) returned OK.
//   (I2) A segment is fdatasynced before its successor is created, so only the last segment
//        can end with a torn write, and a non-last segment ends exactly where the next begins.
//   (I3) A file bearing a segment name has a complete, synced header.
//   (I4) Every record carries the durable LSN at the time it was appended (< its LSN). A valid
//        record whose hint is >= E proves that LSN E had been fdatasynced before it was
//        written; so if record E is damaged, that is corruption, not a torn tail.
//   (I5) The segments on disk hold a contiguous range of LSNs.
//   (I6) Stale bytes of a recycled segment are never read as records: every stale record has
//        an LSN below the segment's first LSN, which ends the log.
//   (I7) Past its last record, the segment being appended to holds only zeros: Open zeroes
//        (and syncs) any torn or stale bytes there before the first append, so no leftover of
//        an unsynced write can ever line up with new records and pass as one of them.
//   (I8) Records handed to Open's visitor are durable: Open fdatasyncs every segment before
//        reading it (a process crash leaves data in the page cache, not yet on disk).
//   (I9) Once failed_ is set, nothing more is written or synced.
//
// Costs and rejected alternatives: Append frames (copies and checksums) the payload under mu_,
// so a 16 MiB record briefly blocks other appenders (TODO(wal): CRC outside the lock with
// crc32c combine). Segment creation (zero-fill + syncs) runs on the flusher thread and stalls
// commits meanwhile; recycling avoids it in steady state. Open reads one segment at a time
// into memory (up to segment_size bytes). The buffer of appended-but-unwritten records is not
// bounded: callers wait for durability before replying, which bounds it in practice.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/status.h"
#include "common/types.h"
#include "wal/file.h"
#include "wal/log_format.h"

namespace kv2pc::wal {

class SegmentWriter;

struct LogOptions {
  // Directory of the segment files; created (with parents) if missing.
  std::string dir;
  // Size of each pre-allocated segment file. A record too large for an empty segment gets a
  // segment of its own, as large as needed. At least kMinSegmentSize.
  uint64_t segment_size = kDefaultSegmentSize;
  // How many removed segments to keep for reuse instead of deleting them.
  size_t max_recycled_segments = 2;
  // nullptr: the real POSIX file system. Otherwise must outlive the Log.
  FileSystem* fs = nullptr;
  // Called after durable_lsn() advances or the log fails: on the flusher thread, or on the
  // thread of the call that failed the log. Must be cheap, thread-safe, must not call the
  // Log's blocking functions (WaitDurable) and must stay callable until ~Log returns (the
  // destructor's final flush calls it). For a failure it is called with the log's lock held,
  // before any caller can see the failure: it may read durable_lsn() and failed(), and call
  // nothing else of the Log. Servers write to an eventfd.
  std::function<void()> on_durable;
  // false skips every fdatasync and directory fsync: only for tests that do not test
  // durability.
  bool sync = true;
  // A record appended with AppendLazy is written and synced with the next forced record, or
  // this long after it was appended if none comes (or at once when someone waits for it).
  std::chrono::milliseconds lazy_flush_delay{10};
};

class Log {
 public:
  // Opens the log in options.dir (creating it if missing), recovers, and calls visit for every
  // valid record in LSN order (RecordView::payload is valid only during the call). Returns
  //   Corruption          damage before the tail, a gap between segments (names file, offset);
  //   FailedPrecondition  a segment written by a newer format version;
  //   IOError             the file system refused (or the directory is locked by another Log);
  //   InvalidArgument     bad options;
  //   or the first non-OK Status returned by visit.
  // On error, the records visited so far must be discarded. A torn tail is not an error: it
  // is logged as a warning and later appends overwrite it.
  static Result<std::unique_ptr<Log>> Open(const LogOptions& options, const RecordVisitor& visit);

  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;
  // Makes everything appended so far durable (unless failed), then stops the flusher.
  ~Log();

  // Queues a record and returns its LSN (last_lsn() + 1). Never waits for the disk; the
  // record is durable once durable_lsn() >= the LSN (see WaitDurable, on_durable). Returns
  //   InvalidArgument  type 0, or payload larger than kMaxPayloadSize;
  //   failure()        the log has failed.
  // Thread-safe.
  Result<Lsn> Append(uint8_t type, std::string_view payload);
  // As Append, for a record nobody waits for at once (a participant's COMMIT after the
  // decision, a coordinator's END): the flusher does not start a write for it, it goes with
  // the next forced record or after LogOptions::lazy_flush_delay. Under light load this halves
  // the fdatasyncs of a two-phase commit and keeps them off the next transaction's path.
  Result<Lsn> AppendLazy(uint8_t type, std::string_view payload);

  // Every record with LSN <= durable_lsn() is on disk. Thread-safe, never blocks.
  Lsn durable_lsn() const { return durable_lsn_.load(std::memory_order_acquire); }
  // The last LSN assigned (by Append or found by Open). Thread-safe.
  Lsn last_lsn() const;
  // OK unless the log has failed; then the error that failed it. Thread-safe.
  Status failure() const;
  bool failed() const { return failed_.load(std::memory_order_acquire); }

  // Blocks until lsn is durable (OK) or the log fails with lsn not durable (failure()).
  // InvalidArgument if lsn > last_lsn(). Thread-safe; for tools, tests and shutdown --
  // servers use on_durable instead.
  Status WaitDurable(Lsn lsn);

  // Deletes, or keeps for recycling, every segment whose records all have LSN < lsn (never the
  // segment being appended to). Used after a checkpoint made those records unnecessary.
  // IOError if a rename/unlink fails (the log stays usable); a failed directory fsync fails
  // the log. Thread-safe.
  Status RemoveSegmentsBefore(Lsn lsn);

  // The segment files currently part of the log, oldest first (for tests and tools).
  std::vector<std::string> SegmentPaths() const;

 private:
  struct Segment {
    Lsn first_lsn;
    std::string path;
    uint64_t size;
  };

  explicit Log(const LogOptions& options);

  Status Recover(const RecordVisitor& visit);
  Result<Lsn> AppendRecord(uint8_t type, std::string_view payload, bool force);
  // Creates the active segment starting at first_lsn, reusing a recycled file if possible.
  // REQUIRES: called by Open or the flusher; files_mu_ not held.
  Status StartSegment(Lsn first_lsn, uint64_t min_size);
  void FlusherMain();
  // Writes one batch (records with LSNs first_lsn, first_lsn + 1, ... of the given sizes),
  // rotating as needed. REQUIRES: flusher thread.
  Status WriteBatch(std::string_view batch, const std::vector<uint32_t>& sizes, Lsn first_lsn);
  // Ends the active segment and starts the one for next_lsn, large enough for record_size.
  // REQUIRES: flusher thread.
  Status Rotate(Lsn next_lsn, uint64_t record_size);
  // OK -> FAILED (see the state machine above). Thread-safe; calls on_durable.
  void Fail(const Status& status);

  // Constant after construction.
  const LogOptions options_;
  std::unique_ptr<FileSystem> owned_fs_;  // set when options.fs was nullptr
  FileSystem* const fs_;
  std::unique_ptr<FileLock> dir_lock_;

  // Owned by Open until the flusher starts, then by the flusher thread alone.
  std::unique_ptr<SegmentWriter> active_;

  // files_mu_ guards the list of segment files and the recycle pool. Lock order: files_mu_
  // before mu_. Held across directory I/O (rename, unlink, SyncDir), so never by Append.
  mutable std::mutex files_mu_;
  std::vector<Segment> segments_;      // guarded by files_mu_; oldest first, back() is active
  std::vector<std::string> recycled_;  // guarded by files_mu_; paths of *.recycle files

  // mu_ guards the fields below it. Never held across disk I/O.
  mutable std::mutex mu_;
  // Signaled by Append (records to write) and ~Log (stopping_). Waited on by the flusher.
  std::condition_variable work_cv_;
  // Signaled (notify_all) by the flusher when durable_lsn_ advances, and by Fail(). Waited on
  // by WaitDurable.
  std::condition_variable durable_cv_;
  std::string buffer_;                  // guarded by mu_: framed records not yet taken
  std::vector<uint32_t> buffer_sizes_;  // guarded by mu_: framed size of each record in buffer_
  Lsn last_lsn_ = 0;                    // guarded by mu_
  // guarded by mu_: the buffer holds a forced record, or WaitDurable waits: flush now.
  bool forced_ = false;
  // guarded by mu_: when the first lazy record of the buffer was appended.
  std::chrono::steady_clock::time_point lazy_since_{};
  Status failure_;         // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  // Written only with mu_ held (so waiters on durable_cv_ cannot miss a change); read
  // anywhere without it.
  std::atomic<Lsn> durable_lsn_{0};
  std::atomic<bool> failed_{false};

  std::thread flusher_;  // started by Open, joined by ~Log
};

}  // namespace kv2pc::wal
