// Write-ahead log: see the design note in log.h and docs/wal-format.md.
#include "wal/log.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "wal/log_reader.h"
#include "wal/log_writer.h"
#include "wal/power_loss_fs.h"

namespace kv2pc::wal {
namespace {

constexpr uint64_t kSizeAlignment = 4096;
// The flusher keeps its batch buffer between batches unless it grew beyond this.
constexpr size_t kMaxIdleBufferBytes = 4 << 20;

uint64_t RoundUp(uint64_t n, uint64_t unit) { return (n + unit - 1) / unit * unit; }

// The directory containing dir, for making dir's own entry durable.
std::string ParentDir(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  size_t slash = dir.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return dir.substr(0, slash);
}

}  // namespace

Log::Log(const LogOptions& options)
    : options_(options),
      owned_fs_(options.fs == nullptr ? NewDefaultFileSystem() : nullptr),
      fs_(options.fs == nullptr ? owned_fs_.get() : options.fs) {}

Result<std::unique_ptr<Log>> Log::Open(const LogOptions& options, const RecordVisitor& visit) {
  if (options.dir.empty()) return Status::InvalidArgument("LogOptions::dir is empty");
  if (options.segment_size < kMinSegmentSize) {
    return Status::InvalidArgument("LogOptions::segment_size " +
                                   std::to_string(options.segment_size) + " is below the minimum " +
                                   std::to_string(kMinSegmentSize));
  }
  std::unique_ptr<Log> log(new Log(options));
  KV2PC_RETURN_IF_ERROR(log->Recover(visit).WithContext("opening WAL " + options.dir));
  log->flusher_ = std::thread(&Log::FlusherMain, log.get());
  return log;
}

Log::~Log() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
}

Status Log::Recover(const RecordVisitor& visit) {
  const std::string& dir = options_.dir;
  KV2PC_RETURN_IF_ERROR(fs_->CreateDir(dir));
  if (options_.sync) KV2PC_RETURN_IF_ERROR(fs_->SyncDir(ParentDir(dir)));
  KV2PC_ASSIGN_OR_RETURN(dir_lock_, fs_->LockFile(JoinPath(dir, "LOCK")));
  KV2PC_ASSIGN_OR_RETURN(LogScan log, ScanLog(fs_, dir, options_.sync, visit));

  // Repairs, now that everything has been read without error.
  bool dir_changed = false;
  for (const std::string& name : log.temp_names) {
    // An interrupted segment creation (step 2 in log.h): never part of the log.
    KV2PC_RETURN_IF_ERROR(fs_->RemoveFile(JoinPath(dir, name)));
    dir_changed = true;
  }
  if (!log.abandoned_path.empty()) {
    spdlog::warn("wal: {}; no records follow, so its creation was interrupted: recreating",
                 log.abandoned_reason);
    KV2PC_RETURN_IF_ERROR(fs_->RemoveFile(log.abandoned_path));
    dir_changed = true;
  }
  for (size_t i = 0; i < log.segments.size(); ++i) {
    const ScannedSegment& seg = log.segments[i];
    // The last readable segment is appended to, unless an abandoned one followed it.
    const bool is_active = i + 1 == log.segments.size() && log.abandoned_path.empty();
    const uint64_t capacity = is_active ? std::max(seg.size, options_.segment_size) : seg.size;
    {
      std::lock_guard<std::mutex> lock(files_mu_);
      segments_.push_back({seg.first_lsn, seg.path, capacity});
    }
    if (!is_active) continue;
    File* file = log.last_file.get();
    bool wrote = false;
    if (seg.scan.torn) {
      spdlog::warn("wal: {}: torn tail at offset {} after LSN {} ({}); zeroing {} bytes", seg.path,
                   seg.scan.end_offset, seg.scan.last_lsn, seg.scan.stop_reason,
                   seg.scan.dirty_end - seg.scan.end_offset);
    }
    if (seg.scan.dirty_end > seg.scan.end_offset) {  // torn bytes, or stale ones if recycled
      KV2PC_RETURN_IF_ERROR(WriteZeros(file, seg.scan.end_offset, seg.scan.dirty_end));  // (I7)
      wrote = true;
    }
    if (seg.size < capacity) {  // restore the pre-allocation (e.g. the file was truncated)
      KV2PC_RETURN_IF_ERROR(WriteZeros(file, seg.size, capacity));
      wrote = true;
    }
    if (wrote && options_.sync) KV2PC_RETURN_IF_ERROR(file->Sync());  // (I7)
    active_ = std::make_unique<SegmentWriter>(seg.path, seg.first_lsn, std::move(log.last_file),
                                              seg.scan.end_offset, capacity);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_lsn_ = log.next_lsn - 1;
    durable_lsn_.store(last_lsn_, std::memory_order_release);
  }

  // A recycle file is safe to reuse only if all its stale records have LSNs below every LSN
  // the log will write (I6). RemoveSegmentsBefore only recycles segments older than the oldest
  // remaining one; a recycle file that is not (a log reset by hand) is deleted instead.
  const Lsn oldest_first = log.segments.empty() ? 0 : log.segments.front().first_lsn;
  for (const std::string& name : log.recycle_names) {
    const std::string path = JoinPath(dir, name);
    KV2PC_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                           fs_->OpenFile(path, FileSystem::OpenMode::kOpenExisting));
    KV2PC_ASSIGN_OR_RETURN(uint64_t size, file->Size());
    const bool older = ParseRecycleFileName(name).value_or(UINT64_MAX) < oldest_first;
    std::lock_guard<std::mutex> lock(files_mu_);
    if (older && size == options_.segment_size &&
        recycled_.size() < options_.max_recycled_segments) {
      recycled_.push_back(path);
    } else {
      KV2PC_RETURN_IF_ERROR(fs_->RemoveFile(path));
      dir_changed = true;
    }
  }
  if (active_ == nullptr) return StartSegment(log.next_lsn, 0);  // syncs the directory itself
  if (dir_changed && options_.sync) KV2PC_RETURN_IF_ERROR(fs_->SyncDir(dir));
  return Status::OK();
}

