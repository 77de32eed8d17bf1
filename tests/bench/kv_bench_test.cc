// kv2pc-bench, run as a user would (fork/exec of the binary) against a real cluster: each
// workload for about two seconds with --json, then the cluster's data checked against what the
// bench reported; and its usage errors and the unreachable-cluster exit status.
//
// The data checks can fail if the bench miscounts: transfer moves money, so the sum of all
// balances after --load stays kInitialBalance per key; hot adds 1 to two hot keys per
// committed transaction, so their sum grows by exactly 2 per commit the bench counted (a
// commit is counted only when COMMIT was answered OK, warm-up and drain included in
// committed_total). Keys and values follow bench/workloads.h: "bench:%08d", balances
// "<n>|xxx...".
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "tests/testutil/cluster.h"
#include "tests/testutil/temp_dir.h"

namespace kv2pc {
namespace {

using testing::TempDir;
using testing::TestCluster;

constexpr int64_t kInitialBalance = 1000;  // bench/workloads.h
constexpr auto kRunLimit = std::chrono::seconds(60);

struct BenchRun {
  int exit_code = -1;  // -1: killed after kRunLimit
  std::string out;     // stdout
  std::string err;     // stderr
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs kv2pc-bench with `args`; stdout and stderr go to files in a temp dir. A run that takes
// longer than kRunLimit is killed (the bench must never hang).
BenchRun RunBench(std::vector<std::string> args) {
  TempDir dir;
  const std::string out_path = dir.path() + "/stdout";
  const std::string err_path = dir.path() + "/stderr";
  args.insert(args.begin(), std::string(KV2PC_BIN_DIR) + "/kv2pc-bench");
  BenchRun run;
  const pid_t pid = fork();
  if (pid < 0) return run;
  if (pid == 0) {
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out >= 0) dup2(out, 1);
    if (err >= 0) dup2(err, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + kRunLimit;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) != pid) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      status = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (status != -1 && WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  run.out = ReadFile(out_path);
  run.err = ReadFile(err_path);
  return run;
}

// The number after "key": in a flat reading of the JSON (every key the test reads is unique
// in the object). NaN when absent.
double Field(const std::string& json, const std::string& key) {
  const std::string needle = "\"" + key + "\":";
  const size_t at = json.find(needle);
  if (at == std::string::npos) return std::nan("");
  return std::strtod(json.c_str() + at + needle.size(), nullptr);
}

std::string KeyName(int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "bench:%08d", i);
  return buf;
}

int64_t Balance(const std::string& value) {
  return std::strtoll(value.substr(0, value.find('|')).c_str(), nullptr, 10);
}

class KvBenchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<TestCluster>(3);
    Status s = cluster_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    auto client = Client::Connect(ClientOptions{cluster_->coordinator(), 10000});
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(client).value();
  }

