// Tests of the CLI's flag parsing and cluster discovery (client/cli_options.h).
#include "client/cli_options.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/testutil/temp_dir.h"

namespace kv2pc {
namespace {

using Args = std::vector<std::string>;

constexpr char kLayout[] =
    "# written by a test\n"
    "version 1\n"
    "node participant-0 participant tcp://127.0.0.1:7101\n"
    "node coordinator-1 coordinator tcp://127.0.0.1:7102\n"
    "node coordinator-0 coordinator tcp://127.0.0.1:7100\n";

CliFlags Parse(const Args& args) {
  Result<CliFlags> flags = ParseCliFlags(args);
  EXPECT_TRUE(flags.ok()) << flags.status().ToString();
  return flags.ok() ? *flags : CliFlags{};
}

TEST(CliOptionsTest, NoArgumentsMeansShellWithDefaults) {
  CliFlags flags = Parse({});
  EXPECT_TRUE(flags.command.empty());
  EXPECT_FALSE(flags.coordinator.has_value());
  EXPECT_FALSE(flags.data_dir.has_value());
  EXPECT_EQ(flags.timeout_ms, kDefaultTimeoutMs);
  EXPECT_FALSE(flags.raw);
}

TEST(CliOptionsTest, FlagsWithSpaceOrEqualsThenCommand) {
  CliFlags flags = Parse(
      {"--coordinator", "tcp://h:1", "--data-dir=/d", "--timeout-ms", "250", "--raw", "get", "k"});
  EXPECT_EQ(flags.coordinator, "tcp://h:1");
  EXPECT_EQ(flags.data_dir, "/d");
  EXPECT_EQ(flags.timeout_ms, 250);
  EXPECT_TRUE(flags.raw);
  EXPECT_EQ(flags.command, (Args{"get", "k"}));
}

TEST(CliOptionsTest, WordsAfterTheCommandAreNotFlags) {
  EXPECT_EQ(Parse({"put", "k", "--raw"}).command, (Args{"put", "k", "--raw"}));
  EXPECT_EQ(Parse({"--", "--odd"}).command, (Args{"--odd"}));
}

TEST(CliOptionsTest, HelpFlag) {
  EXPECT_TRUE(Parse({"-h"}).help);
  EXPECT_TRUE(Parse({"--help"}).help);
}

TEST(CliOptionsTest, BadFlagsAreInvalidArgument) {
  for (const Args& args :
       {Args{"--bogus"}, Args{"--coordinator"}, Args{"--timeout-ms", "0"},
        Args{"--timeout-ms", "12x"}, Args{"--timeout-ms=-5"}, Args{"--data-dir="}}) {
    Result<CliFlags> flags = ParseCliFlags(args);
    EXPECT_FALSE(flags.ok()) << args[0];
    EXPECT_TRUE(flags.status().IsInvalidArgument());
  }
}

TEST(CliOptionsTest, DataDirFromFlagThenEnvironmentThenDefault) {
  CliEnvironment env;
  EXPECT_EQ(DataDir(CliFlags{}, env), "./cluster-data");
  env.data_dir = "/env";
  EXPECT_EQ(DataDir(CliFlags{}, env), "/env");
  CliFlags flags;
  flags.data_dir = "/flag";
  EXPECT_EQ(DataDir(flags, env), "/flag");
}

TEST(CliOptionsTest, CoordinatorFlagWinsOverEverything) {
  testing::TempDir dir;
  dir.Write("cluster.conf", kLayout);
  CliFlags flags;
  flags.coordinator = "tcp://flag:1";
  flags.data_dir = dir.path();
  CliEnvironment env;
  env.coordinator = "tcp://env:2";
  Result<std::string> endpoint = FindCoordinator(flags, env);
  ASSERT_TRUE(endpoint.ok());
  EXPECT_EQ(*endpoint, "tcp://flag:1");
}

TEST(CliOptionsTest, EnvironmentWinsOverLayout) {
  testing::TempDir dir;
  dir.Write("cluster.conf", kLayout);
  CliFlags flags;
  flags.data_dir = dir.path();
  CliEnvironment env;
  env.coordinator = "tcp://env:2";
  Result<std::string> endpoint = FindCoordinator(flags, env);
  ASSERT_TRUE(endpoint.ok());
  EXPECT_EQ(*endpoint, "tcp://env:2");
}

TEST(CliOptionsTest, LayoutGivesCoordinatorZero) {
  testing::TempDir dir;
  dir.Write("cluster.conf", kLayout);
  CliEnvironment env;
  env.data_dir = dir.path();  // found through KV2PC_DATA_DIR
  Result<std::string> endpoint = FindCoordinator(CliFlags{}, env);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status().ToString();
  EXPECT_EQ(*endpoint, "tcp://127.0.0.1:7100");
}

TEST(CliOptionsTest, PingTargetByEndpointOrNodeName) {
  testing::TempDir dir;
  dir.Write("cluster.conf", kLayout);
  CliFlags flags;
  flags.data_dir = dir.path();
  Result<std::string> by_name = ResolvePingTarget("participant-0", flags, CliEnvironment{});
  ASSERT_TRUE(by_name.ok()) << by_name.status().ToString();
  EXPECT_EQ(*by_name, "tcp://127.0.0.1:7101");
  Result<std::string> by_endpoint = ResolvePingTarget("tcp://10.0.0.1:9", flags, CliEnvironment{});
  ASSERT_TRUE(by_endpoint.ok());
  EXPECT_EQ(*by_endpoint, "tcp://10.0.0.1:9");
}

// ---- Errors ----

TEST(CliOptionsTest, NoLayoutIsNotFoundWithAHint) {
  testing::TempDir dir;
  CliFlags flags;
  flags.data_dir = dir.path();
  Result<std::string> endpoint = FindCoordinator(flags, CliEnvironment{});
  ASSERT_FALSE(endpoint.ok());
  EXPECT_TRUE(endpoint.status().IsNotFound());
  EXPECT_EQ(endpoint.status().message(),
            "no kv2pc cluster found in " + dir.path() +
                " (start one with ./run_cluster.sh start, or pass --coordinator tcp://HOST:PORT)");
}

TEST(CliOptionsTest, BrokenLayoutIsInvalidArgumentNamingTheFile) {
  testing::TempDir dir;
  dir.Write("cluster.conf", "version 1\nnode coordinator-0 boss tcp://127.0.0.1:1\n");
  CliFlags flags;
  flags.data_dir = dir.path();
  Result<std::string> endpoint = FindCoordinator(flags, CliEnvironment{});
  ASSERT_FALSE(endpoint.ok());
  EXPECT_TRUE(endpoint.status().IsInvalidArgument());
  EXPECT_NE(endpoint.status().message().find("cluster.conf"), std::string::npos)
      << endpoint.status().message();
}

TEST(CliOptionsTest, UnknownNodeNameIsNotFound) {
  testing::TempDir dir;
  dir.Write("cluster.conf", kLayout);
  CliFlags flags;
  flags.data_dir = dir.path();
  Result<std::string> endpoint = ResolvePingTarget("participant-9", flags, CliEnvironment{});
  ASSERT_FALSE(endpoint.ok());
  EXPECT_TRUE(endpoint.status().IsNotFound());
  flags.data_dir = dir.path() + "/missing";
  EXPECT_TRUE(ResolvePingTarget("participant-0", flags, CliEnvironment{}).status().IsNotFound());
}

}  // namespace
}  // namespace kv2pc
