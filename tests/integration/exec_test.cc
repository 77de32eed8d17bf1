// EXEC (docs/protocol.md 5.6b) against real processes: several operations in one request, the
// commit in the same request with its last writes carried to the participants with the PREPARE
// (coordinator/exec.cc), a pipelined write that must wait for a lock, a read-only participant
// that votes only after the writers, and bad input refused before anything runs.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "client/client.h"
#include "common/codec.h"
#include "common/partitioner.h"
#include "common/transport.h"
#include "tests/testutil/cluster_test.h"

namespace kv2pc {
namespace {

using testing::ClusterTest;
using testing::TestCluster;

constexpr int kTimeoutMs = 10000;

class ExecTest : public ClusterTest {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<TestCluster>(3);
    Status s = cluster_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // A key owned by participant `p` (index into participant_names()), distinct per `n`.
  std::string KeyOn(size_t p, int n) {
    HashRing ring(cluster_->participant_names(), cluster_->vnodes());
    int found = 0;
    for (int i = 0; i < 1000000; i++) {
      std::string k = "exec-" + std::to_string(i);
      if (ring.OwnerIndex(k) == p && found++ == n) return k;
    }
    ADD_FAILURE() << "no key on participant " << p;
    return "exec-none";
  }

  // One EXEC on its own DEALER; the reply as it came (error replies included).
  Result<Reply> Exec(ExecRequest req) {
    zmq::context_t ctx;
    zmq::socket_t s(ctx, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::rcvtimeo, kTimeoutMs);
    s.connect(cluster_->coordinator());
    s.send(zmq::buffer(EncodeMessage(Message{1, std::move(req)})));
    zmq::message_t m;
    if (!s.recv(m)) return Status::TimedOut("no reply to EXEC");
    KV2PC_ASSIGN_OR_RETURN(Message msg, DecodeMessage(View(m), nullptr, kReplyLimits));
    return std::get<Reply>(std::move(msg.body));
  }

  static ExecOp Get(std::string key, bool for_update = false) {
    return ExecOp{ExecOp::Kind::kGet, std::move(key), "", for_update};
  }
  static ExecOp Put(std::string key, std::string value) {
    return ExecOp{ExecOp::Kind::kPut, std::move(key), std::move(value), false};
  }

