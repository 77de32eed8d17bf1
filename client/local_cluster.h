// LocalCluster: real kv2pc-coordinator and kv2pc-participant processes on this machine, for
// the integration tests and the CLI's own scratch clusters (`kv2pc crash-matrix`, `kv2pc-chaos`).
//
// Each cluster gets its own temporary directory (layout file, data dirs, one log file per
// node) and free 127.0.0.1 ports. Processes are started with fork/exec and ended only by the
// PIDs this object recorded: Kill() is SIGKILL (a crash), Stop() is SIGTERM. Nodes also die
// with the process that started them (PR_SET_PDEATHSIG), and the destructor kills whatever
// still runs, so nothing is left behind. Not thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace kv2pc {

// A port on 127.0.0.1 that was free a moment ago (bound to port 0 and released).
int FreePort();

// The directory of the running program, when it also holds kv2pc-coordinator and
// kv2pc-participant (a build's bin/): where a tool finds the servers it starts. IOError naming
// what is missing otherwise; `build_hint` ends that message (how to build them).
Result<std::string> ServerBinDir(const std::string& build_hint);

class LocalCluster {
 public:
  // `bin_dir` holds kv2pc-coordinator and kv2pc-participant. `coordinators` of them, named
  // coordinator-0..N-1, and `participants` participants go into the layout. The args are
  // added to the coordinators' and participants' command lines (e.g. short timeouts).
  // `keep_dir` leaves the directory (logs, data) behind for inspection. Fewer than one
  // coordinator or participant makes init_status() InvalidArgument (a braced `{}` meant for
  // the args but taken for `coordinators` lands here instead of running a cluster of none).
  LocalCluster(std::string bin_dir, int participants, int coordinators,
               std::vector<std::string> coordinator_args = {},
               std::vector<std::string> participant_args = {}, bool keep_dir = false);
  // The same with one coordinator.
  LocalCluster(std::string bin_dir, int participants,
               std::vector<std::string> coordinator_args = {},
               std::vector<std::string> participant_args = {}, bool keep_dir = false)
      : LocalCluster(std::move(bin_dir), participants, 1, std::move(coordinator_args),
                     std::move(participant_args), keep_dir) {}
  ~LocalCluster();
  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;

  // IOError when the directory could not be made, InvalidArgument for a cluster without a
  // coordinator or participant (then nothing else works).
  Status init_status() const { return init_status_; }

  // Starts every node, participants first (coordinators connect to them), and waits until
  // each answers PING.
  Status Start();
  Status StartNode(const std::string& name);
  // SIGKILL and wait for the process to be gone. Nodes die with the thread that started them
  // (PR_SET_PDEATHSIG follows the forking thread): start them from a thread that outlives them.
  void Kill(const std::string& name);
  // SIGTERM and wait (SIGKILL after 10 s).
  void Stop(const std::string& name);
  void StopAll();
  Status Restart(const std::string& name) {
    Stop(name);
    return StartNode(name);
  }
  bool Running(const std::string& name) const;
  // Waits up to `timeout_ms` for the node's process to end by itself (a crash fail point);
  // true if it did (the process is reaped and the node counts as stopped).
  bool WaitForExit(const std::string& name, int timeout_ms);

  static constexpr int kVnodes = 256;
  int vnodes() const { return kVnodes; }
  // coordinator-0's endpoint.
  std::string coordinator() const { return endpoints_.at("coordinator-0"); }
  const std::string& endpoint(const std::string& name) const { return endpoints_.at(name); }
  std::string data_dir(const std::string& name) const { return dir_ + "/" + name; }
  const std::string& dir() const { return dir_; }
  std::vector<std::string> participant_names() const;
  std::vector<std::string> coordinator_names() const;
  // Every node, coordinators first.
  const std::vector<std::string>& node_names() const { return names_; }
  // The running node's PID, or -1 when it is not running.
  pid_t pid(const std::string& name) const {
    auto it = pids_.find(name);
    return it == pids_.end() ? -1 : it->second;
  }
  std::string Logs() const;
  // Lines of the node logs in which a sanitizer (ASan, LSan, UBSan, TSan) reported an error;
  // empty when there are none. Tests assert on it so sanitizer builds check the servers too.
  std::string SanitizerReports() const;

 private:
  // True if the file at `path`, from byte `from` on, contains `text`.
  static bool LogSays(const std::string& path, uintmax_t from, const std::string& text);
  const std::string bin_dir_;
  const bool keep_dir_;
  std::string dir_;
  Status init_status_;
  std::vector<std::string> coordinator_args_;
  std::vector<std::string> participant_args_;
  std::vector<std::string> names_;  // coordinators first
  std::map<std::string, std::string> endpoints_;
  std::map<std::string, pid_t> pids_;
};

}  // namespace kv2pc