Status Log::StartSegment(Lsn first_lsn, uint64_t min_size) {
  const uint64_t size = std::max(options_.segment_size, min_size);
  std::string recycle_path;
  {
    std::lock_guard<std::mutex> lock(files_mu_);
    if (size == options_.segment_size && !recycled_.empty()) {
      recycle_path = std::move(recycled_.back());
      recycled_.pop_back();
    }
  }
  KV2PC_ASSIGN_OR_RETURN(
      active_, CreateSegment(fs_, options_.dir, first_lsn, size, recycle_path, options_.sync));
  std::lock_guard<std::mutex> lock(files_mu_);
  segments_.push_back({first_lsn, active_->path(), size});
  return Status::OK();
}

Result<Lsn> Log::Append(uint8_t type, std::string_view payload) {
  return AppendRecord(type, payload, /*force=*/true);
}

Result<Lsn> Log::AppendLazy(uint8_t type, std::string_view payload) {
  return AppendRecord(type, payload, /*force=*/false);
}

Result<Lsn> Log::AppendRecord(uint8_t type, std::string_view payload, bool force) {
  if (type == 0) return Status::InvalidArgument("WAL record type 0 is reserved");
  if (payload.size() > kMaxPayloadSize) {
    return Status::InvalidArgument("WAL record payload of " + std::to_string(payload.size()) +
                                   " bytes exceeds the maximum of " +
                                   std::to_string(kMaxPayloadSize));
  }
  Lsn lsn;
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failure_.ok()) return failure_;
    if (stopping_) return Status::FailedPrecondition("WAL is closing");
    lsn = last_lsn_ + 1;
    // (I4) The hint is read under mu_, where the flusher advances it.
    EncodeRecord(&buffer_, type, lsn, durable_lsn_.load(std::memory_order_relaxed), payload);
    buffer_sizes_.push_back(static_cast<uint32_t>(kRecordHeaderSize + payload.size()));
    last_lsn_ = lsn;
    // The flusher sleeps while there is nothing forced: wake it for the first forced record,
    // and for the first lazy one (to start its lazy_flush_delay clock).
    const bool was_empty = buffer_sizes_.size() == 1;
    if (was_empty && !force) lazy_since_ = std::chrono::steady_clock::now();
    wake = (force && !forced_) || was_empty;
    forced_ = forced_ || force;
  }
  if (wake) work_cv_.notify_one();
  return lsn;
}

Lsn Log::last_lsn() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_lsn_;
}

Status Log::failure() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failure_;
}

Status Log::WaitDurable(Lsn lsn) {
  std::unique_lock<std::mutex> lock(mu_);
  if (lsn > last_lsn_) {
    return Status::InvalidArgument("WaitDurable(" + std::to_string(lsn) +
                                   "): beyond the last LSN " + std::to_string(last_lsn_));
  }
  if (durable_lsn_.load() < lsn && !forced_) {  // lazy records: flush them now
    forced_ = true;
    work_cv_.notify_one();
  }
  durable_cv_.wait(lock, [&] { return durable_lsn_.load() >= lsn || !failure_.ok(); });
  // Records that became durable before a failure stay durable.
  return durable_lsn_.load() >= lsn ? Status::OK() : failure_;
}

