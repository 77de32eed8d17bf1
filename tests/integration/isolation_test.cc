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

TEST_F(IsolationTest, ReadsRepeatWithinATransaction) {
  cluster_ = std::make_unique<TestCluster>(2);
  ASSERT_TRUE(cluster_->Start().ok()) << cluster_->Logs();
  auto reader = Connect();
  ASSERT_TRUE(reader->Put("k", "v0").ok());
  auto t = reader->Begin();
  ASSERT_TRUE(t.ok());
  auto first = reader->Get(*t, "k");
  ASSERT_TRUE(first.ok());
  std::thread writer([this] {
    auto client = Connect();
    EXPECT_TRUE(
        client->RunTransaction([](Client& c, const TxnId& wt) { return c.Put(wt, "k", "v1"); })
            .ok());
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // the writer tries meanwhile
  auto second = reader->Get(*t, "k");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(**second, **first);
  ASSERT_TRUE(reader->Commit(*t).ok());
  writer.join();
  auto after = reader->Get("k");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(**after, "v1");  // the writer got in once the reader was done
}

TEST_F(IsolationTest, BankAuditsAlwaysSeeTheInitialTotal) {
  cluster_ = std::make_unique<TestCluster>(3);
  ASSERT_TRUE(cluster_->Start().ok()) << cluster_->Logs();
  constexpr int kAccounts = 20, kInitial = 100, kTransferers = 6, kAuditors = 2;
  auto setup = Connect();
  ASSERT_TRUE(setup
                  ->RunTransaction([](Client& c, const TxnId& t) -> Status {
                    for (int a = 0; a < kAccounts; a++) {
                      KV2PC_RETURN_IF_ERROR(
                          c.Put(t, "acct:" + std::to_string(a), std::to_string(kInitial)));
                    }
                    return Status::OK();
                  })
                  .ok());
  std::atomic<bool> stop{false};
  std::atomic<int> transfers{0}, audits{0}, bad_audits{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kTransferers; i++) {
    threads.emplace_back([&, i] {
      auto client = Connect();
      uint64_t rng = 0x9e3779b97f4a7c15ULL * (i + 1);
      while (!stop) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        int from = static_cast<int>(rng % kAccounts),
            to = static_cast<int>((rng >> 20) % kAccounts);
        if (from == to) continue;
        Status s = client->RunTransaction([&](Client& c, const TxnId& t) -> Status {
          auto a = c.Get(t, "acct:" + std::to_string(from));
          if (!a.ok()) return a.status();
          auto b = c.Get(t, "acct:" + std::to_string(to));
          if (!b.ok()) return b.status();
          int amount = std::min(5, std::stoi(**a));
          KV2PC_RETURN_IF_ERROR(
              c.Put(t, "acct:" + std::to_string(from), std::to_string(std::stoi(**a) - amount)));
          return c.Put(t, "acct:" + std::to_string(to), std::to_string(std::stoi(**b) + amount));
        });
        if (s.ok()) transfers++;
      }
    });
  }
  for (int i = 0; i < kAuditors; i++) {
    threads.emplace_back([&] {
      auto client = Connect();
      while (!stop) {
        int total = 0;
        Status s = client->RunTransaction([&](Client& c, const TxnId& t) -> Status {
          total = 0;
          for (int a = 0; a < kAccounts; a++) {
            auto v = c.Get(t, "acct:" + std::to_string(a));
            if (!v.ok()) return v.status();
            total += std::stoi(**v);
          }
          return Status::OK();
        });
        if (!s.ok()) continue;
        audits++;
        if (total != kAccounts * kInitial) bad_audits++;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(5));
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_GT(transfers.load(), 0);
  EXPECT_GT(audits.load(), 0);
  EXPECT_EQ(bad_audits.load(), 0);
  std::cerr << transfers.load() << " transfers, " << audits.load() << " audits\n";
}

}  // namespace
}  // namespace kv2pc
