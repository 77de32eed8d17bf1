// Cluster layout parsing.
#include "common/config.h"

#include <gtest/gtest.h>

namespace kv2pc {
namespace {

TEST(ClusterConfigTest, ParsesLayout) {
  auto c = ClusterConfig::Parse(
      "# comment\nversion 1\nvnodes 32\n"
      "node coordinator-0 coordinator tcp://127.0.0.1:7000\n"
      "node participant-0 participant tcp://127.0.0.1:7001  # trailing\n"
      "\n  node participant-1 participant tcp://10.0.0.2:7002\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->vnodes(), 32);
  EXPECT_EQ(c->participants().size(), 2u);
  EXPECT_EQ(c->coordinators().size(), 1u);
  ASSERT_NE(c->Find("participant-1"), nullptr);
  EXPECT_EQ(c->Find("participant-1")->endpoint, "tcp://10.0.0.2:7002");
  EXPECT_EQ(c->Find("nope"), nullptr);
}

TEST(ClusterConfigTest, RejectsBadLayouts) {
  const char* base = "node coordinator-0 coordinator tcp://127.0.0.1:7000\n";
  auto bad = [&](const std::string& extra) {
    return ClusterConfig::Parse(std::string(base) + extra).status();
  };
  EXPECT_FALSE(bad("").ok());                                           // no participant
  EXPECT_FALSE(bad("node p participant tcp://127.0.0.1:7000\n").ok());  // duplicate endpoint
  EXPECT_FALSE(bad("node coordinator-0 participant tcp://127.0.0.1:7001\n").ok());  // dup name
  EXPECT_FALSE(bad("node p participant tcp://127.0.0.1\n").ok());                   // no port
  EXPECT_FALSE(bad("node p participant tcp://127.0.0.1:99999\n").ok());             // bad port
  EXPECT_FALSE(bad("node p leader tcp://127.0.0.1:7001\n").ok());                   // bad role
  EXPECT_FALSE(bad("node boss coordinator tcp://127.0.0.1:7001\n").ok());  // bad coord name
  EXPECT_FALSE(bad("version 2\nnode p participant tcp://127.0.0.1:7001\n").ok());
  EXPECT_FALSE(bad("vnodes 0\nnode p participant tcp://127.0.0.1:7001\n").ok());
  EXPECT_FALSE(bad("frobnicate\nnode p participant tcp://127.0.0.1:7001\n").ok());
  Status s = bad("node p participant tcp://127.0.0.1:7001 extra\n");
  EXPECT_NE(s.message().find("line 2"), std::string::npos) << s.ToString();
}

TEST(ClusterConfigTest, CoordinatorIndex) {
  EXPECT_EQ(ClusterConfig::CoordinatorIndex("coordinator-0"), 0);
  EXPECT_EQ(ClusterConfig::CoordinatorIndex("coordinator-12"), 12);
  EXPECT_EQ(ClusterConfig::CoordinatorIndex("coordinator-"), -1);
  EXPECT_EQ(ClusterConfig::CoordinatorIndex("coordinator-01"), -1);
  EXPECT_EQ(ClusterConfig::CoordinatorIndex("participant-0"), -1);
}

TEST(ClusterConfigTest, LoadReportsMissingFile) {
  auto c = ClusterConfig::Load("/nonexistent/cluster.conf");
  EXPECT_TRUE(c.status().IsIOError());
}

}  // namespace
}  // namespace kv2pc
