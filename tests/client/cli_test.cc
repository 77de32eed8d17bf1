// Tests of the kv2pc command line (client/cli.h), end to end against a fake coordinator.
#include "client/cli.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "tests/client/fake_coordinator.h"
#include "tests/testutil/temp_dir.h"

namespace kv2pc {
namespace {

using Args = std::vector<std::string>;

struct CliRun {
  int status;
  std::string out;
  std::string err;
};

CliRun RunWith(const Args& args, const CliEnvironment& env, const std::string& input = "") {
  std::istringstream in(input);
  std::ostringstream out, err;
  int status = RunCli(args, env, in, out, err, /*interactive=*/false);
  return {status, out.str(), err.str()};
}

class CliTest : public ::testing::Test {
 protected:
  CliTest() : fake_(TinyStore()) { env_.coordinator = fake_.endpoint(); }

  CliRun Cli(const Args& args, const std::string& input = "") { return RunWith(args, env_, input); }

  FakeCoordinator fake_;
  CliEnvironment env_;  // KV2PC_COORDINATOR points at the fake
};

TEST_F(CliTest, PutGetDel) {
  CliRun put = Cli({"put", "greeting", "hello world"});
  EXPECT_EQ(put.status, kExitOk) << put.err;
  EXPECT_EQ(put.out, "OK\n");
  CliRun get = Cli({"get", "greeting"});
  EXPECT_EQ(get.status, kExitOk);
  EXPECT_EQ(get.out, "hello world\n");
  CliRun del = Cli({"del", "greeting"});
  EXPECT_EQ(del.status, kExitOk);
  EXPECT_EQ(del.out, "OK\n");
}

TEST_F(CliTest, GetOfMissingKeyExitsOne) {
  CliRun get = Cli({"get", "nothing"});
  EXPECT_EQ(get.status, kExitNotFound);
  EXPECT_EQ(get.out, "");
  EXPECT_EQ(get.err, "(not found)\n");
}

TEST_F(CliTest, GetEscapesUnlessRaw) {
  const std::string binary("a\nb\xff\\", 5);
  ASSERT_EQ(Cli({"put", "bin", binary}).status, kExitOk);
  EXPECT_EQ(Cli({"get", "bin"}).out, "a\\x0ab\\xff\\\\\n");
  EXPECT_EQ(Cli({"--raw", "get", "bin"}).out, binary);
}

TEST_F(CliTest, CoordinatorFlagOverridesEnvironment) {
  CliEnvironment env;
  env.coordinator = DeadEndpoint();
  CliRun put = RunWith({"--coordinator", fake_.endpoint(), "put", "k", "v"}, env);
  EXPECT_EQ(put.status, kExitOk) << put.err;
}

TEST_F(CliTest, FindsTheCoordinatorInTheDataDir) {
  testing::TempDir dir;
  dir.Write("cluster.conf", "version 1\nnode coordinator-0 coordinator " + fake_.endpoint() +
                                "\nnode participant-0 participant tcp://127.0.0.1:1\n");
  CliRun put = RunWith({"--data-dir", dir.path(), "put", "k", "v"}, CliEnvironment{});
  EXPECT_EQ(put.status, kExitOk) << put.err;
}

TEST_F(CliTest, PingPrintsPong) {
  CliRun ping = Cli({"ping", fake_.endpoint()});
  EXPECT_EQ(ping.status, kExitOk) << ping.err;
  EXPECT_EQ(ping.out, "pong: coordinator-0 (coordinator)\n");
}

TEST_F(CliTest, ShellFromPipedInput) {
  CliRun shell = Cli({}, "begin\nput a 1\ncommit\nget a\n");
  EXPECT_EQ(shell.status, kExitOk) << shell.err;
  EXPECT_EQ(shell.out, "BEGIN T0.1.1\nOK\nCOMMITTED\n1\n");
}

TEST_F(CliTest, HelpGoesToStdout) {
  for (const Args& args : {Args{"help"}, Args{"--help"}}) {
    CliRun help = Cli(args);
    EXPECT_EQ(help.status, kExitOk);
    EXPECT_EQ(help.out.rfind("usage: kv2pc", 0), 0u);
  }
}

// ---- Errors ----

TEST_F(CliTest, NoClusterFoundExitsTwo) {
  testing::TempDir dir;
  CliRun get = RunWith({"--data-dir", dir.path(), "get", "k"}, CliEnvironment{});
  EXPECT_EQ(get.status, kExitUsage);
  EXPECT_EQ(get.err, "error: no kv2pc cluster found in " + dir.path() +
                         " (start one with ./run_cluster.sh start, or pass --coordinator "
                         "tcp://HOST:PORT)\n");
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  for (const Args& args : {Args{"--bogus"}, Args{"get"}, Args{"put", "k"}, Args{"frob"},
                           Args{"begin"}, Args{"ping"}, Args{"--timeout-ms", "x", "get", "k"}}) {
    CliRun run = Cli(args);
    EXPECT_EQ(run.status, kExitUsage) << args[0];
    EXPECT_EQ(run.err.rfind("error: ", 0), 0u) << run.err;
  }
}

TEST_F(CliTest, OperationErrorExitsThree) {
  CliRun put = Cli({"put", "locked", "v"});
  EXPECT_EQ(put.status, kExitError);
  EXPECT_EQ(put.out, "");
  EXPECT_EQ(put.err, "error: ABORTED (LOCK_TIMEOUT): lock wait on key 'locked' timed out\n");
}

TEST_F(CliTest, TimeoutExitsThree) {
  CliRun put = Cli({"--timeout-ms", "200", "put", "silent", "v"});
  EXPECT_EQ(put.status, kExitError);
  // A one-shot PUT commits: unanswered, its outcome is unknown (not a guessed failure).
  EXPECT_EQ(put.err.rfind("error: OUTCOME_UNKNOWN: no reply to PUT from ", 0), 0u) << put.err;
}

TEST_F(CliTest, TimeoutInsideShellTransactionLeavesIt) {
  CliRun shell = Cli({"--timeout-ms", "200"}, "begin\nget silent\n");
  EXPECT_EQ(shell.status, kExitError);
  EXPECT_EQ(shell.out, "BEGIN T0.1.1\n");
  EXPECT_NE(shell.err.find("transaction T0.1.1 is abandoned"), std::string::npos) << shell.err;
}

TEST_F(CliTest, PingWithoutAnswerExitsOne) {
  CliRun ping = Cli({"--timeout-ms", "100", "ping", DeadEndpoint()});
  EXPECT_EQ(ping.status, kExitNotFound);
  EXPECT_EQ(ping.out, "");
  EXPECT_EQ(ping.err.rfind("error: ", 0), 0u);
}

TEST_F(CliTest, PingOfUnknownNodeNameExitsTwo) {
  testing::TempDir dir;
  CliRun ping = RunWith({"--data-dir", dir.path(), "ping", "participant-0"}, CliEnvironment{});
  EXPECT_EQ(ping.status, kExitUsage);
}

TEST_F(CliTest, StatusWithoutClusterOrOfUnknownNodeExitsTwo) {
  testing::TempDir dir;
  CliRun all = RunWith({"--data-dir", dir.path(), "status"}, CliEnvironment{});
  EXPECT_EQ(all.status, kExitUsage);
  EXPECT_EQ(all.err.rfind("error: no cluster layout ", 0), 0u) << all.err;
  CliRun one = RunWith({"--data-dir", dir.path(), "status", "participant-9"}, CliEnvironment{});
  EXPECT_EQ(one.status, kExitUsage);
}

TEST_F(CliTest, StatusOfANodeThatDoesNotAnswerExitsThree) {
  CliRun run = Cli({"--timeout-ms", "100", "status", DeadEndpoint()});
  EXPECT_EQ(run.status, kExitError);
  EXPECT_NE(run.out.find(": no answer ("), std::string::npos) << run.out;
}

}  // namespace
}  // namespace kv2pc
