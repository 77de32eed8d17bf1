// The coordinator's knowledge from its decision log: replay (which decisions are unfinished,
// which are known COMMITTED outcomes), the bounded outcome history and its forgotten horizon
// (recovery/coordinator_replay.h; docs/protocol.md, QUERY_OUTCOME).
#include "recovery/coordinator_replay.h"

#include <gtest/gtest.h>

#include "wal/record.h"

namespace kv2pc::recovery {
namespace {

TxnId Id(uint32_t incarnation, uint64_t seq) { return TxnId{0, incarnation, seq}; }

class CoordinatorReplayTest : public ::testing::Test {
 protected:
  Status Decision(CoordinatorReplay& r, Lsn lsn, const TxnId& t) {
    wal::DecisionCommitRecord rec;
    rec.txn = t;
    rec.participants = {"participant-0", "participant-1"};
    return r.Visit(wal::RecordView{lsn, wal::kDecisionCommit, rec.Encode()});
  }
  Status End(CoordinatorReplay& r, Lsn lsn, const TxnId& t) {
    return r.Visit(wal::RecordView{lsn, wal::kEnd, wal::EndRecord{t}.Encode()});
  }
};

TEST_F(CoordinatorReplayTest, ReportsEveryDecisionEndedOrNot) {
  CoordinatorReplay r;
  ASSERT_TRUE(Decision(r, 7, Id(1, 1)).ok());
  ASSERT_TRUE(Decision(r, 8, Id(1, 3)).ok());
  ASSERT_TRUE(End(r, 9, Id(1, 1)).ok());
  ASSERT_TRUE(Decision(r, 10, Id(2, 1)).ok());
  ASSERT_TRUE(End(r, 11, Id(1, 0)).ok());  // an END whose decision was trimmed

  ASSERT_EQ(r.committed().size(), 3u);
  EXPECT_EQ(r.committed()[0].txn, Id(1, 1));
  EXPECT_EQ(r.committed()[0].lsn, 7u);
  EXPECT_EQ(r.committed()[1].txn, Id(1, 3));
  EXPECT_EQ(r.committed()[2].txn, Id(2, 1));
  EXPECT_EQ(r.committed()[2].lsn, 10u);

  auto unfinished = r.unfinished();
  ASSERT_EQ(unfinished.size(), 2u);
  EXPECT_EQ(unfinished[0].txn, Id(1, 3));
  EXPECT_EQ(unfinished[1].txn, Id(2, 1));
  EXPECT_EQ(unfinished[1].participants.size(), 2u);

  EXPECT_EQ(r.first_lsn(), 7u);
  EXPECT_EQ(r.max_incarnation(), 2u);
  EXPECT_EQ(r.ended(), 2u);
}

TEST_F(CoordinatorReplayTest, AnEmptyLogHasNoFirstLsn) {
  CoordinatorReplay r;
  EXPECT_EQ(r.first_lsn(), 0u);
  EXPECT_TRUE(r.committed().empty());
}

// ---- OutcomeHistory ----

TEST(OutcomeHistoryTest, RemembersTheNewestDecisionsAndPresumesAbortAboveTheHorizon) {
  OutcomeHistory h(3);
  EXPECT_EQ(h.Lookup(Id(1, 1)), Outcome::kAborted);  // nothing forgotten: presumed abort
  EXPECT_FALSE(h.oldest_lsn().has_value());
  for (uint64_t seq = 1; seq <= 3; seq++) h.Add(Id(1, seq), 10 + seq);
  EXPECT_FALSE(h.horizon().has_value());
  EXPECT_EQ(h.oldest_lsn(), 11u);
  EXPECT_EQ(h.Lookup(Id(1, 2)), Outcome::kCommitted);
  EXPECT_EQ(h.Lookup(Id(1, 4)), Outcome::kAborted);

  h.Add(Id(1, 5), 20);  // T1.1 is forgotten
  EXPECT_EQ(h.size(), 3u);
  EXPECT_EQ(h.horizon(), Id(1, 1));
  EXPECT_EQ(h.oldest_lsn(), 12u);
  EXPECT_EQ(h.Lookup(Id(1, 1)), Outcome::kUnknown);    // (H1): never a false ABORTED
  EXPECT_EQ(h.Lookup(Id(1, 0)), Outcome::kUnknown);    // below the horizon
  EXPECT_EQ(h.Lookup(Id(1, 5)), Outcome::kCommitted);  // remembered
  EXPECT_EQ(h.Lookup(Id(1, 4)), Outcome::kAborted);    // above the horizon, no decision
}

TEST(OutcomeHistoryTest, TheHorizonIsTheHighestForgottenIdNotTheOldest) {
  // Decisions are logged in commit order, which is not id order: T1.9 may commit before T1.2.
  OutcomeHistory h(2);
  h.Add(Id(1, 9), 1);
  h.Add(Id(1, 2), 2);
  h.Add(Id(1, 3), 3);  // forgets T1.9
  EXPECT_EQ(h.horizon(), Id(1, 9));
  EXPECT_EQ(h.Lookup(Id(1, 2)), Outcome::kCommitted);  // below the horizon but remembered
  EXPECT_EQ(h.Lookup(Id(1, 5)), Outcome::kUnknown);    // never decided, yet cannot tell
  h.Add(Id(1, 4), 4);  // forgets T1.2: the horizon stays at T1.9 (H2)
  EXPECT_EQ(h.horizon(), Id(1, 9));
  EXPECT_EQ(h.Lookup(Id(1, 2)), Outcome::kUnknown);
  EXPECT_EQ(h.Lookup(Id(1, 10)), Outcome::kAborted);
}

TEST(OutcomeHistoryTest, IdsAreOrderedByIncarnationThenSeq) {
  OutcomeHistory h(1, Id(2, 5));                           // a horizon read back from disk
  EXPECT_EQ(h.Lookup(Id(1, 1000000)), Outcome::kUnknown);  // earlier incarnation
  EXPECT_EQ(h.Lookup(Id(2, 5)), Outcome::kUnknown);        // at the horizon
  EXPECT_EQ(h.Lookup(Id(2, 6)), Outcome::kAborted);
  EXPECT_EQ(h.Lookup(Id(3, 1)), Outcome::kAborted);  // a later incarnation, no decision
  h.Add(Id(3, 1), 1);
  h.Add(Id(1, 7), 2);  // forgets T0.3.1: the horizon rises
  EXPECT_EQ(h.horizon(), Id(3, 1));
  h.Add(Id(3, 2), 3);  // forgets T0.1.7, which is below: no change (H2)
  EXPECT_EQ(h.horizon(), Id(3, 1));
  EXPECT_EQ(h.Lookup(Id(2, 6)), Outcome::kUnknown);
}

TEST(OutcomeHistoryTest, ReplayedDecisionsBeyondTheCapacityRaiseTheHorizon) {
  // At start-up the coordinator adds every decision still in the log; the log may hold more
  // than the history keeps (segments are trimmed whole).
  CoordinatorReplay replay;
  Lsn lsn = 1;
  for (uint64_t seq = 1; seq <= 10; seq++) {
    wal::DecisionCommitRecord rec;
    rec.txn = Id(4, seq);
    ASSERT_TRUE(replay.Visit(wal::RecordView{lsn++, wal::kDecisionCommit, rec.Encode()}).ok());
    ASSERT_TRUE(
        replay.Visit(wal::RecordView{lsn++, wal::kEnd, wal::EndRecord{Id(4, seq)}.Encode()}).ok());
  }
  OutcomeHistory h(4, Id(3, 100));
  for (const auto& c : replay.committed()) h.Add(c.txn, c.lsn);
  EXPECT_EQ(h.size(), 4u);
  EXPECT_EQ(h.horizon(), Id(4, 6));
  EXPECT_EQ(h.oldest_lsn(), 13u);  // T0.4.7's decision: the log must keep it
  EXPECT_EQ(h.Lookup(Id(4, 6)), Outcome::kUnknown);
  EXPECT_EQ(h.Lookup(Id(4, 7)), Outcome::kCommitted);
  EXPECT_EQ(h.Lookup(Id(4, 11)), Outcome::kAborted);
  EXPECT_EQ(h.Lookup(Id(5, 1)), Outcome::kAborted);
}

TEST(OutcomeHistoryTest, ZeroCapacityForgetsEveryDecisionAtOnce) {
  OutcomeHistory h(0);
  h.Add(Id(1, 3), 1);
  EXPECT_EQ(h.size(), 0u);
  EXPECT_FALSE(h.oldest_lsn().has_value());
  EXPECT_EQ(h.horizon(), Id(1, 3));
  EXPECT_EQ(h.Lookup(Id(1, 3)), Outcome::kUnknown);
  EXPECT_EQ(h.Lookup(Id(1, 4)), Outcome::kAborted);
}

TEST(OutcomeHistoryTest, ARepeatedDecisionIsRememberedOnce) {
  OutcomeHistory h(2);
  h.Add(Id(1, 1), 1);
  h.Add(Id(1, 1), 2);
  h.Add(Id(1, 2), 3);
  EXPECT_EQ(h.size(), 2u);
  EXPECT_FALSE(h.horizon().has_value());
  h.Add(Id(1, 3), 4);
  EXPECT_EQ(h.horizon(), Id(1, 1));
  EXPECT_FALSE(h.Contains(Id(1, 1)));
  EXPECT_TRUE(h.Contains(Id(1, 2)));
}

// ---- The horizon file ----

TEST(OutcomeHorizonFileTest, RoundTrips) {
  EXPECT_EQ(FormatOutcomeHorizon(std::nullopt), "none\n");
  EXPECT_EQ(FormatOutcomeHorizon(TxnId{2, 3, 17}), "T2.3.17\n");
  auto none = ParseOutcomeHorizon("none\n");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto some = ParseOutcomeHorizon(FormatOutcomeHorizon(TxnId{0, 7, 18446744073709551615ull}));
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(*some, (TxnId{0, 7, 18446744073709551615ull}));
}

// ---- Error paths ----

TEST(OutcomeHorizonFileTest, AnythingElseIsCorruption) {
  EXPECT_TRUE(ParseOutcomeHorizon("").status().IsCorruption());
  EXPECT_TRUE(ParseOutcomeHorizon("T0.0.5\n").status().IsCorruption());  // incarnation 0
  EXPECT_TRUE(ParseOutcomeHorizon("T0.1\n").status().IsCorruption());
  EXPECT_TRUE(ParseOutcomeHorizon("T0.1.2 extra\n").status().IsCorruption());
  EXPECT_TRUE(ParseOutcomeHorizon("nothing\n").status().IsCorruption());
}

TEST_F(CoordinatorReplayTest, RecordsThatDoNotBelongAreCorruption) {
  CoordinatorReplay r;
  EXPECT_TRUE(r.Visit(wal::RecordView{1, wal::kDecisionCommit, "not msgpack"}).IsCorruption());
  EXPECT_TRUE(r.Visit(wal::RecordView{2, wal::kPrepare, ""}).IsCorruption());
  EXPECT_TRUE(r.committed().empty());
}

}  // namespace
}  // namespace kv2pc::recovery
