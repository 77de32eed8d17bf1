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

TEST_F(IsolationTest, WriteSkewIsPrevented) {
  // The classic on-call doctors: x + y >= 1 must hold. Each transaction reads both and, if
  // both are on call, takes itself off. Under snapshot isolation both could commit (x = y =
  // 0); under serializability one of them sees the other's write.
  cluster_ = std::make_unique<TestCluster>(2);
  ASSERT_TRUE(cluster_->Start().ok()) << cluster_->Logs();
  auto setup = Connect();
  for (int round = 0; round < 20; round++) {
    ASSERT_TRUE(setup
                    ->RunTransaction([](Client& c, const TxnId& t) -> Status {
                      KV2PC_RETURN_IF_ERROR(c.Put(t, "x", "1"));
                      return c.Put(t, "y", "1");
                    })
                    .ok());
    std::vector<std::thread> doctors;
    for (const char* me : {"x", "y"}) {
      doctors.emplace_back([this, me] {
        auto client = Connect();
        Status s = client->RunTransaction([me](Client& c, const TxnId& t) -> Status {
          auto x = c.Get(t, "x");
          if (!x.ok()) return x.status();
          auto y = c.Get(t, "y");
          if (!y.ok()) return y.status();
          if (std::stoi(**x) + std::stoi(**y) < 2) return Status::OK();  // someone is off
          return c.Put(t, me, "0");
        });
        EXPECT_TRUE(s.ok()) << s.ToString();
      });
    }
    for (auto& d : doctors) d.join();
    auto x = setup->Get("x");
    auto y = setup->Get("y");
    ASSERT_TRUE(x.ok() && y.ok());
    EXPECT_GE(std::stoi(**x) + std::stoi(**y), 1) << "write skew in round " << round;
  }
}

TEST_F(IsolationTest, UncommittedWritesAreNeverRead) {
  cluster_ = std::make_unique<TestCluster>(2);
  ASSERT_TRUE(cluster_->Start().ok()) << cluster_->Logs();
  auto writer = Connect();
  ASSERT_TRUE(writer->Put("k", "clean").ok());
  for (int round = 0; round < 5; round++) {
    auto t = writer->Begin();
    ASSERT_TRUE(t.ok());
    ASSERT_TRUE(writer->Put(*t, "k", "dirty").ok());
    std::string seen;
    std::thread reader([&] {
      auto client = Connect();
      Status s = client->RunTransaction([&](Client& c, const TxnId& rt) -> Status {
        auto v = c.Get(rt, "k");
        if (!v.ok()) return v.status();
        seen = v->value_or("(missing)");
        return Status::OK();
      });
      EXPECT_TRUE(s.ok()) << s.ToString();
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the reader tries meanwhile
    ASSERT_TRUE(writer->Abort(*t).ok());
    reader.join();
    EXPECT_EQ(seen, "clean") << "a dirty read in round " << round;
  }
}

}  // namespace
}  // namespace kv2pc