  // A short run of `workload` with --json, against the test cluster (found by its layout).
  BenchRun Bench(const std::string& workload, std::vector<std::string> extra) {
    std::vector<std::string> args{
        "--data-dir", cluster_->dir(), "--workload", workload,   "--clients", "8",     "--threads",
        "2",          "--duration",    "1.5",        "--warmup", "0.5",       "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunBench(args);
  }

  // The value of `key` in the cluster, or nullopt.
  std::optional<std::string> Get(const std::string& key) {
    auto v = client_->Get(key);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : std::nullopt;
  }

  // Checks the things every successful run has: exit 0, one JSON object on stdout, some
  // commits, no errors.
  static void ExpectGoodRun(const BenchRun& r) {
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_FALSE(r.out.empty()) << r.err;
    EXPECT_EQ(r.out.front(), '{') << r.out;
    EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "one JSON object, one line: " << r.out;
    EXPECT_GT(Field(r.out, "committed"), 0) << r.out;
    EXPECT_EQ(Field(r.out, "errors_total"), 0) << r.out << r.err;
    EXPECT_GE(Field(r.out, "committed_total"), Field(r.out, "committed")) << r.out;
  }

  std::unique_ptr<TestCluster> cluster_;
  std::unique_ptr<Client> client_;
};

TEST_F(KvBenchTest, SingleWritesValuesTheClusterHolds) {
  BenchRun r = Bench("single", {"--keys", "8", "--value-size", "40"});
  ExpectGoodRun(r);
  // Hundreds of commits over 8 keys write every one of them, with the bench's tagged values.
  int found = 0;
  for (int i = 0; i < 8; i++) {
    std::optional<std::string> v = Get(KeyName(i));
    if (!v) continue;
    found++;
    EXPECT_EQ(v->size(), 40u) << *v;
    EXPECT_EQ(v->front(), 'c') << *v;
    EXPECT_NE(v->find('|'), std::string::npos) << *v;
  }
  EXPECT_EQ(found, 8) << r.out;
}

TEST_F(KvBenchTest, TransferKeepsTheSumOfAllBalances) {
  // Both request styles (each run writes every key's initial balance first).
  for (const char* api : {"exec", "interactive"}) {
    BenchRun r = Bench("transfer", {"--load", "--keys", "64", "--api", api});
    ExpectGoodRun(r);
    EXPECT_GT(Field(r.out, "committed"), 0) << r.out;
    int64_t sum = 0;
    for (int i = 0; i < 64; i++) {
      std::optional<std::string> v = Get(KeyName(i));
      ASSERT_TRUE(v.has_value()) << "--load wrote every key: " << KeyName(i);
      sum += Balance(*v);
    }
    EXPECT_EQ(sum, 64 * kInitialBalance) << api << ": " << r.out;
  }
}

TEST_F(KvBenchTest, HotCountsExactlyTheCommitsTheClusterApplied) {
  BenchRun r = Bench("hot", {"--load", "--keys", "16", "--hot-keys", "4"});
  ExpectGoodRun(r);
  int64_t sum = 0;
  for (int i = 0; i < 4; i++) {
    std::optional<std::string> v = Get(KeyName(i));
    ASSERT_TRUE(v.has_value());
    sum += Balance(*v);
  }
  // Each committed transaction added 1 to two hot keys; aborted attempts added nothing.
  const auto committed_total = static_cast<int64_t>(Field(r.out, "committed_total"));
  EXPECT_EQ(sum, 4 * kInitialBalance + 2 * committed_total) << r.out;
  // The keys outside the hot set were loaded and never touched.
  EXPECT_EQ(Balance(Get(KeyName(10)).value_or("")), kInitialBalance);
}

TEST_F(KvBenchTest, ReadOnlyAndYcsbARun) {
  BenchRun ro = Bench("readonly", {"--load", "--keys", "100"});
  ExpectGoodRun(ro);
  EXPECT_EQ(Field(ro.out, "aborted"), 0) << "readers never conflict: " << ro.out;
  BenchRun y = Bench("ycsb-a", {"--keys", "100"});
  ExpectGoodRun(y);
}

TEST_F(KvBenchTest, FloorIsPrintedBesideTheMeasuredMedian) {
  for (const char* api : {"interactive", "exec"}) {
    BenchRun r = Bench("single", {"--floor", "--keys", "100", "--api", api});
    ExpectGoodRun(r);
    const double f = Field(r.out, "fsync_p50_ms");
    const double r_c = Field(r.out, "rtt_coordinator_p50_ms");
    const double r_p = Field(r.out, "rtt_participant_p50_ms");
    EXPECT_GT(f, 0) << r.out;
    EXPECT_GT(r_c, 0) << r.out;
    EXPECT_GT(r_p, 0) << r.out;
    // single (bench/floor.h): BEGIN, PUT, COMMIT = 3 r_c + 2 r_p + f (one key: one-phase
    // commit, one forced write); with EXEC one request whose PUT rides with the PREPARE =
    // r_c + r_p + f. The measured median is not compared with it: the disk's speed drifts
    // between the floor and the run.
    const bool exec = std::string(api) == "exec";
    EXPECT_NEAR(Field(r.out, "txn_floor_ms"), exec ? r_c + r_p + f : 3 * r_c + 2 * r_p + f, 1e-3)
        << r.out;
    EXPECT_NEAR(Field(r.out, "commit_floor_ms"), r_c + r_p + f, 1e-3) << r.out;
    EXPECT_GT(Field(r.out, "measured_p50_ms"), 0) << r.out;
    EXPECT_NE(r.err.find("transaction floor"), std::string::npos) << r.err;
    EXPECT_NE(r.out.find(std::string("\"api\":\"") + api + "\""), std::string::npos) << r.out;
  }
}

// ---- Errors: no cluster needed. ----

TEST(KvBenchUsageTest, BadCommandLinesExitTwo) {
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"--workload", "single", "--clients", "4"},  // no --duration
      {"--workload", "nope", "--clients", "4", "--duration", "1"},
      {"--workload", "single", "--clients", "0", "--duration", "1"},
      {"--workload", "single", "--clients", "many", "--duration", "1"},
      {"--workload", "single", "--clients", "4", "--duration", "-1"},
      {"--workload", "single", "--clients", "4", "--duration", "1", "--frobnicate"},
      {"--workload", "single", "--clients", "4", "--duration", "1", "extra"},
      {"--workload", "hot", "--clients", "4", "--duration", "1", "--hot-keys", "20", "--keys", "10",
       "--coordinator", "tcp://127.0.0.1:1"},
      // transfer needs the layout to find keys on different participants.
      {"--workload", "transfer", "--clients", "4", "--duration", "1", "--coordinator",
       "tcp://127.0.0.1:1", "--data-dir", "/nonexistent/kv2pc"},
  };
  for (const auto& args : bad) {
    BenchRun r = RunBench(args);
    std::string line;
    for (const auto& a : args) line += a + " ";
    EXPECT_EQ(r.exit_code, 2) << line << "\n" << r.err;
    EXPECT_NE(r.err.find("kv2pc-bench: "), std::string::npos) << line << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << line;
  }
}

TEST(KvBenchUsageTest, AnUnreachableClusterExitsThree) {
  TempDir empty;
  BenchRun no_layout = RunBench(
      {"--workload", "single", "--clients", "1", "--duration", "1", "--data-dir", empty.path()});
  EXPECT_EQ(no_layout.exit_code, 3) << no_layout.err;
  EXPECT_NE(no_layout.err.find("no kv2pc cluster found"), std::string::npos) << no_layout.err;

  const std::string nobody = "tcp://127.0.0.1:" + std::to_string(testing::FreePort());
  BenchRun no_answer = RunBench({"--workload", "single", "--clients", "1", "--duration", "1",
                                 "--coordinator", nobody, "--timeout-ms", "300"});
  EXPECT_EQ(no_answer.exit_code, 3) << no_answer.err;
  EXPECT_NE(no_answer.err.find("cannot reach"), std::string::npos) << no_answer.err;
}

}  // namespace
}  // namespace kv2pc
