// See local_cluster.h.
#include "client/local_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "client/client.h"

namespace kv2pc {

namespace {
// Binds 127.0.0.1:port (0 = any) and returns the port bound, or -1.
int TryBind(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  socklen_t len = sizeof(addr);
  int bound = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    bound = ntohs(addr.sin_port);
  }
  close(fd);
  return bound;
}

// The lowest port the kernel hands out for outgoing connections (32768 by default).
int EphemeralLow() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 0;
  return in >> low && low > 0 ? low : 32768;
}
}  // namespace

int FreePort() {
  // Below the ephemeral range: a port the kernel picked for us (bind to 0) comes from that
  // range, where any process's next outgoing connection (a ZeroMQ client's, say) may take it
  // before our node binds it -- then the node cannot start, or, worse, a client of this
  // cluster reaches another cluster's node. So try random ports just below the range first.
  static thread_local std::mt19937 rng(std::random_device{}());
  const int high = EphemeralLow() - 1;
  const int low = std::max(1024, high - 12000);
  if (high > low) {
    std::uniform_int_distribution<int> pick(low, high);
    for (int i = 0; i < 100; i++) {
      int port = TryBind(pick(rng));
      if (port > 0) return port;
    }
  }
  return TryBind(0);
}

Result<std::string> ServerBinDir(const std::string& build_hint) {
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return Status::IOError("cannot find this program's directory: " + ec.message());
  std::string dir = self.parent_path().string();
  for (const char* server : {"kv2pc-coordinator", "kv2pc-participant"}) {
    if (access((dir + "/" + server).c_str(), X_OK) != 0) {
      return Status::IOError(std::string(server) + " is not next to " + self.filename().string() +
                             " in " + dir + " (" + build_hint + ")");
    }
  }
  return dir;
}

LocalCluster::LocalCluster(std::string bin_dir, int participants, int coordinators,
                           std::vector<std::string> coordinator_args,
                           std::vector<std::string> participant_args, bool keep_dir)
    : bin_dir_(std::move(bin_dir)),
      keep_dir_(keep_dir),
      coordinator_args_(std::move(coordinator_args)),
      participant_args_(std::move(participant_args)) {
  if (coordinators < 1 || participants < 1) {
    init_status_ = Status::InvalidArgument(
        "a local cluster needs at least one coordinator and one participant (asked for " +
        std::to_string(coordinators) + " and " + std::to_string(participants) + ")");
    return;
  }
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/kv2pc-cluster-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    init_status_ =
        Status::IOError("cannot make a directory from " + tmpl + ": " + std::strerror(errno));
    return;
  }
  dir_ = tmpl;
  std::ostringstream conf;
  conf << "# local cluster\nversion 1\nvnodes " << kVnodes << "\n";
  std::set<int> taken;  // the kernel may hand out a just-released port again: never twice here
  auto add = [&](const std::string& name, const char* role) {
    int port = FreePort();
    for (int tries = 0; tries < 100 && (port <= 0 || taken.count(port)); tries++) port = FreePort();
    taken.insert(port);
    std::string endpoint = "tcp://127.0.0.1:" + std::to_string(port);
    names_.push_back(name);
    endpoints_[name] = endpoint;
    conf << "node " << name << " " << role << " " << endpoint << "\n";
  };
  for (int i = 0; i < coordinators; i++) add("coordinator-" + std::to_string(i), "coordinator");
  for (int i = 0; i < participants; i++) add("participant-" + std::to_string(i), "participant");
  std::ofstream(dir_ + "/cluster.conf") << conf.str();
}

