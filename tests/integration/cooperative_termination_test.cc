// Cooperative termination (issue 5) against real processes: a participant in doubt whose
// coordinator is gone asks its fellow participants (QUERY_OUTCOME), and one that committed or
// aborted the transaction -- or that can still abort it, having not voted -- decides it for
// everyone. When all of them are in doubt, nobody can decide, and they wait (saying why) for
// the coordinator. In every case the coordinator stays down until the participants have done
// what they can without it. docs/recovery.md tells the story; docs/protocol.md, QUERY_OUTCOME,
// lists a participant's four answers.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "common/partitioner.h"
#include "tests/testutil/cluster_test.h"

namespace kv2pc {
namespace {

using testing::ClusterTest;
using testing::TestCluster;
using Clock = std::chrono::steady_clock;

constexpr int kAskTimeoutMs = 2000;

class CooperativeTerminationTest : public ClusterTest {
 protected:
  // Three participants that ask often (100 ms, backing off to 500 ms) and give up on an
  // unreachable node after 300 ms, so that every round of questions takes well under a second.
  void StartCluster() {
    cluster_ = std::make_unique<TestCluster>(
        3, std::vector<std::string>{},
        std::vector<std::string>{"--outcome-query-interval-ms", "100",
                                 "--outcome-query-max-interval-ms", "500",
                                 "--outcome-query-timeout-ms", "300"});
    Status s = cluster_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    HashRing ring(cluster_->participant_names(), cluster_->vnodes());
    for (const std::string& p : cluster_->participant_names()) {
      for (int i = 0;; i++) {
        std::string key = "key" + std::to_string(i);
        if (ring.Owner(key) == p) {
          keys_[p] = key;
          break;
        }
      }
    }
  }
  const std::string& KeyOn(const std::string& participant) { return keys_.at(participant); }

  // Runs `pred` every 20 ms until it holds or `timeout` passes; returns its last value.
  static bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!pred()) {
      if (Clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }

  Reply Ask(const std::string& node, MessageBody request) {
    auto r = Client::Ask(cluster_->endpoint(node), std::move(request), kAskTimeoutMs);
    EXPECT_TRUE(r.ok()) << node << ": " << r.status().ToString();
    return r.ok() ? *r : Reply::Error(ErrorCode::kInternalError, r.status().ToString());
  }
  void Arm(const std::string& node, const std::string& point, const std::string& action) {
    Reply r = Ask(node, FailPointRequest{point, action});
    ASSERT_TRUE(r.ok()) << node << " " << point << "=" << action << ": " << r.error;
  }
  // QUERY_OUTCOME sent to a node; nullopt (and a failure) without an answer.
  std::optional<Outcome> OutcomeAt(const std::string& node, const TxnId& txn) {
    Reply r = Ask(node, QueryOutcomeRequest{txn});
    EXPECT_TRUE(r.ok() && r.outcome) << node << ": " << r.error;
    return r.ok() ? r.outcome : std::nullopt;
  }
  // The node's in-doubt transactions (IN_DOUBT).
  std::vector<InDoubtTxn> InDoubt(const std::string& node) {
    Reply r = Ask(node, InDoubtRequest{});
    EXPECT_TRUE(r.ok() && r.in_doubt) << node << ": " << r.error;
    return r.in_doubt.value_or(std::vector<InDoubtTxn>{});
  }
  bool NothingInDoubtAnywhere() {
    for (const std::string& p : cluster_->participant_names()) {
      if (!InDoubt(p).empty()) return false;
    }
    return true;
  }
  uint64_t Counter(const std::string& node, const std::string& name) {
    auto r = Client::NodeStatus(cluster_->endpoint(node), std::nullopt, kAskTimeoutMs);
    EXPECT_TRUE(r.ok() && r->status) << r.status().ToString();
    if (!r.ok() || !r->status) return UINT64_MAX;
    for (const auto& [n, v] : r->status->counters) {
      if (n == name) return v;
    }
    ADD_FAILURE() << node << " has no counter " << name;
    return UINT64_MAX;
  }

  // Waits (at most 10 s) until coordinator-0, which a crash fail point killed, stops answering
  // PING; then reaps it, so that it can be started again.
  void WaitForCoordinatorDeath() {
    bool dead = WaitUntil([&] { return !Client::Ping(cluster_->coordinator(), 200).ok(); },
                          std::chrono::seconds(10));
    ASSERT_TRUE(dead) << "the crash fail point did not fire";
    cluster_->Kill("coordinator-0");  // the process has ended: this only reaps it
  }

  // Writes `value` to the key of every participant in one transaction and commits; with a
  // coordinator fail point armed to crash, the commit ends without an answer.
  Status WriteEverywhere(const std::string& value, int timeout_ms = 10000) {
    auto c = NewClient(timeout_ms);
    if (c == nullptr) return Status::Internal("no client");
    auto txn = c->Begin();
    if (!txn.ok()) return txn.status();
    txn_ = *txn;
    for (const std::string& p : cluster_->participant_names()) {
      KV2PC_RETURN_IF_ERROR(c->Put(*txn, KeyOn(p), value));
    }
    return c->Commit(*txn);
  }

  // The value of every participant's key, read through coordinator-0.
  std::vector<std::string> Values() {
    auto c = NewClient(10000);
    std::vector<std::string> out;
    for (const std::string& p : cluster_->participant_names()) {
      auto v = c->Get(KeyOn(p));
      EXPECT_TRUE(v.ok()) << KeyOn(p) << ": " << v.status().ToString();
      out.push_back(v.ok() ? v->value_or("(not found)") : "(error)");
    }
    return out;
  }

  // How many times `text` occurs in the node logs.
  size_t CountInLogs(const std::string& text) {
    std::string logs = cluster_->Logs();
    size_t n = 0;
    for (size_t at = logs.find(text); at != std::string::npos; at = logs.find(text, at + 1)) n++;
    return n;
  }

  std::map<std::string, std::string> keys_;  // participant -> a key it owns
  TxnId txn_;                                // the last transaction WriteEverywhere began
};

// The coordinator dies after sending DECIDE_COMMIT to one participant only. If that message
// got out before the kill, the participant that committed tells the other two, and all three
// finish without the coordinator. If it did not (the kill is immediate, and ZeroMQ sends from
// its own thread), nobody knows the decision: all three stay in doubt, and say that their
// fellows are in doubt too. Either way, once the coordinator is back, all three keys hold the
// new value (the decision was durable before the crash): all or nothing.
TEST_F(CooperativeTerminationTest, CommitSentToOneParticipantReachesTheOthersThroughIt) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  ASSERT_TRUE(WriteEverywhere("old").ok());
  Arm("coordinator-0", "coordinator.after_commit_sent_to_some", "1*crash");
  Status s = WriteEverywhere("new", 1500);
  EXPECT_FALSE(s.ok()) << "the coordinator crashed before answering";
  WaitForCoordinatorDeath();
  const TxnId txn = txn_;
  const std::vector<std::string> names = cluster_->participant_names();

