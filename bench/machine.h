// What a benchmark ran on, and where: the header every kv2pc benchmark prints (docs/benchmarks.md)
// and the scratch directory it measures in. An fdatasync figure means nothing without the
// disk's file system and the machine's load, so both are recorded with every result.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace kv2pc::bench {

struct MachineInfo {
  long nproc = 0;           // online CPUs
  std::string cpu_model;    // /proc/cpuinfo "model name" of the first CPU
  std::string kernel;       // uname -r
  std::string date_utc;     // ISO 8601, e.g. 2025-11-23T00:30:00Z
  double load_avg[3] = {};  // 1, 5 and 15 minute load averages (getloadavg)
};

MachineInfo GetMachineInfo();

// The 1, 5, 15 minute load averages now; -1 each if unavailable.
void LoadAverages(double out[3]);

// The share of the last 10 s in which some task waited for I/O (PSI, /proc/pressure/io
// "some avg10"), in percent; -1 if unavailable. Nonzero before a run means someone else is
// using the disk.
double IoPressureAvg10();

// Scheduler accounting of one thread (/proc/self/task/<tid>/schedstat): time it ran on a CPU
// and time it was runnable but waited for one. The wait is how a busy machine shows up in a
// latency: an fdatasync that completed but whose thread could not run yet.
struct SchedStat {
  int64_t cpu_ns = 0;
  int64_t wait_ns = 0;
};

// false if the thread has exited or the kernel does not keep schedstats.
bool ReadSchedStat(int tid, SchedStat* out);
// The calling thread's id (gettid).
int CurrentThreadId();
// The ids of this process's threads now.
std::vector<int> ThreadIds();

// The name of the file system holding path (statfs f_type): "ext4" (also ext2/ext3, which share
// the magic number), "xfs", "btrfs", "tmpfs", "overlay", ..., or "unknown (0x<hex>)".
// IOError if statfs fails.
Result<std::string> FileSystemName(const std::string& path);

// A fresh directory parent/<prefix>XXXXXX (mkdtemp), removed with everything in it when the
// ScratchDir is destroyed. Never removes parent itself.
class ScratchDir {
 public:
  // IOError if parent does not exist or mkdtemp fails.
  static Result<std::unique_ptr<ScratchDir>> Create(const std::string& parent,
                                                    const std::string& prefix);
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir();

  const std::string& path() const { return path_; }

 private:
  explicit ScratchDir(std::string path) : path_(std::move(path)) {}
  const std::string path_;
};

}  // namespace kv2pc::bench
