// Checkpoints into SQLite and WAL trimming below them: what is trimmed, what is kept for
// undecided transactions, and that a restart (replay on top of the checkpoint) sees exactly
// the committed state, including after a crash between the checkpoint and the trim; and the
// one-phase commit ids that travel with the writes.
#include "participant/checkpointer.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <chrono>
#include <map>
#include <thread>

#include "recovery/participant_replay.h"
#include "tests/testutil/temp_dir.h"
#include "wal/log.h"
#include "wal/record.h"

namespace kv2pc::participant {
namespace {

constexpr uint64_t kSegment = 16 * 1024;

class CheckpointerTest : public ::testing::Test {
 protected:
  std::unique_ptr<wal::Log> OpenLog(recovery::ParticipantReplay* replay = nullptr) {
    wal::LogOptions o;
    o.dir = dir_.path() + "/wal";
    o.segment_size = kSegment;
    o.sync = false;  // durability is not under test here; trimming is
    auto log = wal::Log::Open(
        o, [replay](const wal::RecordView& r) { return replay ? replay->Visit(r) : Status::OK(); });
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return std::move(log).value();
  }
  std::unique_ptr<SqliteStore> OpenStore() {
    auto s = SqliteStore::Open(dir_.path() + "/data.sqlite");
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return std::move(s).value();
  }
  // Appends PREPARE + COMMIT of one write; returns the COMMIT's LSN.
  Lsn CommitOne(wal::Log& log, uint64_t seq, const std::string& key, const std::string& value) {
    TxnId t{0, 1, seq};
    EXPECT_TRUE(log.Append(wal::kPrepare, wal::PrepareRecord{t, {{key, value}}}.Encode()).ok());
    auto lsn = log.Append(wal::kCommit, wal::CommitRecord{t}.Encode());
    EXPECT_TRUE(lsn.ok());
    return *lsn;
  }
  static void WaitApplied(const Checkpointer& c, Lsn lsn) {
    for (int i = 0; i < 1000 && c.applied_lsn() < lsn; i++) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_GE(c.applied_lsn(), lsn);
  }
  static Lsn FirstLsn(const wal::Log& log) {
    std::string name = log.SegmentPaths().front();
    name = name.substr(name.rfind("wal-") + 4, 16);
    return std::stoull(name, nullptr, 16);
  }
  std::vector<TxnId> LoadOnePhase(SqliteStore& s) {
    std::vector<TxnId> out;
    EXPECT_TRUE(s.LoadOnePhase([&](const TxnId& id) { out.push_back(id); }).ok());
    return out;
  }
  // Runs `sql` on a second connection to data.sqlite.
  void ExecOnStore(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_.path() + "/data.sqlite").c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }
  std::map<std::string, std::string> Load(SqliteStore& s) {
    std::map<std::string, std::string> out;
    EXPECT_TRUE(s.LoadAll([&](std::string_view k, std::string_view v) {
                   out.emplace(std::string(k), std::string(v));
                 }).ok());
    return out;
  }