  // Wait until every participant is done, or until all three have asked each other and know
  // nobody can help (each one's account names both fellows as in doubt).
  auto stuck_everywhere = [&] {
    for (const std::string& p : names) {
      auto list = InDoubt(p);
      if (list.size() != 1 || list[0].txn != txn) return false;
      for (const std::string& q : names) {
        if (q != p && list[0].why.find(q + ": in doubt too") == std::string::npos) return false;
      }
    }
    return true;
  };
  bool settled = WaitUntil([&] { return NothingInDoubtAnywhere() || stuck_everywhere(); },
                           std::chrono::seconds(20));
  ASSERT_TRUE(settled) << "neither resolved nor stuck everywhere after 20 s";

  if (NothingInDoubtAnywhere()) {
    // Resolved without the coordinator: one participant had the decision, and the other two
    // learned it from it.
    std::cout << "[ branch   ] resolved by cooperative termination" << std::endl;
    EXPECT_EQ(CountInLogs(txn.ToString() + " -> COMMIT: learned from participant-"), 2u)
        << cluster_->Logs();
    for (const std::string& p : names) {
      EXPECT_EQ(Counter(p, "locked_keys"), 0u) << p;
      EXPECT_EQ(OutcomeAt(p, txn), Outcome::kCommitted) << p;
    }
  } else {
    std::cout << "[ branch   ] DECIDE_COMMIT never left: all three in doubt" << std::endl;
    for (const std::string& p : names) {
      auto list = InDoubt(p);
      ASSERT_EQ(list.size(), 1u) << p;
      EXPECT_NE(list[0].why.find("coordinator-0 unreachable"), std::string::npos) << list[0].why;
      EXPECT_EQ(OutcomeAt(p, txn), Outcome::kPending) << p;
    }
  }

