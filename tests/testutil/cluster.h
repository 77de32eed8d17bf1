// TestCluster: real kv2pc-coordinator and kv2pc-participant processes for integration tests.
//
// Each cluster gets its own temporary directory (layout file, data dirs, one log file per
// node) and free 127.0.0.1 ports. Processes are started with fork/exec and ended only by
// the PIDs this object recorded: Kill() is SIGKILL (a crash), Stop() is SIGTERM. The
// destructor kills whatever is still running, so no test leaves a process behind; on a
// failing test the node logs are printed to help diagnosis.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "tests/testutil/temp_dir.h"

namespace kv2pc::testing {

// A port on 127.0.0.1 that was free a moment ago (bound to port 0 and released).
int FreePort();

class TestCluster {
 public:
  // The args are added to the coordinators' and participants' command lines (e.g. short
  // timeouts).
  explicit TestCluster(int participants, std::vector<std::string> coordinator_args = {},
                       std::vector<std::string> participant_args = {});
  ~TestCluster();
  TestCluster(const TestCluster&) = delete;
  TestCluster& operator=(const TestCluster&) = delete;

  // Starts every node and waits until each answers PING.
  Status Start();
  Status StartNode(const std::string& name);
  // SIGKILL and wait for the process to be gone.
  void Kill(const std::string& name);
  // SIGTERM and wait (SIGKILL after 10 s).
  void Stop(const std::string& name);
  void StopAll();
  Status Restart(const std::string& name) {
    Stop(name);
    return StartNode(name);
  }
  bool Running(const std::string& name) const;

  static constexpr int kVnodes = 256;
  int vnodes() const { return kVnodes; }
  std::string coordinator() const { return endpoints_.at("coordinator-0"); }
  const std::string& endpoint(const std::string& name) const { return endpoints_.at(name); }
  std::string data_dir(const std::string& name) const { return dir_.path() + "/" + name; }
  const std::string& dir() const { return dir_.path(); }
  std::vector<std::string> participant_names() const;
  std::string Logs() const;
  // Lines of the node logs in which a sanitizer (ASan, LSan, UBSan, TSan) reported an error;
  // empty when there are none. Tests assert on it so sanitizer builds check the servers too.
  std::string SanitizerReports() const;

 private:
  TempDir dir_;
  std::vector<std::string> coordinator_args_;
  std::vector<std::string> participant_args_;
  std::vector<std::string> names_;  // coordinators first
  std::map<std::string, std::string> endpoints_;
  std::map<std::string, pid_t> pids_;
};

}  // namespace kv2pc::testing
