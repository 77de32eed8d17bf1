// STATUS (kv2pc status NODE) against real processes: a participant shows the locks held, the
// requests waiting for them in queue order, and transactions by state; a coordinator shows
// its transactions and what each waits for.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "client/client.h"
#include "client/status_format.h"
#include "tests/testutil/cluster.h"

namespace kv2pc {
namespace {

using testing::TestCluster;

uint64_t Counter(const NodeStatus& st, const std::string& name) {
  for (const auto& [n, v] : st.counters) {
    if (n == name) return v;
  }
  ADD_FAILURE() << "no counter " << name;
  return 0;
}

TEST(StatusTest, ShowsHoldersWaitersAndTransactionsByState) {
  TestCluster cluster(3);
  ASSERT_TRUE(cluster.Start().ok()) << cluster.Logs();
  auto connect = [&] { return std::move(Client::Connect({cluster.coordinator(), 30000})).value(); };
  auto older = connect();
  auto younger = connect();
  auto a = older->Begin();  // older: begins first
  auto b = younger->Begin();
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(older->Put(*a, "x", "from-a").ok());

  // The younger transaction asks for x and waits (wound-wait) behind the older's X lock.
  std::thread reader([&] {
    auto v = younger->Get(*b, "x");
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(v->value_or(""), "from-a");
  });

  // Find the participant with a waiter (polled: the GET is on its way).
  std::optional<Reply> seen;
  std::string seen_at;
  for (int i = 0; i < 500 && !seen; i++) {
    for (const std::string& p : cluster.participant_names()) {
      auto r = Client::NodeStatus(cluster.endpoint(p), std::nullopt, 5000);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      if (Counter(*r->status, "lock_waits") == 1) {
        seen = *r;
        seen_at = cluster.endpoint(p);
      }
    }
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(seen.has_value()) << "no participant ever showed the waiting GET";
  EXPECT_EQ(seen->role, "participant");
  const NodeStatus& st = *seen->status;
  EXPECT_EQ(Counter(st, "txns_active"), 2u);
  EXPECT_EQ(Counter(st, "locked_keys"), 1u);
  ASSERT_EQ(st.locks.size(), 1u);
  EXPECT_EQ(st.locks[0].key, "x");
  EXPECT_EQ(st.locks[0].mode, "X");
  EXPECT_EQ(st.locks[0].holders, std::vector<TxnId>{*a});
  ASSERT_EQ(st.locks[0].waiters.size(), 1u);
  EXPECT_EQ(st.locks[0].waiters[0].txn, *b);
  EXPECT_EQ(st.locks[0].waiters[0].mode, "S");
  ASSERT_EQ(st.txns_total, 2u);
  ASSERT_EQ(st.txns.size(), 2u);
  for (const TxnStatus& t : st.txns) {
    EXPECT_EQ(t.state, "ACTIVE");
    if (t.txn == *b) {
      EXPECT_EQ(t.waiting_for, std::optional<std::string>("x"));
      EXPECT_EQ(t.locks, 0u);
    } else {
      EXPECT_EQ(t.txn, *a);
      EXPECT_FALSE(t.waiting_for.has_value());
      EXPECT_EQ(t.locks, 1u);
    }
  }
  std::string text = FormatNodeStatus(*seen, seen_at);
  EXPECT_NE(text.find(b->ToString() + " (S)"), std::string::npos) << text;

  // The coordinator knows both, ACTIVE, and where each has been.
  auto coord = Client::NodeStatus(cluster.coordinator(), std::nullopt, 5000);
  ASSERT_TRUE(coord.ok()) << coord.status().ToString();
  EXPECT_EQ(coord->role, "coordinator");
  EXPECT_EQ(Counter(*coord->status, "txns_active"), 2u);
  ASSERT_EQ(coord->status->txns.size(), 2u);
  EXPECT_EQ(coord->status->txns[0].txn, *a);  // oldest first
  EXPECT_EQ(coord->status->txns[1].txn, *b);

  // The older commits; the waiter gets the lock and reads what it wrote.
  ASSERT_TRUE(older->Commit(*a).ok());
  reader.join();
  ASSERT_TRUE(younger->Commit(*b).ok());

  // Nothing is left locked anywhere; the commits are counted. Phase 2 runs after the client's
  // OK: a participant keeps its committed transaction until its (lazy) COMMIT record is durable
  // and acknowledged, and the coordinator until every acknowledgement is in, so wait for that
  // (bounded).
  uint64_t committed = 0;
  for (const std::string& p : cluster.participant_names()) {
    Result<Reply> r = Status::Internal("not asked");
    for (int i = 0; i < 100; i++) {
      r = Client::NodeStatus(cluster.endpoint(p), 1, 5000);
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->status->locks_total, 0u) << p << ": locks are released at the decision";
      if (r->status->txns_total == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(r->status->txns_total, 0u) << p;
    committed += Counter(*r->status, "committed");
  }
  EXPECT_EQ(committed, 1u);  // a wrote at one participant; b only read (READ_ONLY vote)
  Result<Reply> after = Status::Internal("not asked");
  for (int i = 0; i < 100; i++) {
    after = Client::NodeStatus(cluster.coordinator(), std::nullopt, 5000);
    ASSERT_TRUE(after.ok());
    if (after->status->txns_total == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(Counter(*after->status, "committed"), 2u);
  EXPECT_EQ(after->status->txns_total, 0u);
  cluster.StopAll();
  EXPECT_EQ(cluster.SanitizerReports(), "");
}

TEST(StatusTest, LimitBoundsTheListsButNotTheTotals) {
  TestCluster cluster(1);
  ASSERT_TRUE(cluster.Start().ok()) << cluster.Logs();
  auto client = std::move(Client::Connect({cluster.coordinator(), 30000})).value();
  auto t = client->Begin();
  ASSERT_TRUE(t.ok());
  for (int i = 0; i < 20; i++) ASSERT_TRUE(client->Put(*t, "k" + std::to_string(i), "v").ok());
  auto r = Client::NodeStatus(cluster.endpoint("participant-0"), 5, 5000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status->locks.size(), 5u);
  EXPECT_EQ(r->status->locks_total, 20u);
  EXPECT_EQ(r->status->txns[0].locks, 20u);
  std::string text = FormatNodeStatus(*r, "x");
  EXPECT_NE(text.find("(5 of 20 locked keys shown)"), std::string::npos) << text;
  ASSERT_TRUE(client->Abort(*t).ok());
  cluster.StopAll();
  EXPECT_EQ(cluster.SanitizerReports(), "");
}

}  // namespace
}  // namespace kv2pc