  // The coordinator comes back with its decision record: everything commits, all or nothing.
  ASSERT_TRUE(cluster_->StartNode("coordinator-0").ok());
  EXPECT_TRUE(WaitUntil([&] { return NothingInDoubtAnywhere(); }, std::chrono::seconds(10)));
  EXPECT_EQ(Values(), std::vector<std::string>(3, "new"));
}

// One participant votes NO (participant.before_prepare_logged=error), and the coordinator dies
// before it tells the others (coordinator.before_abort_sent=crash). The two that prepared ask
// the NO voter, which aborted the transaction: they abort too and release their locks, without
// the coordinator. The old values stay everywhere.
TEST_F(CooperativeTerminationTest, ANoVoterTellsThePreparedOnesToAbort) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  ASSERT_TRUE(WriteEverywhere("old").ok());
  const std::vector<std::string> names = cluster_->participant_names();
  const std::string no_voter = names[1];
  Arm(no_voter, "participant.before_prepare_logged", "1*error");
  Arm("coordinator-0", "coordinator.before_abort_sent", "1*crash");
  Status s = WriteEverywhere("new", 1500);
  EXPECT_FALSE(s.ok());
  WaitForCoordinatorDeath();
  const TxnId txn = txn_;

  EXPECT_TRUE(WaitUntil([&] { return NothingInDoubtAnywhere(); }, std::chrono::seconds(20)))
      << "still in doubt after 20 s";
  // Both learned it from a fellow: the first from the NO voter, the second from the NO voter
  // or from the first.
  EXPECT_EQ(CountInLogs(txn.ToString() + " -> ABORT: learned from participant-"), 2u)
      << cluster_->Logs();
  EXPECT_GE(CountInLogs(txn.ToString() + " -> ABORT: learned from " + no_voter +
                        " (cooperative termination; coordinator-0 unreachable"),
            1u)
      << cluster_->Logs();
  for (const std::string& p : names) {
    EXPECT_EQ(Counter(p, "locked_keys"), 0u) << p;
    EXPECT_EQ(OutcomeAt(p, txn), Outcome::kAborted) << p;
  }

  ASSERT_TRUE(cluster_->StartNode("coordinator-0").ok());
  EXPECT_EQ(Values(), std::vector<std::string>(3, "old"));
}

// The coordinator dies right after logging COMMIT, before telling anyone. Every participant is
// PREPARED and none knows the decision: they ask each other, learn nothing, and wait -- listed
// by IN_DOUBT with the reason, also across a restart of one of them. Only the coordinator,
// back with its decision record, ends it.
TEST_F(CooperativeTerminationTest, WhenEveryoneIsInDoubtTheyWaitForTheCoordinator) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  ASSERT_TRUE(WriteEverywhere("old").ok());
  Arm("coordinator-0", "coordinator.after_decision_logged", "1*crash");
  Status s = WriteEverywhere("new", 1500);
  EXPECT_FALSE(s.ok());
  WaitForCoordinatorDeath();
  const TxnId txn = txn_;
  const std::vector<std::string> names = cluster_->participant_names();

  std::map<std::string, std::string> why;  // participant -> its account
  auto all_asked_each_other = [&] {
    for (const std::string& p : names) {
      auto list = InDoubt(p);
      if (list.size() != 1 || list[0].txn != txn) return false;
      for (const std::string& q : names) {
        if (q != p && list[0].why.find(q + ": in doubt too") == std::string::npos) return false;
      }
      why[p] = list[0].why;
    }
    return true;
  };
  ASSERT_TRUE(WaitUntil(all_asked_each_other, std::chrono::seconds(10)));
  // And they stay so: several more rounds (backing off to 500 ms) change nothing.
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  for (const std::string& p : names) {
    auto list = InDoubt(p);
    ASSERT_EQ(list.size(), 1u) << p;
    EXPECT_EQ(list[0].txn, txn);
    EXPECT_EQ(list[0].participants, names);
    EXPECT_EQ(list[0].why.rfind("coordinator-0 unreachable", 0), 0u) << list[0].why;
    EXPECT_EQ(Counter(p, "locked_keys"), 1u) << p;  // its X lock, held (I2)
  }
  // One that restarts meanwhile finds its fellows in its PREPARE record and asks them again.
  ASSERT_TRUE(cluster_->Restart(names[0]).ok());
  ASSERT_TRUE(WaitUntil(all_asked_each_other, std::chrono::seconds(10)));
  auto recovered = InDoubt(names[0]);
  ASSERT_EQ(recovered.size(), 1u);
  EXPECT_TRUE(recovered[0].recovered);
  EXPECT_EQ(recovered[0].participants, names);
  EXPECT_EQ(CountInLogs(txn.ToString() + " -> "), 0u) << "decided without the coordinator";

  ASSERT_TRUE(cluster_->StartNode("coordinator-0").ok());
  EXPECT_TRUE(WaitUntil([&] { return NothingInDoubtAnywhere(); }, std::chrono::seconds(10)));
  EXPECT_EQ(Values(), std::vector<std::string>(3, "new"));
  // Each learned it from the coordinator: its DECIDE_COMMIT, or its answer to QUERY_OUTCOME.
  EXPECT_EQ(CountInLogs(txn.ToString() + " -> COMMIT: DECIDE_COMMIT from coordinator-0") +
                CountInLogs(txn.ToString() + " -> COMMIT: decision record at coordinator-0"),
            3u)
      << cluster_->Logs();
}