  uint64_t ParticipantCounter(size_t p, const std::string& name) {
    auto r = Client::NodeStatus(cluster_->endpoint(cluster_->participant_names()[p]), std::nullopt,
                                kTimeoutMs);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return UINT64_MAX;
    for (const auto& [n, v] : r->status->counters) {
      if (n == name) return v;
    }
    return 0;
  }
};

TEST_F(ExecTest, ReadsThenWritesAndCommitAcrossParticipantsInTwoRequests) {
  const std::string a = KeyOn(0, 0), b = KeyOn(1, 0);
  auto client = NewClient();
  ASSERT_TRUE(client->Put(a, "10").ok());
  ASSERT_TRUE(client->Put(b, "20").ok());

  ExecRequest reads;
  reads.ops = {Get(a, true), Get(b, true), Get("exec-missing")};
  auto r1 = Exec(reads);
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  ASSERT_TRUE(r1->ok()) << r1->error;
  ASSERT_TRUE(r1->txn.has_value());
  ASSERT_TRUE(r1->ts.has_value()) << "an EXEC that begins the transaction tells its ts";
  ASSERT_TRUE(r1->results.has_value());
  ASSERT_EQ(r1->results->size(), 3u);
  EXPECT_EQ((*r1->results)[0], (ExecResult{true, "10"}));
  EXPECT_EQ((*r1->results)[1], (ExecResult{true, "20"}));
  EXPECT_EQ((*r1->results)[2], (ExecResult{false, std::nullopt}));

  ExecRequest writes;
  writes.txn = r1->txn;
  writes.ops = {Put(a, "9"), Put(b, "21")};
  writes.commit = true;
  auto r2 = Exec(writes);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  ASSERT_TRUE(r2->ok()) << r2->error;
  ASSERT_EQ(r2->results->size(), 2u);

  EXPECT_EQ(*client->Get(a), std::optional<std::string>("9"));
  EXPECT_EQ(*client->Get(b), std::optional<std::string>("21"));
  // The transaction is over: another EXEC on it is refused.
  ExecRequest again;
  again.txn = r1->txn;
  again.ops = {Get(a)};
  auto r3 = Exec(again);
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ(r3->code, ErrorCode::kTxnAlreadyCommitted);
}

TEST_F(ExecTest, ClientLibraryRunsATransferInTwoRequests) {
  const std::string a = KeyOn(0, 4), b = KeyOn(1, 4);
  auto client = NewClient();
  ASSERT_TRUE(client->Put(a, "100").ok());
  ASSERT_TRUE(client->Put(b, "5").ok());
  TxnId txn;
  auto reads = client->Exec(std::nullopt, {Get(a, true), Get(b, true)}, false, &txn);
  ASSERT_TRUE(reads.ok()) << reads.status().ToString();
  ASSERT_EQ(reads->size(), 2u);
  EXPECT_EQ((*reads)[0].value, std::optional<std::string>("100"));
  EXPECT_EQ((*reads)[1].value, std::optional<std::string>("5"));
  EXPECT_TRUE(txn.valid());
  EXPECT_GT(client->last_ts(), 0u);
  auto writes = client->Exec(txn, {Put(a, "90"), Put(b, "15")}, true);
  ASSERT_TRUE(writes.ok()) << writes.status().ToString();
  EXPECT_EQ(*client->Get(a), std::optional<std::string>("90"));
  EXPECT_EQ(*client->Get(b), std::optional<std::string>("15"));
  // Refused locally, before anything is sent.
  auto big = client->Exec(std::nullopt, {Get(std::string(kMaxKeySize + 1, 'k'))}, false);
  EXPECT_FALSE(big.ok());
  EXPECT_EQ(client->last_error_code(), ErrorCode::kKeyTooLarge);
}

TEST_F(ExecTest, OneRequestTransactionSeesItsOwnWritesInOrder) {
  const std::string a = KeyOn(2, 0);
  ExecRequest req;
  req.ops = {Put(a, "first"), Get(a), Put(a, "second"), Get(a)};
  req.commit = true;
  auto r = Exec(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->ok()) << r->error;
  EXPECT_EQ((*r->results)[1], (ExecResult{true, "first"}));
  EXPECT_EQ((*r->results)[3], (ExecResult{true, "second"}));
  auto client = NewClient();
  EXPECT_EQ(*client->Get(a), std::optional<std::string>("second"));
}

TEST_F(ExecTest, PipelinedWriteWaitsForItsLockAndThePrepareWaitsBehindIt) {
  // An older transaction holds the X lock on a (it wrote it); the younger commits an EXEC whose
  // write of a is pipelined with its PREPARE. The write waits (wound-wait: the younger waits
  // for the older), the PREPARE waits behind it; when the older commits, the younger goes on.
  const std::string a = KeyOn(0, 1), b = KeyOn(1, 1);
  auto older = NewClient();
  auto t_old = older->Begin();
  ASSERT_TRUE(t_old.ok());
  ASSERT_TRUE(older->Put(*t_old, a, "old").ok());

  Result<Reply> younger = Status::Internal("not run");
  std::thread t([&] {
    ExecRequest req;
    req.ops = {Put(a, "young"), Put(b, "young")};
    req.commit = true;
    younger = Exec(req);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_GE(ParticipantCounter(0, "lock_waits"), 1u) << "the pipelined write should wait";
  ASSERT_TRUE(older->Commit(*t_old).ok());
  t.join();
  ASSERT_TRUE(younger.ok()) << younger.status().ToString();
  ASSERT_TRUE(younger->ok()) << younger->error;
  auto client = NewClient();
  EXPECT_EQ(*client->Get(a), std::optional<std::string>("young"));
  EXPECT_EQ(*client->Get(b), std::optional<std::string>("young"));
}

TEST_F(ExecTest, ReadOnlyParticipantVotesAfterThePipelinedWritersAndDropsOut) {
  const std::string r = KeyOn(0, 2), w = KeyOn(1, 2);
  auto client = NewClient();
  ASSERT_TRUE(client->Put(r, "x").ok());
  const uint64_t read_only_before = ParticipantCounter(0, "read_only");
  ExecRequest req;
  req.ops = {Get(r), Put(w, "from-exec")};
  req.commit = true;
  auto reply = Exec(req);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  ASSERT_TRUE(reply->ok()) << reply->error;
  EXPECT_EQ((*reply->results)[0], (ExecResult{true, "x"}));
  EXPECT_EQ(ParticipantCounter(0, "read_only"), read_only_before + 1);
  EXPECT_EQ(*client->Get(w), std::optional<std::string>("from-exec"));
}

TEST_F(ExecTest, BadInputIsRefusedBeforeAnythingRunsAndTheTransactionGoesOn) {
  const std::string a = KeyOn(0, 3);
  ExecRequest begin;
  begin.ops = {Put(a, "kept")};
  auto r = Exec(begin);
  ASSERT_TRUE(r.ok() && r->ok());
  const TxnId txn = *r->txn;

  ExecRequest big_key;
  big_key.txn = txn;
  big_key.ops = {Get(std::string(kMaxKeySize + 1, 'k'))};
  auto e1 = Exec(big_key);
  ASSERT_TRUE(e1.ok());
  EXPECT_EQ(e1->code, ErrorCode::kKeyTooLarge);

  ExecRequest big_value;
  big_value.txn = txn;
  big_value.ops = {Put(a, std::string(kMaxValueSize + 1, 'v'))};
  auto e2 = Exec(big_value);
  ASSERT_TRUE(e2.ok());
  EXPECT_EQ(e2->code, ErrorCode::kValueTooLarge);

  ExecRequest ts_with_txn;
  ts_with_txn.txn = txn;
  ts_with_txn.ts = 5;
  auto e3 = Exec(ts_with_txn);
  ASSERT_TRUE(e3.ok());
  EXPECT_EQ(e3->code, ErrorCode::kMalformedRequest);

  ExecRequest unknown;
  unknown.txn = TxnId{0, 999, 1};
  auto e4 = Exec(unknown);
  ASSERT_TRUE(e4.ok());
  EXPECT_EQ(e4->code, ErrorCode::kTxnNotFound);

  // The transaction is untouched by the refusals: it commits what it wrote.
  ExecRequest commit;
  commit.txn = txn;
  commit.commit = true;
  auto c = Exec(commit);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->ok()) << c->error;
  auto client = NewClient();
  EXPECT_EQ(*client->Get(a), std::optional<std::string>("kept"));
}

TEST_F(ExecTest, UndecodableOperationsAreMalformed) {
  // An op name that is not get/put/delete, and a put without value, from raw msgpack.
  for (const char* bad : {"\x94\x01\x07\x01\x81\xa3ops\x91\x82\xa2op\xa4"
                          "drop\xa3key\xa1k",
                          "\x94\x01\x07\x01\x81\xa3ops\x91\x82\xa2op\xa3put\xa3key\xa1k"}) {
    auto d = DecodeMessage(bad);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(DecodeErrorCode(d.status()), ErrorCode::kMalformedRequest) << d.status().ToString();
  }
  // Round trip of a well-formed one.
  ExecRequest req;
  req.txn = TxnId{1, 2, 3};
  req.ops = {Get("g", true), Put("p", "v"), ExecOp{ExecOp::Kind::kDelete, "d", "", false}};
  req.commit = true;
  auto d = DecodeMessage(EncodeMessage(Message{9, req}));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  const auto& got = std::get<ExecRequest>(d->body);
  EXPECT_EQ(got.txn, req.txn);
  EXPECT_EQ(got.ops, req.ops);
  EXPECT_TRUE(got.commit);
}

}  // namespace
}  // namespace kv2pc