void Log::FlusherMain() {
  std::string batch;
  std::vector<uint32_t> sizes;
  for (;;) {
    Lsn first_lsn;
    Lsn last_lsn;
    {
      std::unique_lock<std::mutex> lock(mu_);
      // Flush when something forced is there, or the oldest lazy record has waited long enough.
      for (;;) {
        if (stopping_ || failed_.load()) break;
        if (buffer_sizes_.empty()) {
          // Nothing to write: a WaitDurable that set forced_ waits for the batch just written.
          forced_ = false;
          work_cv_.wait(lock);
          continue;
        }
        if (forced_) break;
        const auto due = lazy_since_ + options_.lazy_flush_delay;
        if (std::chrono::steady_clock::now() >= due) break;
        work_cv_.wait_until(lock, due);
      }
      if (failed_.load() || buffer_sizes_.empty()) return;  // (I9), or stopping with nothing left
      forced_ = false;
      // Take everything appended so far; the swap hands our emptied buffers' capacity back.
      batch.clear();
      sizes.clear();
      batch.swap(buffer_);
      sizes.swap(buffer_sizes_);
      last_lsn = last_lsn_;
      first_lsn = last_lsn - sizes.size() + 1;
    }
    Status s = WriteBatch(batch, sizes, first_lsn);
    if (s.ok() && options_.sync) s = active_->Sync();  // one fdatasync for the whole batch
    if (batch.capacity() > kMaxIdleBufferBytes) batch = std::string();  // after a huge record
    if (!s.ok()) {
      Fail(s);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (failed_.load()) return;  // failed meanwhile (RemoveSegmentsBefore): durable_lsn_ stays
      durable_lsn_.store(last_lsn, std::memory_order_release);  // (I1)
    }
    // on_durable first: a WaitDurable caller that wakes can count on it having run.
    if (options_.on_durable) options_.on_durable();
    durable_cv_.notify_all();
  }
}

Status Log::WriteBatch(std::string_view batch, const std::vector<uint32_t>& sizes, Lsn first_lsn) {
  size_t pos = 0;
  size_t i = 0;
  while (i < sizes.size()) {
    // The longest run of whole records that fits in the active segment: one write.
    uint64_t n = 0;
    size_t j = i;
    while (j < sizes.size() && active_->Fits(n + sizes[j])) n += sizes[j++];
    if (j == i) {
      KV2PC_RETURN_IF_ERROR(Rotate(first_lsn + i, sizes[i]));
      continue;  // the record fits now: Rotate sized the new segment for it
    }
    KV2PC_RETURN_IF_ERROR(active_->Append(batch.substr(pos, n)));
    pos += n;
    i = j;
  }
  return Status::OK();
}

Status Log::Rotate(Lsn next_lsn, uint64_t record_size) {
  // Only a record too large for an ordinary segment makes a larger one.
  const uint64_t needed = kSegmentHeaderSize + record_size <= options_.segment_size
                              ? 0
                              : RoundUp(kSegmentHeaderSize + record_size, kSizeAlignment);
  if (active_->empty()) {
    // Not even an empty segment can hold the record. Grow this one in place: a successor
    // would need this segment's name, and a header-only segment would be left behind.
    KV2PC_RETURN_IF_ERROR(active_->Grow(needed));
    std::lock_guard<std::mutex> lock(files_mu_);
    segments_.back().size = needed;
    return Status::OK();
  }
  if (options_.sync) KV2PC_RETURN_IF_ERROR(active_->Sync());  // (I2)
  return StartSegment(next_lsn, needed);
}

Status Log::RemoveSegmentsBefore(Lsn lsn) {
  Status result;
  Status fatal;
  {
    std::lock_guard<std::mutex> lock(files_mu_);
    if (failed()) return failure();
    // segments_[0] holds LSNs [segments_[0].first_lsn, segments_[1].first_lsn).
    while (segments_.size() >= 2 && segments_[1].first_lsn <= lsn) {
      const Segment& oldest = segments_.front();
      std::string recycle_path;
      if (oldest.size == options_.segment_size &&
          recycled_.size() < options_.max_recycled_segments) {
        recycle_path = JoinPath(options_.dir, RecycleFileName(oldest.first_lsn));
        result = fs_->Rename(oldest.path, recycle_path);
      } else {
        result = fs_->RemoveFile(oldest.path);
      }
      if (!result.ok()) break;
      // (I5) One segment at a time, oldest first, each made durable before the next.
      if (options_.sync) {
        fatal = fs_->SyncDir(options_.dir);
        if (!fatal.ok()) break;
      }
      if (!recycle_path.empty()) recycled_.push_back(std::move(recycle_path));
      segments_.erase(segments_.begin());
    }
  }
  if (!fatal.ok()) {
    Fail(fatal);
    return failure();
  }
  return result;
}

std::vector<std::string> Log::SegmentPaths() const {
  std::lock_guard<std::mutex> lock(files_mu_);
  std::vector<std::string> paths;
  paths.reserve(segments_.size());
  for (const Segment& s : segments_) paths.push_back(s.path);
  return paths;
}

void Log::Fail(const Status& status) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failure_.ok()) return;  // already failed; the first error is the one reported
    failure_ = status.WithContext("write-ahead log failed");
    failed_.store(true, std::memory_order_release);
    // Under the lock, so that whoever sees the failure (a refused Append, a woken
    // WaitDurable) can count on on_durable having run for it.
    if (options_.on_durable) options_.on_durable();
  }
  spdlog::error("wal: {}: {}; no further writes (durable LSN {})", options_.dir, status.ToString(),
                durable_lsn());
  durable_cv_.notify_all();
  work_cv_.notify_all();
}

}  // namespace kv2pc::wal
