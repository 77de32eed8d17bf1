// Power loss (issue 5), which kill -9 alone cannot show: the OS keeps the pages a killed
// process wrote, so a server that answered before its fdatasync would still find its records
// after a restart. Here every node runs with KV2PC_SIMULATE_POWER_LOSS=1, so its WAL keeps
// unsynced bytes in process memory (wal/power_loss_fs.h) and a SIGKILL loses exactly what a
// power cut would. The whole cluster is killed mid-traffic and restarted; every acknowledged
// commit must be there, all or nothing on every participant (docs/wal-format.md, "Simulating
// power loss (tests)").
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "common/partitioner.h"
#include "tests/testutil/cluster.h"
#include "tests/testutil/cluster_test.h"

namespace kv2pc {
namespace {

using testing::TestCluster;

constexpr const char* kSimulateEnv = "KV2PC_SIMULATE_POWER_LOSS";

std::optional<uint64_t> Counter(const NodeStatus& st, const std::string& name) {
  for (const auto& [n, v] : st.counters) {
    if (n == name) return v;
  }
  return std::nullopt;
}

class PowerLossTest : public testing::ClusterTest {
 protected:
  // Set before any node starts: TestCluster's fork/exec passes the environment on. Only the
  // test's main thread runs here, so nothing reads the environment meanwhile.
  void SetUp() override { setenv(kSimulateEnv, "1", 1); }  // NOLINT(concurrency-mt-unsafe)
  void TearDown() override {
    ClusterTest::TearDown();
    unsetenv(kSimulateEnv);  // NOLINT(concurrency-mt-unsafe): as in SetUp
  }

