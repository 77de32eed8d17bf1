// Rebuilding a participant's outcomes from WAL records.
#include "recovery/participant_replay.h"

#include <gtest/gtest.h>

namespace kv2pc::recovery {
namespace {

const TxnId T1{0, 1, 1}, T2{0, 1, 2}, T3{0, 1, 3};

class ParticipantReplayTest : public ::testing::Test {
 protected:
  Status Feed(ParticipantReplay& r, Lsn lsn, uint8_t type, const std::string& payload) {
    return r.Visit(wal::RecordView{lsn, type, payload});
  }
  std::string Prepare(const TxnId& t, std::vector<wal::WriteOp> w) {
    return wal::PrepareRecord{t, std::move(w)}.Encode();
  }
};

TEST_F(ParticipantReplayTest, SortsTransactionsByOutcome) {
  ParticipantReplay r(/*applied_lsn=*/0);
  ASSERT_TRUE(Feed(r, 1, wal::kPrepare, Prepare(T1, {{"a", "1"}})).ok());
  ASSERT_TRUE(Feed(r, 2, wal::kPrepare, Prepare(T2, {{"b", std::nullopt}})).ok());
  ASSERT_TRUE(Feed(r, 3, wal::kPrepare, Prepare(T3, {{"c", "3"}})).ok());
  ASSERT_TRUE(Feed(r, 4, wal::kCommit, wal::CommitRecord{T1}.Encode()).ok());
  ASSERT_TRUE(Feed(r, 5, wal::kAbort, wal::AbortRecord{T2}.Encode()).ok());
  ASSERT_EQ(r.commits_to_apply().size(), 1u);
  EXPECT_EQ(r.commits_to_apply()[0].txn, T1);
  EXPECT_EQ(r.commits_to_apply()[0].lsn, 4u);
  auto doubt = r.in_doubt();
  ASSERT_EQ(doubt.size(), 1u);
  EXPECT_EQ(doubt[0].txn, T3);
  EXPECT_EQ(doubt[0].writes[0].key, "c");
  EXPECT_EQ(r.finished().size(), 2u);
}

TEST_F(ParticipantReplayTest, CommitsAtOrBelowTheCheckpointAreNotReapplied) {
  ParticipantReplay r(/*applied_lsn=*/3);
  ASSERT_TRUE(Feed(r, 1, wal::kPrepare, Prepare(T1, {{"a", "1"}})).ok());
  ASSERT_TRUE(Feed(r, 2, wal::kPrepare, Prepare(T2, {{"b", "2"}})).ok());
  ASSERT_TRUE(Feed(r, 3, wal::kCommit, wal::CommitRecord{T1}.Encode()).ok());
  ASSERT_TRUE(Feed(r, 4, wal::kCommit, wal::CommitRecord{T2}.Encode()).ok());
  ASSERT_EQ(r.commits_to_apply().size(), 1u);
  EXPECT_EQ(r.commits_to_apply()[0].txn, T2);
}

TEST_F(ParticipantReplayTest, InDoubtTransactionsKeepTheirParticipants) {
  ParticipantReplay r(0);
  const std::vector<std::string> all = {"participant-0", "participant-1", "participant-2"};
  ASSERT_TRUE(Feed(r, 1, wal::kPrepare, wal::PrepareRecord{T1, {{"a", "1"}}, all}.Encode()).ok());
  // Written before PREPARE listed the participants: in doubt all the same, nobody to ask.
  ASSERT_TRUE(Feed(r, 2, wal::kPrepare, Prepare(T2, {{"b", "2"}})).ok());
  ASSERT_TRUE(Feed(r, 3, wal::kPrepare, wal::PrepareRecord{T3, {{"c", "3"}}, all}.Encode()).ok());
  ASSERT_TRUE(Feed(r, 4, wal::kCommit, wal::CommitRecord{T3}.Encode()).ok());
  auto doubt = r.in_doubt();
  ASSERT_EQ(doubt.size(), 2u);
  EXPECT_EQ(doubt[0].txn, T1);
  EXPECT_EQ(doubt[0].participants, all);
  EXPECT_EQ(doubt[1].txn, T2);
  EXPECT_TRUE(doubt[1].participants.empty());
  ASSERT_EQ(r.commits_to_apply().size(), 1u);
  EXPECT_EQ(r.commits_to_apply()[0].writes[0].key, "c");
}

TEST_F(ParticipantReplayTest, OnePhaseCommitIsACommitAtOneLsn) {
  ParticipantReplay r(/*applied_lsn=*/0);
  ASSERT_TRUE(Feed(r, 1, wal::kPrepare, Prepare(T1, {{"a", "1"}})).ok());
  ASSERT_TRUE(Feed(r, 2, wal::kOnePhaseCommit,
                   wal::OnePhaseCommitRecord{T2, {{"b", "2"}, {"c", std::nullopt}}}.Encode())
                  .ok());
  ASSERT_TRUE(Feed(r, 3, wal::kCommit, wal::CommitRecord{T1}.Encode()).ok());
  ASSERT_EQ(r.commits_to_apply().size(), 2u);  // in LSN order, the one-phase one first
  EXPECT_EQ(r.commits_to_apply()[0].txn, T2);
  EXPECT_EQ(r.commits_to_apply()[0].lsn, 2u);
  EXPECT_EQ(r.commits_to_apply()[0].writes,
            (std::vector<wal::WriteOp>{{"b", "2"}, {"c", std::nullopt}}));
  EXPECT_EQ(r.commits_to_apply()[1].txn, T1);
  EXPECT_TRUE(r.in_doubt().empty());  // never in doubt
  EXPECT_EQ(r.finished(), (std::vector<std::pair<TxnId, bool>>{{T2, true}, {T1, true}}));
  EXPECT_EQ(r.one_phase(), std::vector<TxnId>{T2});
}

TEST_F(ParticipantReplayTest, OnePhaseCommitsBelowTheCheckpointAreListedButNotReapplied) {
  ParticipantReplay r(/*applied_lsn=*/2);
  ASSERT_TRUE(
      Feed(r, 1, wal::kOnePhaseCommit, wal::OnePhaseCommitRecord{T1, {{"a", "1"}}}.Encode()).ok());
  ASSERT_TRUE(
      Feed(r, 2, wal::kOnePhaseCommit, wal::OnePhaseCommitRecord{T2, {{"b", "2"}}}.Encode()).ok());
  ASSERT_TRUE(
      Feed(r, 3, wal::kOnePhaseCommit, wal::OnePhaseCommitRecord{T3, {{"c", "3"}}}.Encode()).ok());
  ASSERT_EQ(r.commits_to_apply().size(), 1u);
  EXPECT_EQ(r.commits_to_apply()[0].txn, T3);
  EXPECT_EQ(r.one_phase(), (std::vector<TxnId>{T1, T2, T3}));  // all of them, in LSN order
  EXPECT_EQ(r.finished().size(), 3u);
}

TEST_F(ParticipantReplayTest, ImpossibleSequencesAreCorruption) {
  ParticipantReplay r(0);
  ASSERT_TRUE(Feed(r, 1, wal::kPrepare, Prepare(T1, {{"a", "1"}})).ok());
  EXPECT_TRUE(Feed(r, 2, wal::kPrepare, Prepare(T1, {{"a", "1"}})).IsCorruption());
  EXPECT_TRUE(Feed(r, 3, wal::kCommit, wal::CommitRecord{T2}.Encode()).IsCorruption());
  EXPECT_TRUE(Feed(r, 4, wal::kPrepare, "not msgpack").IsCorruption());
  EXPECT_TRUE(Feed(r, 5, 99, "").IsCorruption());
  // A one-phase commit of a transaction this participant prepared, or an undecodable one.
  EXPECT_TRUE(Feed(r, 6, wal::kOnePhaseCommit, wal::OnePhaseCommitRecord{T1, {{"a", "1"}}}.Encode())
                  .IsCorruption());
  EXPECT_TRUE(
      Feed(r, 7, wal::kOnePhaseCommit, wal::PrepareRecord{T3, {{"c", "3"}}, {"p0", "p1"}}.Encode())
          .IsCorruption());
  EXPECT_TRUE(r.one_phase().empty());
  EXPECT_TRUE(r.commits_to_apply().empty());
}

}  // namespace
}  // namespace kv2pc::recovery