  testing::TempDir dir_;
  const std::string value_ = std::string(1000, 'v');
};

TEST_F(CheckpointerTest, TrimsBelowTheCheckpointButKeepsPinnedPrepares) {
  auto log = OpenLog();
  // An undecided transaction prepared early pins the log.
  TxnId pinned{0, 1, 999};
  auto pin = log->Append(wal::kPrepare, wal::PrepareRecord{pinned, {{"p", "x"}}}.Encode());
  ASSERT_TRUE(pin.ok());
  std::vector<wal::WriteOp> writes;
  Lsn last = 0;
  for (uint64_t i = 0; i < 100; i++) {
    last = CommitOne(*log, i + 1, "k" + std::to_string(i), value_);
    writes.push_back({"k" + std::to_string(i), value_});
  }
  ASSERT_TRUE(log->WaitDurable(last).ok());  // segments rotate as the flusher writes
  ASSERT_GT(log->SegmentPaths().size(), 3u);
  {
    Checkpointer c(OpenStore(), log.get());
    c.Submit(writes, last, *pin);
    WaitApplied(c, last);
  }
  EXPECT_LE(FirstLsn(*log), *pin) << "the pinned PREPARE's segment was trimmed";

  // Once it is decided, a later checkpoint trims up to the checkpoint.
  ASSERT_TRUE(log->Append(wal::kAbort, wal::AbortRecord{pinned}.Encode()).ok());
  Lsn more = CommitOne(*log, 500, "late", "1");
  for (int i = 0; i < 30; i++) CommitOne(*log, 600 + i, "filler", value_);  // a newer segment
  ASSERT_TRUE(log->WaitDurable(log->last_lsn()).ok());
  {
    Checkpointer c(OpenStore(), log.get());
    c.Submit({{"late", "1"}}, more, Checkpointer::kNoPin);
    WaitApplied(c, more);
  }
  EXPECT_GT(FirstLsn(*log), *pin);
  EXPECT_LE(FirstLsn(*log), more + 1);
}

TEST_F(CheckpointerTest, RestartAfterTrimSeesCommittedStateAndInDoubtTransactions) {
  TxnId pinned{0, 1, 999};
  Lsn checkpointed = 0;
  {
    auto log = OpenLog();
    std::vector<wal::WriteOp> writes;
    for (uint64_t i = 0; i < 50; i++) {
      checkpointed = CommitOne(*log, i + 1, "k" + std::to_string(i), value_);
      writes.push_back({"k" + std::to_string(i), value_});
    }
    auto pin = log->Append(wal::kPrepare, wal::PrepareRecord{pinned, {{"p", "x"}}}.Encode());
    for (uint64_t i = 50; i < 60; i++) CommitOne(*log, i + 1, "k" + std::to_string(i), "after");
    Checkpointer c(OpenStore(), log.get());
    c.Submit(writes, checkpointed, *pin);
    WaitApplied(c, checkpointed);
  }
  // Restart: the checkpoint, then the WAL on top of it.
  auto store = OpenStore();
  EXPECT_EQ(store->applied_lsn(), checkpointed);
  recovery::ParticipantReplay replay(store->applied_lsn());
  auto log = OpenLog(&replay);
  auto data = Load(*store);
  for (const auto& c : replay.commits_to_apply()) {
    for (const auto& w : c.writes) data[w.key] = *w.value;
  }
  ASSERT_EQ(data.size(), 60u);
  for (int i = 0; i < 60; i++) {
    EXPECT_EQ(data["k" + std::to_string(i)], i < 50 ? value_ : "after") << i;
  }
  EXPECT_EQ(replay.commits_to_apply().size(), 10u);  // only those above the checkpoint
  ASSERT_EQ(replay.in_doubt().size(), 1u);
  EXPECT_EQ(replay.in_doubt()[0].txn, pinned);
}

TEST_F(CheckpointerTest, CrashBetweenCheckpointAndTrimReplaysToTheSameState) {
  Lsn last = 0;
  {
    auto log = OpenLog();
    for (uint64_t i = 0; i < 40; i++)
      last = CommitOne(*log, i + 1, "k" + std::to_string(i % 7), "v" + std::to_string(i));
    // The checkpoint committed in SQLite; the process dies before trimming (no Checkpointer).
    std::vector<KeyWrite> batch;
    for (uint64_t i = 0; i < 40; i++)
      batch.push_back({"k" + std::to_string(i % 7), "v" + std::to_string(i)});
    ASSERT_TRUE(OpenStore()->ApplyBatch(batch, last).ok());
  }
  for (int round = 0; round < 2; round++) {  // replaying twice gives the same state
    auto store = OpenStore();
    recovery::ParticipantReplay replay(store->applied_lsn());
    auto log = OpenLog(&replay);
    EXPECT_TRUE(replay.commits_to_apply().empty());
    EXPECT_TRUE(replay.in_doubt().empty());
    auto data = Load(*store);
    ASSERT_EQ(data.size(), 7u);
    EXPECT_EQ(data["k0"], "v35");
    EXPECT_EQ(data["k4"], "v39");
  }
}

TEST_F(CheckpointerTest, OnePhaseIdsGoToSQLiteWithTheirWrites) {
  const TxnId a{0, 1, 1}, b{1, 1, 1}, c{0, 1, 2};
  {
    Checkpointer cp(OpenStore(), /*log=*/nullptr);
    cp.Submit({{"x", "1"}}, 5, Checkpointer::kNoPin, {a, b});
    cp.Submit({{"y", "2"}}, 6, Checkpointer::kNoPin);  // a two-phase commit: no ids
    cp.Submit({{"x", "3"}}, 7, Checkpointer::kNoPin, {c});
    WaitApplied(cp, 7);
  }
  auto store = OpenStore();
  EXPECT_EQ(store->applied_lsn(), 7u);
  EXPECT_EQ(Load(*store), (std::map<std::string, std::string>{{"x", "3"}, {"y", "2"}}));
  EXPECT_EQ(LoadOnePhase(*store), (std::vector<TxnId>{a, b, c}));  // in submission order
}

// ---- Error paths ----------------------------------------------------------------------------

TEST_F(CheckpointerTest, AFailedBatchKeepsItsOnePhaseIdsForTheRetry) {
  const TxnId a{0, 1, 1}, b{0, 1, 2}, c{0, 1, 3};
  { OpenStore(); }  // create the tables the trigger needs
  // Checkpoints to LSN 2 fail (after their writes and ids, which roll back); others work.
  ExecOnStore(
      "CREATE TRIGGER fail_lsn_2 BEFORE UPDATE ON meta WHEN NEW.value = 2"
      " BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");
  // The checkpointer logs each first failure: the test waits for that event.
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(16);
  spdlog::default_logger()->sinks().push_back(sink);
  struct RemoveSink {  // also when an ASSERT returns early; no thread logs by then
    ~RemoveSink() { spdlog::default_logger()->sinks().pop_back(); }
  } remove_sink;
  auto failed = [&] {
    for (const std::string& line : sink->last_formatted()) {
      if (line.find("checkpoint to SQLite failed") != std::string::npos) return true;
    }
    return false;
  };
  {
    Checkpointer cp(OpenStore(), /*log=*/nullptr);
    cp.Submit({{"x", "1"}}, 2, Checkpointer::kNoPin, {a, b});
    for (int i = 0; i < 1000 && !failed(); i++) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_TRUE(failed());
    EXPECT_EQ(cp.applied_lsn(), 0u);
    // The kept batch goes again with the next one, its ids first (the oldest).
    cp.Submit({{"y", "2"}}, 3, Checkpointer::kNoPin, {c});
    WaitApplied(cp, 3);
  }
  auto store = OpenStore();
  EXPECT_EQ(Load(*store), (std::map<std::string, std::string>{{"x", "1"}, {"y", "2"}}));
  EXPECT_EQ(LoadOnePhase(*store), (std::vector<TxnId>{a, b, c}));
}

}  // namespace
}  // namespace kv2pc::participant
