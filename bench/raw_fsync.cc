// See raw_fsync.h.
#include "bench/raw_fsync.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "bench/machine.h"

namespace kv2pc::bench {
namespace {

using Clock = std::chrono::steady_clock;

int64_t Ns(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

Status Errno(const std::string& what) {
  return Status::IOError(what + ": " + std::strerror(errno));
}

// pwrite all of [data, data + n) at offset, retrying EINTR and short writes.
Status WriteAll(int fd, const char* data, size_t n, off_t offset) {
  while (n > 0) {
    ssize_t r = ::pwrite(fd, data, n, offset);
    if (r < 0) {
      if (errno == EINTR) continue;
      return Errno("pwrite");
    }
    data += r;
    n -= static_cast<size_t>(r);
    offset += r;
  }
  return Status::OK();
}

Status SyncData(int fd) {
  while (::fdatasync(fd) != 0) {
    if (errno != EINTR) return Errno("fdatasync");
  }
  return Status::OK();
}

Status FillZeros(int fd, uint64_t size) {
  const std::vector<char> zeros(1 << 20, 0);
  for (uint64_t pos = 0; pos < size; pos += zeros.size()) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(zeros.size(), size - pos));
    KV2PC_RETURN_IF_ERROR(WriteAll(fd, zeros.data(), n, static_cast<off_t>(pos)));
  }
  // fsync, not fdatasync: the file size and allocation must be durable before the timed
  // overwrites, so that they flush data blocks only.
  if (::fsync(fd) != 0) return Errno("fsync");
  return Status::OK();
}

Status Run(int fd, const RawSyncOptions& options, RawSyncResult* result) {
  const std::vector<char> record(options.write_size, 'x');
  uint64_t offset = 0;  // kOverwrite: where the next write goes
  if (options.mode == RawSyncMode::kOverwrite) {
    KV2PC_RETURN_IF_ERROR(FillZeros(fd, options.file_size));
  }
  std::vector<int64_t> latencies;
  const int tid = CurrentThreadId();
  SchedStat sched_begin;
  SchedStat sched_end;
  bool timing = false;
  const Clock::time_point start = Clock::now();
  const Clock::time_point begin = start + std::chrono::duration_cast<Clock::duration>(
                                              std::chrono::duration<double>(options.warmup_s));
  const Clock::time_point end = begin + std::chrono::duration_cast<Clock::duration>(
                                            std::chrono::duration<double>(options.seconds));
  for (;;) {
    const Clock::time_point t0 = Clock::now();
    if (t0 >= end) break;
    if (!timing && t0 >= begin) timing = ReadSchedStat(tid, &sched_begin);
    if (options.mode == RawSyncMode::kAppend) {
      // O_APPEND: each write lands at the current end of file.
      KV2PC_RETURN_IF_ERROR(WriteAll(fd, record.data(), record.size(), 0));
    } else {
      if (offset + record.size() > options.file_size) offset = 0;
      KV2PC_RETURN_IF_ERROR(WriteAll(fd, record.data(), record.size(), static_cast<off_t>(offset)));
      offset += record.size();
    }
    KV2PC_RETURN_IF_ERROR(SyncData(fd));
    const Clock::time_point t1 = Clock::now();
    if (t0 >= begin) latencies.push_back(Ns(t1 - t0));
  }
  if (timing && ReadSchedStat(tid, &sched_end) && !latencies.empty()) {
    result->runq_wait_per_op_ms = static_cast<double>(sched_end.wait_ns - sched_begin.wait_ns) /
                                  1e6 / static_cast<double>(latencies.size());
  }
  result->ops_per_s = static_cast<double>(latencies.size()) / options.seconds;
  result->latency = Summarize(&latencies);
  return Status::OK();
}

}  // namespace

const char* RawSyncModeName(RawSyncMode mode) {
  return mode == RawSyncMode::kAppend ? "append" : "overwrite";
}

Result<RawSyncResult> MeasureRawSync(const RawSyncOptions& options) {
  const std::string path = options.dir + "/raw-" + RawSyncModeName(options.mode) + ".dat";
  int flags = O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC;
  if (options.mode == RawSyncMode::kAppend) flags |= O_APPEND;
  const int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) return Errno("open " + path);
  RawSyncResult result;
  Status s = Run(fd, options, &result);
  ::close(fd);
  ::unlink(path.c_str());
  if (!s.ok()) return s.WithContext(path);
  return result;
}

}  // namespace kv2pc::bench
