// See machine.h.
#include "bench/machine.h"

#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <vector>

namespace kv2pc::bench {
namespace {

std::string Trim(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws));
  s.erase(s.find_last_not_of(ws) + 1);
  return s;
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    // x86 says "model name", some ARM kernels only "Processor" or "CPU part".
    if (line.rfind("model name", 0) == 0 || line.rfind("Processor", 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) return Trim(line.substr(colon + 1));
    }
  }
  return "unknown";
}

}  // namespace

double IoPressureAvg10() {
  std::ifstream in("/proc/pressure/io");
  std::string word;
  while (in >> word) {
    if (word.rfind("avg10=", 0) == 0) return std::atof(word.c_str() + 6);
  }
  return -1;
}

bool ReadSchedStat(int tid, SchedStat* out) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/schedstat");
  long long cpu = 0;
  long long wait = 0;
  if (!(in >> cpu >> wait)) return false;
  out->cpu_ns = cpu;
  out->wait_ns = wait;
  return true;
}

int CurrentThreadId() { return static_cast<int>(gettid()); }

std::vector<int> ThreadIds() {
  std::vector<int> ids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    ids.push_back(std::atoi(entry.path().filename().c_str()));
  }
  return ids;
}

void LoadAverages(double out[3]) {
  if (getloadavg(out, 3) != 3) out[0] = out[1] = out[2] = -1;
}

MachineInfo GetMachineInfo() {
  MachineInfo m;
  m.nproc = sysconf(_SC_NPROCESSORS_ONLN);
  m.cpu_model = CpuModel();
  struct utsname u;
  m.kernel = uname(&u) == 0 ? u.release : "unknown";
  std::time_t now = std::time(nullptr);
  std::tm tm;
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  m.date_utc = buf;
  LoadAverages(m.load_avg);
  return m;
}

Result<std::string> FileSystemName(const std::string& path) {
  struct statfs st;
  if (statfs(path.c_str(), &st) != 0) {
    return Status::IOError("statfs " + path + ": " + std::strerror(errno));
  }
  // Magic numbers from <linux/magic.h>, spelled out so the list reads as a table.
  struct Known {
    unsigned long magic;
    const char* name;
  };
  static constexpr Known kKnown[] = {
      {0xEF53, "ext4"},        {0x58465342, "xfs"},   {0x9123683E, "btrfs"}, {0x01021994, "tmpfs"},
      {0x794C7630, "overlay"}, {0x2FC12FC1, "zfs"},   {0xF2F52010, "f2fs"},  {0x6969, "nfs"},
      {0x65735546, "fuse"},    {0x858458F6, "ramfs"},
  };
  const auto type = static_cast<unsigned long>(st.f_type);
  for (const Known& k : kKnown) {
    if (k.magic == type) return std::string(k.name);
  }
  char buf[48];
  std::snprintf(buf, sizeof(buf), "unknown (0x%lx)", type);
  return std::string(buf);
}

Result<std::unique_ptr<ScratchDir>> ScratchDir::Create(const std::string& parent,
                                                       const std::string& prefix) {
  std::string tmpl = parent;
  if (!tmpl.empty() && tmpl.back() != '/') tmpl += '/';
  tmpl += prefix + "XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) {
    return Status::IOError("mkdtemp " + tmpl + ": " + std::strerror(errno));
  }
  return std::unique_ptr<ScratchDir>(new ScratchDir(buf.data()));
}

ScratchDir::~ScratchDir() {
  std::error_code ec;  // best effort: a benchmark's leftovers are not worth aborting over
  std::filesystem::remove_all(path_, ec);
}

}  // namespace kv2pc::bench
