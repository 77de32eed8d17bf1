// Serializability under concurrency, with real processes: many clients, real conflicts,
// retries through Client::RunTransaction (wound-wait aborts are expected and retried).
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "client/client.h"
#include "common/partitioner.h"
#include "tests/testutil/cluster.h"
#include "tests/testutil/cluster_test.h"

namespace kv2pc {
namespace {

using testing::TestCluster;

class IsolationTest : public testing::ClusterTest {};

// 16 clients each increment one counter 200 times (read, then write), retrying aborts.
// Returns the retries it took; the counter must end at exactly 3,200.
int RunIncrements(const TestCluster& cluster, bool for_update) {
  constexpr int kClients = 16, kIncrements = 200;
  std::atomic<int> failures{0}, retries{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; c++) {
    threads.emplace_back([&] {
      auto client = std::move(Client::Connect({cluster.coordinator(), 30000})).value();
      for (int i = 0; i < kIncrements; i++) {
        Status s = client->RunTransaction([for_update](Client& cl, const TxnId& txn) -> Status {
          auto v = for_update ? cl.GetForUpdate(txn, "counter") : cl.Get(txn, "counter");
          if (!v.ok()) return v.status();
          int n = v->has_value() ? std::stoi(**v) : 0;
          return cl.Put(txn, "counter", std::to_string(n + 1));
        });
        if (!s.ok()) {
          failures++;
          ADD_FAILURE() << s.ToString();
        }
        retries += client->last_attempts() - 1;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto client = std::move(Client::Connect({cluster.coordinator(), 30000})).value();
  auto v = client->Get("counter");
  EXPECT_TRUE(v.ok() && v->has_value());
  if (v.ok() && v->has_value()) {
    EXPECT_EQ(**v, std::to_string(kClients * kIncrements));
  }
  std::cerr << (for_update ? "GetForUpdate" : "Get") << ": " << retries.load()
            << " retried attempts for " << kClients * kIncrements << " increments\n";
  return retries.load();
}

TEST_F(IsolationTest, NoLostUpdatesUnderConcurrentIncrements) {
  cluster_ = std::make_unique<TestCluster>(3);
  ASSERT_TRUE(cluster_->Start().ok()) << cluster_->Logs();
  RunIncrements(*cluster_, /*for_update=*/false);
}

TEST_F(IsolationTest, NoLostUpdatesWithReadForUpdate) {
  // The same with the read taking the X lock: no S->X upgrade, so no upgrade deaths.
  cluster_ = std::make_unique<TestCluster>(3);
  ASSERT_TRUE(cluster_->Start().ok()) << cluster_->Logs();
  RunIncrements(*cluster_, /*for_update=*/true);
}

TEST_F(IsolationTest, WriteSkewIsPrevented) {
  // The classic on-call doctors: x + y >= 1 must hold. Each transaction reads both and, if
  // both are on call, takes itself off. Under snapshot isolation both could commit (x = y =
  // 0); under serializability one of them sees the other's write.
  cluster_ = std::make_unique<TestCluster>(2);
  ASSERT_TRUE(cluster_->Start().ok()) << cluster_->Logs();
  auto setup = NewClient();
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
        auto client = NewClient();
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
  auto writer = NewClient();
  ASSERT_TRUE(writer->Put("k", "clean").ok());
  for (int round = 0; round < 5; round++) {
    auto t = writer->Begin();
    ASSERT_TRUE(t.ok());
    ASSERT_TRUE(writer->Put(*t, "k", "dirty").ok());
    std::string seen;
    std::thread reader([&] {
      auto client = NewClient();
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
  auto reader = NewClient();
  ASSERT_TRUE(reader->Put("k", "v0").ok());
  auto t = reader->Begin();
  ASSERT_TRUE(t.ok());
  auto first = reader->Get(*t, "k");
  ASSERT_TRUE(first.ok());
  std::thread writer([this] {
    auto client = NewClient();
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
  // 100 accounts over every participant; 16 clients transfer between random accounts for
  // 20 s while 2 more run read-only audits summing all balances. Under serializability every
  // audit sees exactly the initial total, and so does the final sum.
  cluster_ = std::make_unique<TestCluster>(3);
  ASSERT_TRUE(cluster_->Start().ok()) << cluster_->Logs();
#if defined(__SANITIZE_THREAD__)
  constexpr int kSeconds = 10;  // TSan: ~10x slower per operation; still thousands of txns
#else
  constexpr int kSeconds = 20;
#endif
  constexpr int kAccounts = 100, kInitial = 1000, kTransferers = 16, kAuditors = 2;
  auto account = [](int a) { return "acct:" + std::to_string(a); };
  {
    // Every participant holds some accounts (so transfers and audits are distributed).
    HashRing ring(cluster_->participant_names(), cluster_->vnodes());
    std::set<std::string> owners;
    for (int a = 0; a < kAccounts; a++) owners.insert(ring.Owner(account(a)));
    ASSERT_EQ(owners.size(), cluster_->participant_names().size());
  }
  auto setup = NewClient();
  ASSERT_TRUE(setup
                  ->RunTransaction([&](Client& c, const TxnId& t) -> Status {
                    for (int a = 0; a < kAccounts; a++) {
                      KV2PC_RETURN_IF_ERROR(c.Put(t, account(a), std::to_string(kInitial)));
                    }
                    return Status::OK();
                  })
                  .ok());
  std::atomic<bool> stop{false};
  std::atomic<int> transfers{0}, transfer_retries{0}, audits{0}, audit_retries{0}, failures{0};
  std::mutex bad_mu;
  std::vector<std::string> bad_audits;
  std::vector<std::thread> threads;
  for (int i = 0; i < kTransferers; i++) {
    threads.emplace_back([&, i] {
      auto client = NewClient();
      std::mt19937_64 rng(i + 1);
      while (!stop) {
        int from = static_cast<int>(rng() % kAccounts), to = static_cast<int>(rng() % kAccounts);
        if (from == to) continue;
        const int want = static_cast<int>(rng() % 50) + 1;
        Status s = client->RunTransaction([&](Client& c, const TxnId& t) -> Status {
          KV2PC_ASSIGN_OR_RETURN(std::optional<std::string> a, c.Get(t, account(from)));
          KV2PC_ASSIGN_OR_RETURN(std::optional<std::string> b, c.Get(t, account(to)));
          if (!a || !b) return Status::Internal("an account is missing");
          int amount = std::min(want, std::stoi(*a));  // balances never go negative
          KV2PC_RETURN_IF_ERROR(c.Put(t, account(from), std::to_string(std::stoi(*a) - amount)));
          return c.Put(t, account(to), std::to_string(std::stoi(*b) + amount));
        });
        if (s.ok()) {
          transfers++;
          transfer_retries += client->last_attempts() - 1;
        } else if (!stop) {
          failures++;
          ADD_FAILURE() << "transfer: " << s.ToString();
        }
      }
    });
  }
  for (int i = 0; i < kAuditors; i++) {
    threads.emplace_back([&] {
      auto client = NewClient();
      while (!stop) {
        long total = 0;
        Status s = client->RunTransaction([&](Client& c, const TxnId& t) -> Status {
          total = 0;
          for (int a = 0; a < kAccounts; a++) {
            KV2PC_ASSIGN_OR_RETURN(std::optional<std::string> v, c.Get(t, account(a)));
            if (!v) return Status::Internal("an account is missing");
            total += std::stol(*v);
          }
          return Status::OK();
        });
        if (!s.ok()) {
          if (!stop) {
            failures++;
            ADD_FAILURE() << "audit: " << s.ToString();
          }
          continue;
        }
        audits++;
        audit_retries += client->last_attempts() - 1;
        if (total != kAccounts * kInitial) {
          std::lock_guard<std::mutex> lock(bad_mu);
          bad_audits.push_back(std::to_string(total));
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(kSeconds));
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(transfers.load(), 100);
  EXPECT_GT(audits.load(), 5);
  EXPECT_TRUE(bad_audits.empty()) << bad_audits.size() << " audits saw another total, e.g. "
                                  << bad_audits.front();
  long final_total = 0;
  for (int a = 0; a < kAccounts; a++) {
    auto v = setup->Get(account(a));
    ASSERT_TRUE(v.ok() && v->has_value()) << a;
    EXPECT_GE(std::stol(**v), 0) << account(a);
    final_total += std::stol(**v);
  }
  EXPECT_EQ(final_total, kAccounts * kInitial);
  std::cerr << transfers.load() << " transfers (" << transfer_retries.load() << " retries), "
            << audits.load() << " audits (" << audit_retries.load() << " retries) in " << kSeconds
            << " s\n";
}

}  // namespace
}  // namespace kv2pc
