// ClusterTest: a GoogleTest fixture for tests with a real TestCluster. TearDown stops the
// nodes in order (so leak checkers report too), fails the test on any sanitizer report from
// them, and prints the node logs when the test failed.
#pragma once

#include <gtest/gtest.h>

#include <iostream>
#include <memory>

#include "client/client.h"
#include "tests/testutil/cluster.h"

namespace kv2pc::testing {

class ClusterTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (cluster_ == nullptr) return;
    cluster_->StopAll();
    EXPECT_EQ(cluster_->SanitizerReports(), "");
    if (HasFailure()) std::cerr << cluster_->Logs();
  }
  // A client of coordinator-0; nullptr (and a test failure) when it cannot be created.
  std::unique_ptr<Client> NewClient(int timeout_ms = 30000) {
    auto c = Client::Connect(ClientOptions{cluster_->coordinator(), timeout_ms});
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c).value() : nullptr;
  }

  std::unique_ptr<TestCluster> cluster_;
};

}  // namespace kv2pc::testing
