// One-phase commit against real processes (docs/protocol.md 5.3, 5.7, 5.10d): a transaction
// that writes one participant costs one forced record there and none at the coordinator; a
// read-only one costs none; the outcome of a one-phase commit stays known after the coordinator
// (which logs nothing for it) and the participant restart; a lost vote is OUTCOME_UNKNOWN, then
// resolved by asking the participant; and the question itself never lets an answer go stale.
// The crash windows of the one-phase path are rows of the crash matrix (crash_test.cc).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "client/client.h"
#include "common/partitioner.h"
#include "tests/testutil/cluster_test.h"

namespace kv2pc {
namespace {

using testing::ClusterTest;
using testing::TestCluster;

constexpr int kTimeoutMs = 10000;

class OnePhaseTest : public ClusterTest {
 protected:
  void StartCluster(std::vector<std::string> coordinator_args = {}) {
    cluster_ = std::make_unique<TestCluster>(3, std::move(coordinator_args));
    Status s = cluster_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::string P(size_t i) const { return cluster_->participant_names()[i]; }

  // A key owned by participant `p`, distinct per `n`.
  std::string KeyOn(size_t p, int n) {
    HashRing ring(cluster_->participant_names(), cluster_->vnodes());
    int found = 0;
    for (int i = 0; i < 1000000; i++) {
      std::string k = "one-phase-" + std::to_string(i);
      if (ring.OwnerIndex(k) == p && found++ == n) return k;
    }
    ADD_FAILURE() << "no key on participant " << p;
    return "one-phase-none";
  }

  // A STATUS counter of `node` (0 when absent: counters of events that never happened are).
  uint64_t Counter(const std::string& node, const std::string& name) {
    auto r = Client::NodeStatus(cluster_->endpoint(node), std::nullopt, kTimeoutMs);
    EXPECT_TRUE(r.ok()) << node << ": " << r.status().ToString();
    if (!r.ok()) return UINT64_MAX;
    for (const auto& [n, v] : r->status->counters) {
      if (n == name) return v;
    }
    return 0;
  }

  Reply Ask(const std::string& node, MessageBody request) {
    auto r = Client::Ask(cluster_->endpoint(node), std::move(request), kTimeoutMs);
    EXPECT_TRUE(r.ok()) << node << ": " << r.status().ToString();
    return r.ok() ? *r : Reply{};
  }

  Outcome OutcomeOf(const TxnId& txn) {
    auto o = Client::OutcomeOf(cluster_->coordinator(), txn, kTimeoutMs);
    EXPECT_TRUE(o.ok()) << txn.ToString() << ": " << o.status().ToString();
    return o.ok() ? *o : Outcome::kPending;
  }

  // Commits one transaction writing `key` = `value`; returns its id.
  TxnId CommitOne(Client& c, const std::string& key, const std::string& value) {
    auto t = c.Begin();
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    if (!t.ok()) return TxnId{};
    EXPECT_TRUE(c.Put(*t, key, value).ok());
    Status s = c.Commit(*t);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return *t;
  }

  void ExpectValue(const std::string& key, const std::string& value) {
    auto c = NewClient(kTimeoutMs);
    ASSERT_NE(c, nullptr);
    auto v = c->Get(key);
    ASSERT_TRUE(v.ok()) << key << ": " << v.status().ToString();
    EXPECT_EQ(v->value_or("(not found)"), value) << key;
  }
};

// The cost: a one-participant write is one durable record at the participant and nothing at
// the coordinator; a one-participant read is nothing anywhere; two participants still log a
// decision at the coordinator.
TEST_F(OnePhaseTest, OneRecordForASingleParticipantWriteNoneForAReadAndNoDecision) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  auto c = NewClient(kTimeoutMs);
  ASSERT_NE(c, nullptr);
  const std::string a = KeyOn(0, 0), b = KeyOn(1, 0);
  const std::string coordinator = "coordinator-0";
  const uint64_t c0 = Counter(coordinator, "wal_durable_lsn");
  const uint64_t p0 = Counter(P(0), "wal_durable_lsn");

  CommitOne(*c, a, "v1");
  EXPECT_EQ(Counter(P(0), "wal_durable_lsn"), p0 + 1) << "one ONE_PHASE_COMMIT record";
  EXPECT_EQ(Counter(coordinator, "wal_durable_lsn"), c0) << "no decision record";
  EXPECT_EQ(Counter(P(0), "one_phase_committed"), 1u);
  EXPECT_EQ(Counter(coordinator, "one_phase_committed"), 1u);