// A participant's answers to QUERY_OUTCOME, one state at a time.
TEST_F(CooperativeTerminationTest, AParticipantAnswersQueryOutcomeByItsOwnState) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  const std::vector<std::string> names = cluster_->participant_names();
  auto c = NewClient(10000);
  ASSERT_NE(c, nullptr);

  // ACTIVE here: it aborts its part (it has not voted) and answers ABORTED; from then on it
  // votes NO, and the transaction cannot commit.
  auto active = c->Begin();
  ASSERT_TRUE(active.ok()) << active.status().ToString();
  ASSERT_TRUE(c->Put(*active, KeyOn(names[0]), "never").ok());
  EXPECT_EQ(OutcomeAt(names[0], *active), Outcome::kAborted);
  EXPECT_EQ(OutcomeAt(names[0], *active), Outcome::kAborted);  // remembered
  Reply vote = Ask(names[0], PrepareRequest{*active, 1, names});
  EXPECT_EQ(vote.vote, Vote::kNo);
  EXPECT_EQ(vote.reason, AbortReason::kPeerTermination);
  Status s = c->Commit(*active);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(c->last_abort_reason(), AbortReason::kPeerTermination) << s.ToString();
  EXPECT_EQ(Counter(names[0], "aborted.PEER_TERMINATION"), 1u);

  // Unknown here: UNKNOWN, never ABORTED (it may have committed it and forgotten).
  const TxnId unknown{0, active->incarnation, active->seq + 1000};
  EXPECT_EQ(OutcomeAt(names[0], unknown), Outcome::kUnknown);

  // PREPARED here (its YES held by a paused fail point): PENDING.
  Arm(names[1], "participant.after_prepare_logged", "pause");
  auto c2 = NewClient(10000);
  ASSERT_NE(c2, nullptr);
  auto prepared = c2->Begin();
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  ASSERT_TRUE(c2->Put(*prepared, KeyOn(names[1]), "v").ok());
  ASSERT_TRUE(c2->Put(*prepared, KeyOn(names[2]), "v").ok());  // two: not one-phase
  Status commit;
  std::thread committer([&] { commit = c2->Commit(*prepared); });
  bool is_prepared = WaitUntil(
      [&] {
        auto list = InDoubt(names[1]);
        return list.size() == 1 && list[0].txn == *prepared;
      },
      std::chrono::seconds(3));
  EXPECT_TRUE(is_prepared);
  EXPECT_EQ(OutcomeAt(names[1], *prepared), Outcome::kPending);
  Arm(names[1], "participant.after_prepare_logged", "off");  // the YES leaves now
  committer.join();
  ASSERT_TRUE(commit.ok()) << commit.ToString();
  // Committed here: COMMITTED (while its record is on its way to the disk, and after).
  EXPECT_EQ(OutcomeAt(names[1], *prepared), Outcome::kCommitted);

  // It only read here (voted READ_ONLY, so it left before the decision): UNKNOWN.
  auto read_only = c->Begin();
  ASSERT_TRUE(read_only.ok()) << read_only.status().ToString();
  ASSERT_TRUE(c->Get(*read_only, KeyOn(names[2])).ok());
  ASSERT_TRUE(c->Put(*read_only, KeyOn(names[0]), "w").ok());
  ASSERT_TRUE(c->Commit(*read_only).ok());
  EXPECT_EQ(OutcomeAt(names[2], *read_only), Outcome::kUnknown);
  EXPECT_EQ(OutcomeAt(names[0], *read_only), Outcome::kCommitted);
}

}  // namespace
}  // namespace kv2pc