  // True once no participant holds a PREPARED (or recovered in-doubt) transaction, polled
  // every 100 ms for up to timeout_ms. *last tells what was seen last.
  bool WaitForNoPreparedTransactions(int timeout_ms, std::string* last) {
    for (int waited = 0; waited <= timeout_ms; waited += 100) {
      bool quiet = true;
      last->clear();
      for (const std::string& p : cluster_->participant_names()) {
        auto r = Client::NodeStatus(cluster_->endpoint(p), 1, 2000);
        if (!r.ok() || !r->status.has_value()) {
          quiet = false;
          *last += p + ": " + r.status().ToString() + "\n";
          continue;
        }
        const uint64_t prepared = Counter(*r->status, "txns_prepared").value_or(1);
        const uint64_t in_doubt = Counter(*r->status, "txns_in_doubt").value_or(1);
        if (prepared != 0 || in_doubt != 0) quiet = false;
        *last += p + ": txns_prepared " + std::to_string(prepared) + ", txns_in_doubt " +
                 std::to_string(in_doubt) + "\n";
      }
      if (quiet) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
};

// What one client thread knows about its own transactions. Transaction n writes the value n
// to the thread's three keys (one per participant); numbers only grow.
struct WriterHistory {
  std::vector<std::string> keys;
  uint64_t last_acked = 0;     // highest n whose Commit returned OK (0: none)
  uint64_t acked = 0;          // how many commits returned OK
  std::set<uint64_t> unknown;  // Commit sent, outcome unknown (timeout, node gone, ...)
  std::set<uint64_t> aborted;  // Commit returned ABORTED: rolled back for sure
};

TEST_F(PowerLossTest, AcknowledgedCommitsSurviveAPowerCutOfTheWholeCluster) {
  // A long checkpoint interval keeps the data out of SQLite (whose own writes the simulation
  // does not cover), so every commit must come back from the WALs; a short outcome query
  // interval resolves in-doubt transactions quickly after the restart.
  cluster_ =
      std::make_unique<TestCluster>(3, std::vector<std::string>{},
                                    std::vector<std::string>{"--checkpoint-interval-ms", "3600000",
                                                             "--outcome-query-interval-ms", "100"});
  ASSERT_TRUE(cluster_->Start().ok()) << cluster_->Logs();

  constexpr int kThreads = 4;
  constexpr auto kTraffic = std::chrono::seconds(3);
  // Calls cut off by the kill time out after this; ordinary calls take milliseconds.
  constexpr int kClientTimeoutMs = 5000;

  // Each thread owns one key on each participant: its transactions span all three, and no
  // two threads contend, so the order of a thread's commits is the order of its values.
  HashRing ring(cluster_->participant_names(), cluster_->vnodes());
  std::vector<WriterHistory> histories(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    for (const std::string& p : cluster_->participant_names()) {
      for (int i = 0;; ++i) {
        std::string k = "pl" + std::to_string(t) + "-" + p + "-" + std::to_string(i);
        if (ring.Owner(k) == p) {
          histories[t].keys.push_back(k);
          break;
        }
      }
    }
  }

  std::atomic<bool> killed{false};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      WriterHistory& h = histories[t];
      auto client = NewClient(kClientTimeoutMs);
      if (client == nullptr) return;
      for (uint64_t n = 1; !killed.load(); ++n) {
        auto txn = client->Begin();
        if (!txn.ok()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));  // bounded by `killed`
          continue;
        }
        bool written = true;
        for (const std::string& k : h.keys) {
          if (!client->Put(*txn, k, std::to_string(n)).ok()) {
            written = false;
            break;
          }
        }
        if (!written) {  // never committed: no COMMIT was sent
          if (!killed.load()) (void)client->Abort(*txn);
          continue;
        }
        Status s = client->Commit(*txn);
        if (s.ok()) {
          h.last_acked = n;
          h.acked++;
        } else if (s.IsAborted()) {
          h.aborted.insert(n);
        } else {
          h.unknown.insert(n);
        }
      }
    });
  }

  std::this_thread::sleep_for(kTraffic);
  // The power cut: every node at once, while the threads are in the middle of transactions.
  cluster_->Kill("coordinator-0");
  for (const std::string& p : cluster_->participant_names()) cluster_->Kill(p);
  killed.store(true);
  for (std::thread& t : threads) t.join();  // each waits at most one client timeout

  ASSERT_TRUE(cluster_->Start().ok()) << cluster_->Logs();
  std::string seen;
  ASSERT_TRUE(WaitForNoPreparedTransactions(30000, &seen))
      << "in-doubt transactions not resolved within 30 s:\n"
      << seen;

  auto reader = NewClient();
  ASSERT_NE(nullptr, reader);
  uint64_t total_acked = 0, total_unknown = 0;
  for (int t = 0; t < kThreads; ++t) {
    const WriterHistory& h = histories[t];
    total_acked += h.acked;
    total_unknown += h.unknown.size();
    EXPECT_GT(h.acked, 0u) << "thread " << t << " committed nothing before the cut";
    std::vector<std::optional<std::string>> values;
    for (const std::string& k : h.keys) {
      auto v = reader->Get(k);
      ASSERT_TRUE(v.ok()) << k << ": " << v.status().ToString();
      values.push_back(*v);
    }
    // All or nothing: one transaction's value on every participant.
    for (size_t i = 1; i < values.size(); ++i) {
      EXPECT_EQ(values[0], values[i]) << "thread " << t << ": " << h.keys[0] << " and " << h.keys[i]
                                      << " disagree (half-applied transaction)";
    }
    // No acknowledged commit lost: the value is the last acknowledged one, or a later one whose
    // outcome the client never learnt. Never one that was rolled back.
    if (!values[0].has_value()) {
      EXPECT_EQ(0u, h.last_acked) << "thread " << t << ": acknowledged commit " << h.last_acked
                                  << " lost (keys missing)";
      continue;
    }
    const uint64_t v = std::stoull(*values[0]);
    EXPECT_GE(v, h.last_acked) << "thread " << t << ": acknowledged commit " << h.last_acked
                               << " lost (found " << v << ")";
    EXPECT_TRUE(v == h.last_acked || h.unknown.count(v) == 1)
        << "thread " << t << ": found " << v << ", neither the last acknowledged (" << h.last_acked
        << ") nor a commit of unknown outcome";
    EXPECT_EQ(0u, h.aborted.count(v))
        << "thread " << t << ": aborted transaction " << v << " is visible";
  }
  std::cerr << total_acked << " acknowledged commits, " << total_unknown
            << " of unknown outcome at the cut\n";
}