  // A one-shot PUT is a one-participant transaction too.
  ASSERT_TRUE(c->Put(a, "v2").ok());
  EXPECT_EQ(Counter(P(0), "wal_durable_lsn"), p0 + 2);
  EXPECT_EQ(Counter(coordinator, "one_phase_committed"), 2u);

  // Read-only: READ_ONLY vote, no record anywhere.
  auto r = c->Begin();
  ASSERT_TRUE(r.ok());
  auto v = c->Get(*r, a);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->value_or(""), "v2");
  ASSERT_TRUE(c->Commit(*r).ok());
  EXPECT_EQ(Counter(P(0), "wal_durable_lsn"), p0 + 2);
  EXPECT_EQ(Counter(coordinator, "wal_durable_lsn"), c0);
  EXPECT_EQ(Counter(P(0), "read_only"), 1u);

  // Two participants: two-phase commit, with its decision record.
  auto t = c->Begin();
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(c->Put(*t, a, "v3").ok());
  ASSERT_TRUE(c->Put(*t, b, "v3").ok());
  ASSERT_TRUE(c->Commit(*t).ok());
  EXPECT_GE(Counter(coordinator, "wal_durable_lsn"), c0 + 1);
  EXPECT_EQ(Counter(coordinator, "one_phase_committed"), 2u);
  ExpectValue(a, "v3");
  ExpectValue(b, "v3");
}

// The coordinator has no record of a one-phase commit, so after its restart QUERY_OUTCOME asks
// the participants; the participant keeps the answer across its own restart (WAL, then SQLite).
TEST_F(OnePhaseTest, OutcomeSurvivesCoordinatorAndParticipantRestarts) {
  ASSERT_NO_FATAL_FAILURE(StartCluster({"--vote-timeout-ms", "1000"}));
  auto c = NewClient(kTimeoutMs);
  ASSERT_NE(c, nullptr);
  const std::string a = KeyOn(0, 1);
  const TxnId committed = CommitOne(*c, a, "kept");
  auto aborted = c->Begin();
  ASSERT_TRUE(aborted.ok());
  ASSERT_TRUE(c->Put(*aborted, a, "never").ok());
  ASSERT_TRUE(c->Abort(*aborted).ok());
  const TxnId never_issued{committed.coordinator, committed.incarnation, committed.seq + 1000};
  EXPECT_EQ(OutcomeOf(committed), Outcome::kCommitted);  // in memory

  cluster_->Kill("coordinator-0");
  ASSERT_TRUE(cluster_->StartNode("coordinator-0").ok());
  EXPECT_EQ(OutcomeOf(committed), Outcome::kCommitted) << "asked the participants";
  EXPECT_EQ(OutcomeOf(*aborted), Outcome::kAborted);
  EXPECT_EQ(OutcomeOf(never_issued), Outcome::kAborted);

  // The participant restarts after a checkpoint (every second) took the commit into SQLite.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  cluster_->Kill(P(0));
  ASSERT_TRUE(cluster_->StartNode(P(0)).ok());
  EXPECT_EQ(OutcomeOf(committed), Outcome::kCommitted);
  EXPECT_EQ(OutcomeOf(*aborted), Outcome::kAborted);
  ExpectValue(a, "kept");

  // A participant that cannot be asked leaves an id the coordinator has no record of UNKNOWN:
  // it might have committed there.
  cluster_->Stop(P(2));
  const TxnId another{committed.coordinator, committed.incarnation, committed.seq + 2000};
  EXPECT_EQ(OutcomeOf(another), Outcome::kUnknown);
  // But a participant that holds the transaction itself gets presumed abort at once.
  Reply r = Ask("coordinator-0", QueryOutcomeRequest{another, /*holder=*/true});
  ASSERT_TRUE(r.outcome.has_value());
  EXPECT_EQ(*r.outcome, Outcome::kAborted);
}

// A vote that does not come: the client hears OUTCOME_UNKNOWN (the participant may have
// committed), and the coordinator learns the outcome from the participant.
TEST_F(OnePhaseTest, ALostVoteIsOutcomeUnknownUntilTheParticipantSays) {
  ASSERT_NO_FATAL_FAILURE(StartCluster({"--vote-timeout-ms", "1000", "--commit-retry-ms", "200"}));
  auto c = NewClient(5000);  // longer than the vote timeout
  ASSERT_NE(c, nullptr);
  const std::string a = KeyOn(0, 2);
  Reply armed = Ask(P(0), FailPointRequest{"participant.before_vote_sent", "1*error"});
  ASSERT_TRUE(armed.ok()) << armed.error;
  auto t = c->Begin();
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(c->Put(*t, a, "dropped-vote").ok());
  Status s = c->Commit(*t);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(c->last_error_code(), ErrorCode::kOutcomeUnknown) << s.ToString();
  Outcome o = Outcome::kPending;
  for (int i = 0; i < 100 && o == Outcome::kPending; i++) {
    o = OutcomeOf(*t);
    if (o == Outcome::kPending) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(o, Outcome::kCommitted);
  EXPECT_EQ(Counter("coordinator-0", "txns_resolving"), 0u);
  ExpectValue(a, "dropped-vote");

  // A NO vote is an ordinary abort.
  armed = Ask(P(0), FailPointRequest{"participant.before_one_phase_logged", "1*error"});
  ASSERT_TRUE(armed.ok()) << armed.error;
  auto u = c->Begin();
  ASSERT_TRUE(u.ok());
  ASSERT_TRUE(c->Put(*u, a, "voted-no").ok());
  s = c->Commit(*u);
  EXPECT_TRUE(s.IsAborted()) << s.ToString();
  EXPECT_EQ(c->last_abort_reason(), AbortReason::kVoteNo);
  EXPECT_EQ(OutcomeOf(*u), Outcome::kAborted);
  ExpectValue(a, "dropped-vote");
}

// The question a coordinator asks a participant (QUERY_OUTCOME one_phase) keeps its answer
// true: an ACTIVE transaction is aborted first, and an unknown id is remembered as aborted, so
// work of it that arrives later cannot commit it.
TEST_F(OnePhaseTest, TheQuestionMakesItsAnswerStayTrue) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  auto c = NewClient(kTimeoutMs);
  ASSERT_NE(c, nullptr);
  const std::string a = KeyOn(0, 3);
  auto t = c->Begin();
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(c->Put(*t, a, "never").ok());  // ACTIVE at P(0)
  Reply r = Ask(P(0), QueryOutcomeRequest{*t, /*holder=*/false, /*one_phase=*/true});
  ASSERT_TRUE(r.outcome.has_value());
  EXPECT_EQ(*r.outcome, Outcome::kAborted);
  EXPECT_EQ(Counter(P(0), "aborted.OUTCOME_PROBE"), 1u);
  Status s = c->Commit(*t);
  EXPECT_FALSE(s.ok()) << "the probe aborted it";

  const TxnId unknown{t->coordinator, t->incarnation, t->seq + 500};
  r = Ask(P(0), QueryOutcomeRequest{unknown, false, true});
  ASSERT_TRUE(r.outcome.has_value());
  EXPECT_EQ(*r.outcome, Outcome::kAborted);
  auto late = Client::Ask(cluster_->endpoint(P(0)),
                          WriteRequest{unknown, a, std::string("late"), 0, 1}, kTimeoutMs);
  EXPECT_FALSE(late.ok());  // an error reply comes back as its Status
  EXPECT_NE(late.status().message().find("aborted"), std::string::npos) << late.status().ToString();
  Reply vote = Ask(P(0), PrepareRequest{unknown, 1, {P(0)}, /*one_phase=*/true});
  ASSERT_TRUE(vote.vote.has_value());
  EXPECT_EQ(*vote.vote, Vote::kNo);

  // Committed by one-phase commit: COMMITTED, and a repeated one-phase PREPARE says so too.
  const TxnId done = CommitOne(*c, a, "done");
  r = Ask(P(0), QueryOutcomeRequest{done, false, true});
  ASSERT_TRUE(r.outcome.has_value());
  EXPECT_EQ(*r.outcome, Outcome::kCommitted);
  vote = Ask(P(0), PrepareRequest{done, 1, {P(0)}, true});
  ASSERT_TRUE(vote.vote.has_value());
  EXPECT_EQ(*vote.vote, Vote::kCommitted);
  ExpectValue(a, "done");
}

}  // namespace
}  // namespace kv2pc