LocalCluster::~LocalCluster() {
  for (auto& [name, pid] : pids_) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  if (!keep_dir_ && !dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::vector<std::string> LocalCluster::coordinator_names() const {
  std::vector<std::string> out;
  for (const auto& n : names_) {
    if (n.rfind("coordinator-", 0) == 0) out.push_back(n);
  }
  return out;
}

std::vector<std::string> LocalCluster::participant_names() const {
  std::vector<std::string> out;
  for (const auto& n : names_) {
    if (n.rfind("participant-", 0) == 0) out.push_back(n);
  }
  return out;
}

Status LocalCluster::Start() {
  if (!init_status_.ok()) return init_status_;
  // Participants first: the coordinators connect to them.
  for (const auto& n : participant_names()) KV2PC_RETURN_IF_ERROR(StartNode(n));
  for (const auto& n : coordinator_names()) KV2PC_RETURN_IF_ERROR(StartNode(n));
  return Status::OK();
}

Status LocalCluster::StartNode(const std::string& name) {
  if (!init_status_.ok()) return init_status_;
  if (Running(name)) return Status::FailedPrecondition(name + " is running");
  bool coordinator = name.rfind("coordinator-", 0) == 0;
  std::string bin = bin_dir_ + (coordinator ? "/kv2pc-coordinator" : "/kv2pc-participant");
  std::vector<std::string> args{
      bin,          "--config",     dir_ + "/cluster.conf", "--node", name,
      "--data-dir", data_dir(name), "--wal-segment-bytes",  "1048576"};
  const auto& extra = coordinator ? coordinator_args_ : participant_args_;
  args.insert(args.end(), extra.begin(), extra.end());
  std::string log = dir_ + "/" + name + ".log";
  // What the log holds already (a restart appends): readiness is read from what follows.
  std::error_code size_ec;
  const uintmax_t log_start =
      std::filesystem::exists(log) ? std::filesystem::file_size(log, size_ec) : 0;
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return Status::IOError("fork failed");
  if (pid == 0) {
    // If the test process dies without running our destructor (a crash, a sanitizer abort),
    // the kernel kills the node too: no test leaves a process behind. (The signal follows the
    // forking thread; tests start nodes from their main thread.)
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent died before prctl
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  pids_[name] = pid;
  // Ready when it answers PING (bounded: 15 s).
  for (int i = 0; i < 150; i++) {
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      pids_.erase(name);
      return Status::Unavailable(name + " exited during start-up; log:\n" + Logs());
    }
    // Ready when PING is answered and this run's log says it listens on its endpoint: a
    // PING answer alone might come from another process that holds the port.
    if (Client::Ping(endpoints_[name], 100).ok() &&
        LogSays(log, log_start, "listening on " + endpoints_[name])) {
      return Status::OK();
    }
  }
  return Status::TimedOut(name + " did not answer PING within 15 s");
}

bool LocalCluster::LogSays(const std::string& path, uintmax_t from, const std::string& text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  in.seekg(static_cast<std::streamoff>(from));
  std::stringstream rest;
  rest << in.rdbuf();
  return rest.str().find(text) != std::string::npos;
}

void LocalCluster::Kill(const std::string& name) {
  auto it = pids_.find(name);
  if (it == pids_.end()) return;
  kill(it->second, SIGKILL);
  waitpid(it->second, nullptr, 0);
  pids_.erase(it);
}

void LocalCluster::Stop(const std::string& name) {
  auto it = pids_.find(name);
  if (it == pids_.end()) return;
  kill(it->second, SIGTERM);
  for (int i = 0; i < 1000; i++) {
    if (waitpid(it->second, nullptr, WNOHANG) == it->second) {
      pids_.erase(it);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Kill(name);
}

void LocalCluster::StopAll() {
  for (const auto& n : names_) Stop(n);
}

bool LocalCluster::Running(const std::string& name) const { return pids_.count(name) > 0; }

bool LocalCluster::WaitForExit(const std::string& name, int timeout_ms) {
  auto it = pids_.find(name);
  if (it == pids_.end()) return true;
  for (int waited = 0; waited <= timeout_ms; waited += 10) {
    if (waitpid(it->second, nullptr, WNOHANG) == it->second) {
      pids_.erase(it);
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::string LocalCluster::Logs() const {
  std::string out;
  for (const auto& n : names_) {
    std::ifstream in(dir_ + "/" + n + ".log");
    std::stringstream ss;
    ss << in.rdbuf();
    out += "---- " + n + " ----\n" + ss.str();
  }
  return out;
}

std::string LocalCluster::SanitizerReports() const {
  std::string out;
  for (const auto& n : names_) {
    std::ifstream in(dir_ + "/" + n + ".log");
    std::string line;
    while (std::getline(in, line)) {
      if (line.find("Sanitizer") != std::string::npos ||
          line.find("runtime error:") != std::string::npos) {
        out += n + ": " + line + "\n";
      }
    }
  }
  return out;
}

}  // namespace kv2pc
