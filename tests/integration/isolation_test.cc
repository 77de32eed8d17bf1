// Serializability under concurrency, with real processes: many clients, real conflicts,
// retries through Client::RunTransaction (wait-die aborts are expected and retried).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "client/client.h"
#include "tests/testutil/cluster.h"

namespace kv2pc {
namespace {

using testing::TestCluster;

class IsolationTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (cluster_ == nullptr) return;
    cluster_->StopAll();
    EXPECT_EQ(cluster_->SanitizerReports(), "");
    if (HasFailure()) std::cerr << cluster_->Logs();
  }
  std::unique_ptr<Client> Connect() {
    auto c = Client::Connect(ClientOptions{cluster_->coordinator(), 30000});
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return std::move(c).value();
  }
  std::unique_ptr<TestCluster> cluster_;
};

TEST_F(IsolationTest, NoLostUpdatesUnderConcurrentIncrements) {
  cluster_ = std::make_unique<TestCluster>(3);
  ASSERT_TRUE(cluster_->Start().ok()) << cluster_->Logs();
  constexpr int kClients = 16, kIncrements = 200;
  std::atomic<int> failures{0}, retries{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; c++) {
    threads.emplace_back([&] {
      auto client = Connect();
      for (int i = 0; i < kIncrements; i++) {
        Status s = client->RunTransaction([](Client& cl, const TxnId& txn) -> Status {
          auto v = cl.Get(txn, "counter");
          if (!v.ok()) return v.status();
          int n = v->has_value() ? std::stoi(**v) : 0;
          return cl.Put(txn, "counter", std::to_string(n + 1));
        });
        if (!s.ok()) failures++;
        retries += client->last_attempts() - 1;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto client = Connect();
  auto v = client->Get("counter");
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v->has_value());
  EXPECT_EQ(**v, std::to_string(kClients * kIncrements));
  std::cerr << "retried attempts: " << retries.load() << "\n";
}

}  // namespace
}  // namespace kv2pc