// Every YES vote's PREPARE survives a power cut: the coordinator holds each transaction after
// all its votes are in (coordinator.before_decision_logged=pause), so every participant has
// voted YES -- and so must have made its PREPARE durable first (I1) -- when the power goes. The
// participants come back alone: each must find every one of those transactions in doubt.
TEST_F(PowerLossTest, EveryYesVotesPrepareSurvivesAPowerCut) {
  cluster_ = std::make_unique<TestCluster>(
      3, std::vector<std::string>{},
      std::vector<std::string>{"--checkpoint-interval-ms", "3600000"});
  ASSERT_TRUE(cluster_->Start().ok()) << cluster_->Logs();
  Result<Reply> armed =
      Client::Ask(cluster_->coordinator(),
                  FailPointRequest{"coordinator.before_decision_logged", "pause"}, 5000);
  ASSERT_TRUE(armed.ok()) << armed.status().ToString();

  constexpr int kTxns = 6;
  HashRing ring(cluster_->participant_names(), cluster_->vnodes());
  std::vector<std::unique_ptr<Client>> clients;
  std::vector<TxnId> ids;
  std::vector<std::thread> committers;
  for (int t = 0; t < kTxns; ++t) {
    clients.push_back(NewClient(3000));
    ASSERT_NE(clients.back(), nullptr);
    auto txn = clients.back()->Begin();
    ASSERT_TRUE(txn.ok()) << txn.status().ToString();
    ids.push_back(*txn);
    for (const std::string& p : cluster_->participant_names()) {
      for (int i = 0;; ++i) {  // one key per participant, its own per transaction
        std::string k = "yes" + std::to_string(t) + "-" + std::to_string(i);
        if (ring.Owner(k) != p) continue;
        ASSERT_TRUE(clients.back()->Put(*txn, k, "v").ok());
        break;
      }
    }
    // Each COMMIT stays unanswered (held after the votes), then the power goes.
    committers.emplace_back([c = clients.back().get(), id = *txn] { (void)c->Commit(id); });
  }
  // Held once every vote is in: the coordinator's fail point has them all.
  bool held = false;
  for (int waited = 0; waited < 20000 && !held; waited += 20) {
    Result<Reply> fp = Client::Ask(cluster_->coordinator(), FailPointRequest{}, 2000);
    held = fp.ok() && fp->failpoints.size() == 1 && fp->failpoints[0].held == kTxns;
    if (!held) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(held) << "the coordinator never held all " << kTxns << " transactions";

  cluster_->Kill("coordinator-0");
  for (const std::string& p : cluster_->participant_names()) cluster_->Kill(p);
  for (std::thread& t : committers) t.join();
  // The participants alone (no coordinator to decide anything): every YES vote is in doubt.
  for (const std::string& p : cluster_->participant_names()) {
    ASSERT_TRUE(cluster_->StartNode(p).ok()) << cluster_->Logs();
  }
  for (const std::string& p : cluster_->participant_names()) {
    Result<Reply> r = Client::Ask(cluster_->endpoint(p), InDoubtRequest{}, 5000);
    ASSERT_TRUE(r.ok() && r->in_doubt.has_value()) << p;
    std::set<TxnId> found;
    for (const InDoubtTxn& d : *r->in_doubt) {
      EXPECT_TRUE(d.recovered) << p << " " << d.txn.ToString();
      found.insert(d.txn);
    }
    EXPECT_EQ(found, std::set<TxnId>(ids.begin(), ids.end()))
        << p << " lost a PREPARE after voting YES";
  }
  // With the coordinator back (no decision record: presumed abort), all of them abort.
  ASSERT_TRUE(cluster_->StartNode("coordinator-0").ok()) << cluster_->Logs();
  std::string seen;
  EXPECT_TRUE(WaitForNoPreparedTransactions(30000, &seen)) << seen;
}

}  // namespace
}  // namespace kv2pc
