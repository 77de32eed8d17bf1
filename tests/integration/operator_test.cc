// The operator's tools against real processes (docs/fail-points.md, docs/recovery.md):
// fail points armed at run time and from KV2PC_FAILPOINTS, `pause` holding one transaction
// while everything else goes on (and a PREPARED transaction is never wounded), `kv2pc in-doubt`
// and `kv2pc resolve --force` for a lost coordinator, and HEURISTIC_MIXED when the coordinator
// comes back having decided the other way.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <sstream>
#include <thread>

#include "client/cli.h"
#include "client/client.h"
#include "common/failpoint.h"
#include "common/partitioner.h"
#include "tests/testutil/cluster_test.h"

namespace kv2pc {
namespace {

using testing::ClusterTest;
using testing::TestCluster;

uint64_t Counter(const Reply& r, const std::string& name) {
  for (const auto& [n, v] : r.status->counters) {
    if (n == name) return v;
  }
  ADD_FAILURE() << "no counter " << name;
  return 0;
}

struct CliRun {
  int status;
  std::string out, err;
};

class OperatorTest : public ClusterTest {
 protected:
  void StartCluster(std::vector<std::string> coordinator_args = {},
                    std::vector<std::string> participant_args = {}) {
    cluster_ = std::make_unique<TestCluster>(3, coordinator_args, participant_args);
    ASSERT_TRUE(cluster_->Start().ok()) << cluster_->Logs();
    HashRing ring(cluster_->participant_names(), cluster_->vnodes());
    keys_.assign(3, "");
    for (int i = 0, found = 0; found < 3; i++) {
      std::string k = "op-key-" + std::to_string(i);
      if (keys_[ring.OwnerIndex(k)].empty()) {
        keys_[ring.OwnerIndex(k)] = k;
        found++;
      }
    }
  }
  Reply Ask(const std::string& node, MessageBody request) {
    Result<Reply> r = Client::Ask(cluster_->endpoint(node), std::move(request), 5000);
    EXPECT_TRUE(r.ok()) << node << ": " << r.status().ToString();
    return r.ok() ? *r : Reply{};
  }
  CliRun Cli(std::vector<std::string> args) {
    args.insert(args.begin(), {"--data-dir", cluster_->dir()});
    std::istringstream in;
    std::ostringstream out, err;
    int status = RunCli(args, CliEnvironment{}, in, out, err, false);
    return {status, out.str(), err.str()};
  }
  // Waits (bounded) until `pred` holds; returns whether it did.
  template <typename Pred>
  bool Eventually(Pred pred, int ms = 20000) {
    for (int waited = 0; waited < ms; waited += 20) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return pred();
  }
  std::vector<std::string> keys_;  // one per participant, in participant order
};

TEST_F(OperatorTest, PauseHoldsOneTransactionPreparedAndOffReleasesIt) {
  StartCluster({}, {"--lock-timeout-ms", "30000"});
  // An older transaction first, so that it would wound the younger one if it could.
  auto older_client = NewClient();
  auto older = older_client->Begin();
  ASSERT_TRUE(older.ok());

  auto client = NewClient();
  auto txn = client->Begin();
  ASSERT_TRUE(txn.ok());
  for (const auto& k : keys_) ASSERT_TRUE(client->Put(*txn, k, "paused").ok());
  Reply armed =
      Ask("participant-1", FailPointRequest{"participant.after_prepare_logged", "1*pause"});
  ASSERT_EQ(armed.failpoints.size(), 1u);
  EXPECT_EQ(armed.failpoints[0].action, "1*pause");
  std::future<Status> commit = std::async(std::launch::async, [&] { return client->Commit(*txn); });

  // participant-1 holds the vote: the transaction is PREPARED there, STATUS shows the hold.
  ASSERT_TRUE(Eventually([&] {
    Result<Reply> st = Client::NodeStatus(cluster_->endpoint("participant-1"), std::nullopt, 5000);
    return st.ok() && Counter(*st, "failpoints_held") == 1 && Counter(*st, "txns_prepared") == 1;
  }));
  // The rest of the node works meanwhile.
  EXPECT_TRUE(Client::Ping(cluster_->endpoint("participant-1"), 5000).ok());

  // The older transaction wants the paused one's key: a PREPARED holder is never wounded, so
  // it waits (listed as blocked by the in-doubt transaction).
  std::future<Result<std::optional<std::string>>> read =
      std::async(std::launch::async, [&] { return older_client->GetForUpdate(*older, keys_[1]); });
  ASSERT_TRUE(Eventually([&] {
    Reply r = Ask("participant-1", InDoubtRequest{});
    return r.in_doubt && r.in_doubt->size() == 1 && (*r.in_doubt)[0].waiters.size() == 1;
  }));
  Reply listed = Ask("participant-1", InDoubtRequest{});
  const InDoubtTxn& d = (*listed.in_doubt)[0];
  EXPECT_EQ(d.txn, *txn);
  EXPECT_EQ(d.coordinator, "coordinator-0");
  EXPECT_EQ(d.keys, std::vector<std::string>{keys_[1]});
  EXPECT_EQ(d.waiters, std::vector<TxnId>{*older});
  EXPECT_EQ(d.participants.size(), 3u);
  EXPECT_EQ(commit.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);

  // `kv2pc failpoint NODE NAME off` releases the vote: the commit completes, then the reader.
  CliRun off = Cli({"failpoint", "participant-1", "participant.after_prepare_logged", "off"});
  EXPECT_EQ(off.status, 0) << off.err;
  EXPECT_NE(off.out.find("no fail point armed"), std::string::npos) << off.out;
  EXPECT_TRUE(commit.get().ok());
  auto value = read.get();
  ASSERT_TRUE(value.ok()) << value.status().ToString();
  EXPECT_EQ(value->value_or(""), "paused");
  EXPECT_TRUE(older_client->Commit(*older).ok());
}

TEST_F(OperatorTest, InDoubtListsAndResolveForcesAndTheCoordinatorReportsHeuristicMixed) {
  StartCluster({}, {"--outcome-query-interval-ms", "100"});
  Ask("coordinator-0", FailPointRequest{"coordinator.after_decision_logged", "crash"});
  auto client = NewClient(3000);
  auto txn = client->Begin();
  ASSERT_TRUE(txn.ok());
  for (const auto& k : keys_) ASSERT_TRUE(client->Put(*txn, k, "decided").ok());
  Status s = client->Commit(*txn);  // the coordinator dies with its COMMIT decision logged
  EXPECT_TRUE(s.IsTimedOut()) << s.ToString();
  EXPECT_EQ(client->last_error_code(), ErrorCode::kOutcomeUnknown);
  ASSERT_TRUE(cluster_->WaitForExit("coordinator-0", 10000));

  // Every participant voted YES and nobody knows the decision: all in doubt, and they say why.
  CliRun listed;
  ASSERT_TRUE(Eventually([&] {
    listed = Cli({"in-doubt"});
    return listed.out.find("3 in doubt.") != std::string::npos &&
           listed.out.find("unreachable") != std::string::npos;
  })) << listed.out;
  EXPECT_EQ(listed.status, 0);
  EXPECT_NE(listed.out.find(txn->ToString() + "  coordinator coordinator-0"), std::string::npos)
      << listed.out;
  EXPECT_NE(listed.out.find("'" + keys_[0] + "'"), std::string::npos) << listed.out;

  // Without --force nothing happens; with it, an ABORT the coordinator will contradict.
  CliRun refused = Cli({"resolve", txn->ToString(), "abort"});
  EXPECT_EQ(refused.status, kExitUsage);
  EXPECT_NE(refused.err.find("--force"), std::string::npos);
  CliRun forced = Cli({"resolve", txn->ToString(), "abort", "--force"});
  EXPECT_EQ(forced.status, 0) << forced.out << forced.err;
  EXPECT_NE(forced.out.find("-> ABORT (heuristic, logged)"), std::string::npos) << forced.out;
  EXPECT_NE(Cli({"in-doubt"}).out.find("nothing in doubt"), std::string::npos);
  CliRun again = Cli({"resolve", txn->ToString(), "abort", "--force"});
  EXPECT_EQ(again.status, kExitError) << again.out;  // already aborted everywhere
  EXPECT_NE(again.out.find("already aborted"), std::string::npos) << again.out;

  // The keys are free now (the coordinator is still down: read them at a restart of it).
  ASSERT_TRUE(cluster_->StartNode("coordinator-0").ok());
  // It re-sends its COMMIT decision; every participant answers HEURISTIC_MIXED.
  Result<Reply> st = Status::Unavailable("not asked yet");
  ASSERT_TRUE(Eventually([&] {
    st = Client::NodeStatus(cluster_->coordinator(), std::nullopt, 5000);
    return st.ok() && Counter(*st, "heuristic_mixed") == 3;
  })) << (st.ok() ? std::to_string(Counter(*st, "heuristic_mixed")) : st.status().ToString());
  size_t mixed = 0;
  for (const TxnStatus& t : st->status->txns) {
    if (t.state == "HEURISTIC_MIXED" && t.txn == *txn) mixed++;
  }
  EXPECT_EQ(mixed, 3u);
  EXPECT_NE(Cli({"status", "coordinator-0"}).out.find("HEURISTIC_MIXED"), std::string::npos);
  // The decision stays COMMIT (that is what its log says), the data says ABORT: the outcome
  // query answers the coordinator's decision, and the operator sees the contradiction above.
  ASSERT_TRUE(Eventually([&] {
    Result<Reply> c = Client::NodeStatus(cluster_->coordinator(), std::nullopt, 5000);
    return c.ok() && Counter(*c, "txns_committed_unacknowledged") == 0;
  }));
  auto reader = NewClient();
  for (const auto& k : keys_) {
    auto v = reader->Get(k);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_FALSE(v->has_value()) << k;  // heuristically aborted everywhere: nothing written
  }
}

TEST_F(OperatorTest, FailPointCommandsCheckTheirInput) {
  StartCluster();
  CliRun list = Cli({"failpoint", "list"});
  EXPECT_EQ(list.status, 0);
  for (const FailPointInfo& p : FailPointCatalogue()) {
    EXPECT_NE(list.out.find(p.name), std::string::npos) << p.name;
  }
  EXPECT_EQ(Cli({"failpoint", "participant-0", "participant.nope", "crash"}).status, kExitUsage);
  EXPECT_EQ(Cli({"failpoint", "participant-0", "participant.before_vote_sent", "explode"}).status,
            kExitUsage);
  // A point of the other role, and `error` where it means nothing, are refused by the node.
  CliRun wrong_role =
      Cli({"failpoint", "participant-0", "coordinator.after_decision_logged", "crash"});
  EXPECT_EQ(wrong_role.status, kExitError);
  EXPECT_NE(wrong_role.err.find("not a participant fail point"), std::string::npos);
  CliRun no_error =
      Cli({"failpoint", "participant-0", "participant.after_prepare_logged", "error"});
  EXPECT_EQ(no_error.status, kExitError);
  EXPECT_NE(no_error.err.find("no `error` action"), std::string::npos) << no_error.err;

  CliRun set = Cli({"failpoint", "participant-0", "participant.before_vote_sent", "2*sleep(10)"});
  EXPECT_EQ(set.status, 0) << set.err;
  EXPECT_NE(set.out.find("participant.before_vote_sent = 2*sleep(10)  (hits 0)"), std::string::npos)
      << set.out;
  // Two transactions pass the point (slowed), then it is off by itself.
  auto client = NewClient();
  for (int i = 0; i < 3; i++) ASSERT_TRUE(client->Put(keys_[0], "v" + std::to_string(i)).ok());
  EXPECT_NE(Cli({"failpoint", "participant-0"}).out.find("no fail point armed"), std::string::npos);
}

TEST_F(OperatorTest, ErrorActionsVoteNoAndDropAnswers) {
  StartCluster({"--vote-timeout-ms", "1000"}, {"--outcome-query-interval-ms", "100"});
  auto client = NewClient(2500);  // longer than the vote timeout: a NO comes first
  // participant.before_prepare_logged=error: a NO vote, the transaction aborts everywhere.
  Ask("participant-2", FailPointRequest{"participant.before_prepare_logged", "1*error"});
  Status s = client->RunTransaction(
      [&](Client& c, const TxnId& t) {
        for (const auto& k : keys_) KV2PC_RETURN_IF_ERROR(c.Put(t, k, "x"));
        return Status::OK();
      },
      1);
  EXPECT_TRUE(s.IsAborted()) << s.ToString();
  EXPECT_EQ(client->last_abort_reason(), AbortReason::kVoteNo);
  EXPECT_NE(s.message().find("fail point participant.before_prepare_logged"), std::string::npos);
  // coordinator.after_commit_sent=error: committed, but the client is never told.
  Ask("coordinator-0", FailPointRequest{"coordinator.after_commit_sent", "1*error"});
  auto txn = client->Begin();
  ASSERT_TRUE(txn.ok());
  ASSERT_TRUE(client->Put(*txn, keys_[0], "told-nobody").ok());
  ASSERT_TRUE(client->Put(*txn, keys_[1], "told-nobody").ok());  // two: not one-phase
  s = client->Commit(*txn);
  EXPECT_EQ(client->last_error_code(), ErrorCode::kOutcomeUnknown) << s.ToString();
  Result<Outcome> outcome = Client::OutcomeOf(cluster_->coordinator(), *txn, 5000);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(*outcome, Outcome::kCommitted);
  CliRun asked = Cli({"outcome", txn->ToString()});
  EXPECT_EQ(asked.out, txn->ToString() + " COMMITTED\n");
  EXPECT_EQ(client->Get(keys_[0])->value_or(""), "told-nobody");
}

TEST_F(OperatorTest, HeuristicReportsFromStrangersAreRefused) {
  StartCluster();
  // A forged report with a huge name must not be stored (nor echoed whole).
  Result<Reply> r =
      Client::Ask(cluster_->coordinator(),
                  HeuristicReportRequest{TxnId{0, 1, 1}, true, std::string(1 << 20, 'x')}, 5000);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();
  EXPECT_LT(r.status().message().size(), 1024u);
  Result<Reply> st = Client::NodeStatus(cluster_->coordinator(), std::nullopt, 5000);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(Counter(*st, "heuristic_mixed"), 0u);
  // From a real participant it is heard (T0.1.1 never existed: presumed abort, a forced ABORT
  // agrees).
  EXPECT_TRUE(Client::Ask(cluster_->coordinator(),
                          HeuristicReportRequest{TxnId{0, 1, 1}, false, "participant-0"}, 5000)
                  .ok());
}

TEST(FailPointEnvironmentTest, ABadSpecStopsTheServerWithAClearError) {
  TestCluster cluster(1);
  setenv("KV2PC_FAILPOINTS", "participant.before_vote_sent=explode", 1);
  Status s = cluster.StartNode("participant-0");
  unsetenv("KV2PC_FAILPOINTS");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(cluster.Logs().find("KV2PC_FAILPOINTS"), std::string::npos) << cluster.Logs();
  EXPECT_NE(cluster.Logs().find("explode"), std::string::npos) << cluster.Logs();

  // A good one arms the point from the start (the other role's points are ignored).
  setenv("KV2PC_FAILPOINTS",
         "coordinator.after_decision_logged=crash; participant.before_vote_sent=sleep(1)", 1);
  s = cluster.StartNode("participant-0");
  unsetenv("KV2PC_FAILPOINTS");
  ASSERT_TRUE(s.ok()) << cluster.Logs();
  Result<Reply> r = Client::Ask(cluster.endpoint("participant-0"), FailPointRequest{}, 5000);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->failpoints.size(), 1u);
  EXPECT_EQ(r->failpoints[0].name, "participant.before_vote_sent");
  EXPECT_EQ(r->failpoints[0].action, "sleep(1)");
  cluster.StopAll();
}

}  // namespace
}  // namespace kv2pc
