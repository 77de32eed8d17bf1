// Wire codec: round trips of every message, and rejection of malformed, truncated and
// oversized input (docs/protocol.md).
#include "common/codec.h"

#include <gtest/gtest.h>

#include <msgpack.hpp>
#include <random>

namespace kv2pc {
namespace {

Message RoundTrip(const Message& m) {
  std::string bytes = EncodeMessage(m);
  uint64_t rid = 0;
  Result<Message> d = DecodeMessage(bytes, &rid);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(rid, m.request_id);
  return d.ok() ? *d : Message{};
}

const TxnId kTxn{2, 7, 123456789012ULL};

TEST(CodecTest, RequestsRoundTrip) {
  std::string binary("\x00\xff\x01zero\x00", 8);
  {
    auto m = RoundTrip({1, BeginRequest{}});
    EXPECT_EQ(m.type(), MsgType::kBegin);
  }
  {
    auto m = RoundTrip({2, GetRequest{kTxn, binary}});
    auto& g = std::get<GetRequest>(m.body);
    EXPECT_EQ(g.txn, kTxn);
    EXPECT_EQ(g.key, binary);
  }
  {
    auto m = RoundTrip({3, GetRequest{std::nullopt, "k"}});
    EXPECT_FALSE(std::get<GetRequest>(m.body).txn.has_value());
  }
  {
    auto m = RoundTrip({4, PutRequest{kTxn, "k", binary}});
    EXPECT_EQ(std::get<PutRequest>(m.body).value, binary);
  }
  {
    auto m = RoundTrip({5, DeleteRequest{std::nullopt, "k"}});
    EXPECT_EQ(std::get<DeleteRequest>(m.body).key, "k");
  }
  EXPECT_EQ(std::get<CommitRequest>(RoundTrip({6, CommitRequest{kTxn}}).body).txn, kTxn);
  EXPECT_EQ(std::get<AbortRequest>(RoundTrip({7, AbortRequest{kTxn}}).body).txn, kTxn);
  {
    auto m = RoundTrip({8, ReadRequest{kTxn, "k", 3}});
    EXPECT_EQ(std::get<ReadRequest>(m.body).seq, 3u);
  }
  {
    auto m = RoundTrip({9, WriteRequest{kTxn, "k", std::nullopt, 4}});
    auto& w = std::get<WriteRequest>(m.body);
    EXPECT_FALSE(w.value.has_value());
    EXPECT_EQ(w.seq, 4u);
    auto m2 = RoundTrip({9, WriteRequest{kTxn, "k", std::string(), 0}});
    ASSERT_TRUE(std::get<WriteRequest>(m2.body).value.has_value());
    EXPECT_EQ(*std::get<WriteRequest>(m2.body).value, "");
  }
  EXPECT_EQ(std::get<PrepareRequest>(RoundTrip({10, PrepareRequest{kTxn, 5, {}}}).body).ops, 5u);
  EXPECT_EQ(RoundTrip({11, DecideCommitRequest{kTxn}}).type(), MsgType::kDecideCommit);
  EXPECT_EQ(RoundTrip({12, DecideAbortRequest{kTxn}}).type(), MsgType::kDecideAbort);
  EXPECT_EQ(RoundTrip({13, QueryOutcomeRequest{kTxn}}).type(), MsgType::kQueryOutcome);
  EXPECT_EQ(RoundTrip({UINT64_MAX, PingRequest{}}).request_id, UINT64_MAX);
}

TEST(CodecTest, RepliesRoundTrip) {
  Reply r = Reply::AbortedBecause(AbortReason::kLockTimeout, "lock wait timed out");
  r.txn = kTxn;
  auto d = std::get<Reply>(RoundTrip({1, r}).body);
  EXPECT_EQ(d.code, ErrorCode::kAborted);
  EXPECT_EQ(d.reason, AbortReason::kLockTimeout);
  EXPECT_EQ(d.error, "lock wait timed out");
  EXPECT_EQ(d.txn, kTxn);

  Reply g;
  g.found = true;
  g.value = std::string(kMaxValueSize, 'v');
  d = std::get<Reply>(RoundTrip({2, g}).body);
  EXPECT_EQ(d.found, true);
  EXPECT_EQ(d.value, g.value);

  Reply missing;
  missing.found = false;
  missing.value.reset();
  d = std::get<Reply>(RoundTrip({3, missing}).body);
  EXPECT_EQ(d.found, false);
  EXPECT_FALSE(d.value.has_value());

  Reply v;
  v.vote = Vote::kReadOnly;
  v.outcome = Outcome::kPending;
  v.node = "participant-1";
  v.role = "participant";
  d = std::get<Reply>(RoundTrip({4, v}).body);
  EXPECT_EQ(d.vote, Vote::kReadOnly);
  EXPECT_EQ(d.outcome, Outcome::kPending);
  EXPECT_EQ(d.node, "participant-1");
}

// ---- Error paths ----

std::string Pack(const std::function<void(msgpack::packer<msgpack::sbuffer>&)>& fn) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  fn(pk);
  return std::string(buf.data(), buf.size());
}

TEST(CodecTest, ForUpdateIsOptionalAndRoundTrips) {
  EXPECT_FALSE(std::get<GetRequest>(RoundTrip({1, GetRequest{kTxn, "k"}}).body).for_update);
  EXPECT_TRUE(std::get<GetRequest>(RoundTrip({1, GetRequest{kTxn, "k", true}}).body).for_update);
  EXPECT_FALSE(std::get<ReadRequest>(RoundTrip({1, ReadRequest{kTxn, "k", 1, 2}}).body).for_update);
  EXPECT_TRUE(
      std::get<ReadRequest>(RoundTrip({1, ReadRequest{kTxn, "k", 1, 2, true}}).body).for_update);
  // Absent, the encoding is what version 1 always had (no extra key).
  EXPECT_EQ(EncodeMessage({1, GetRequest{std::nullopt, "k"}}),
            std::string("\x94\x01\x02\x01\x81\xa3key\xc4\x01k", 12));
}

TEST(CodecTest, StatusRequestAndReplyRoundTrip) {
  EXPECT_FALSE(std::get<StatusRequest>(RoundTrip({1, StatusRequest{}}).body).limit.has_value());
  EXPECT_EQ(std::get<StatusRequest>(RoundTrip({1, StatusRequest{7}}).body).limit, 7u);

  Reply r;
  r.node = "participant-1";
  r.role = "participant";
  NodeStatus st;
  st.uptime_ms = 1234;
  st.counters = {{"txns_active", 2}, {"aborted.LOCK_TIMEOUT", 1}};
  st.txns.push_back(TxnStatus{kTxn, "ACTIVE", 99, 15, 2, std::string("k\x00", 2), "detail"});
  st.txns.push_back(TxnStatus{TxnId{0, 1, 2}, "PREPARED", 1, 16, 1, std::nullopt, ""});
  st.txns_total = 5;
  st.locks.push_back(LockStatus{"k", "X", {kTxn}, {{TxnId{0, 1, 2}, "S"}, {TxnId{0, 1, 3}, "X"}}});
  st.locks.push_back(LockStatus{"j", "S", {kTxn, TxnId{0, 1, 2}}, {}});
  st.locks_total = 2;
  r.status = st;
  std::string bytes = EncodeMessage({9, r});
  Result<Message> d = DecodeMessage(bytes, nullptr, kReplyLimits);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  const Reply& got = std::get<Reply>(d->body);
  EXPECT_EQ(got.node, "participant-1");
  ASSERT_TRUE(got.status.has_value());
  EXPECT_EQ(*got.status, st);
}

TEST(CodecTest, RecoveryAndOperatorMessagesRoundTrip) {
  {
    auto p = std::get<PrepareRequest>(
        RoundTrip({1, PrepareRequest{kTxn, 3, {"participant-0", "participant-2"}}}).body);
    EXPECT_EQ(p.ops, 3u);
    EXPECT_EQ(p.participants, (std::vector<std::string>{"participant-0", "participant-2"}));
    EXPECT_TRUE(std::get<PrepareRequest>(RoundTrip({1, PrepareRequest{kTxn, 3, {}}}).body)
                    .participants.empty());
  }
  {
    auto h = std::get<HeuristicReportRequest>(
        RoundTrip({2, HeuristicReportRequest{kTxn, true, "participant-1"}}).body);
    EXPECT_EQ(h.txn, kTxn);
    EXPECT_TRUE(h.committed);
    EXPECT_EQ(h.participant, "participant-1");
  }
  {
    auto f = std::get<FailPointRequest>(
        RoundTrip({3, FailPointRequest{"participant.after_prepare_logged", "2*sleep(5)"}}).body);
    EXPECT_EQ(f.name, "participant.after_prepare_logged");
    EXPECT_EQ(f.action, "2*sleep(5)");
    auto list = std::get<FailPointRequest>(RoundTrip({3, FailPointRequest{}}).body);
    EXPECT_TRUE(list.name.empty());
    EXPECT_TRUE(list.action.empty());
  }
  EXPECT_EQ(std::get<InDoubtRequest>(RoundTrip({4, InDoubtRequest{5}}).body).limit, 5u);
  {
    auto r = std::get<ResolveRequest>(RoundTrip({5, ResolveRequest{kTxn, true}}).body);
    EXPECT_EQ(r.txn, kTxn);
    EXPECT_TRUE(r.commit);
    EXPECT_FALSE(std::get<ResolveRequest>(RoundTrip({5, ResolveRequest{kTxn, false}}).body).commit);
  }
  // A RESOLVE must say which way.
  std::string no_decision = "\x94\x01\x24\x01\x81\xa3txn\x93\x02\x07\x01";
  EXPECT_FALSE(DecodeMessage(no_decision, nullptr).ok());

  Reply r;
  r.outcome = Outcome::kUnknown;
  r.failpoints = {{"participant.after_prepare_logged", "pause", 3, 2},
                  {"participant.before_vote_sent", "1*error", 0, 0}};
  InDoubtTxn t;
  t.txn = kTxn;
  t.coordinator = "coordinator-2";
  t.age_ms = 1500;
  t.prepare_lsn = 77;
  t.recovered = true;
  t.participants = {"participant-0", "participant-1"};
  t.keys = {std::string("k\x00", 2), "j"};
  t.keys_total = 2;
  t.waiters = {TxnId{0, 1, 9}};
  t.why = "coordinator-2 unreachable";
  r.in_doubt = std::vector<InDoubtTxn>{t, InDoubtTxn{}};
  (*r.in_doubt)[1].txn = TxnId{1, 1, 1};
  std::string bytes = EncodeMessage({9, r});
  EXPECT_LE(EncodedSizeBound(t), 10 * 1024u);
  Result<Message> d = DecodeMessage(bytes, nullptr, kReplyLimits);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  const Reply& got = std::get<Reply>(d->body);
  EXPECT_EQ(got.outcome, Outcome::kUnknown);
  EXPECT_EQ(got.failpoints, r.failpoints);
  ASSERT_TRUE(got.in_doubt.has_value());
  EXPECT_EQ(*got.in_doubt, *r.in_doubt);
  // An empty list is still an answer ("nothing in doubt"), not a missing field.
  r.in_doubt->clear();
  d = DecodeMessage(EncodeMessage({9, r}), nullptr, kReplyLimits);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(std::get<Reply>(d->body).in_doubt.has_value());
}

TEST(CodecTest, InDoubtEntrySizeBoundIsAnUpperBound) {
  InDoubtTxn t;
  t.txn = TxnId{UINT32_MAX, UINT32_MAX, UINT64_MAX};
  t.coordinator = "coordinator-12345";
  t.age_ms = UINT64_MAX;
  t.prepare_lsn = UINT64_MAX;
  t.participants = {std::string(100, 'p'), std::string(100, 'q')};
  for (int i = 0; i < 100; i++) t.keys.push_back(std::string(256, 'k'));
  t.keys_total = UINT64_MAX;
  for (int i = 0; i < 50; i++) t.waiters.push_back(TxnId{UINT32_MAX, UINT32_MAX, UINT64_MAX});
  t.why = std::string(500, 'w');
  Reply one;
  one.in_doubt = std::vector<InDoubtTxn>{t};
  Reply none;
  none.in_doubt = std::vector<InDoubtTxn>{};
  size_t entry = EncodeMessage({1, one}).size() - EncodeMessage({1, none}).size();
  EXPECT_LE(entry, EncodedSizeBound(t));
}

TEST(CodecTest, StatusEntrySizeBoundsAreUpperBounds) {
  // What a node adds to its list per entry (kStatusListBudget) must not undercount the bytes.
  auto encoded = [](const NodeStatus& st) {
    Reply r;
    r.status = st;
    return EncodeMessage({UINT64_MAX, r}).size();
  };
  const size_t empty = encoded(NodeStatus{});
  const TxnId big{UINT32_MAX, UINT32_MAX, UINT64_MAX};
  NodeStatus one_txn;
  one_txn.txns.push_back(TxnStatus{big, "PREPARING", UINT64_MAX, UINT64_MAX, UINT32_MAX,
                                   std::string(256, 'k'), std::string(300, 'd')});
  EXPECT_LE(encoded(one_txn) - empty, EncodedSizeBound(one_txn.txns[0]));
  NodeStatus one_lock;
  one_lock.locks.push_back(LockStatus{std::string(256, 'k'), "X", {big, big, big}, {}});
  for (int i = 0; i < 5; i++) one_lock.locks[0].waiters.push_back(LockWaiter{big, "S"});
  EXPECT_LE(encoded(one_lock) - empty, EncodedSizeBound(one_lock.locks[0]));
}

TEST(CodecTest, ServersDecodeWithRequestLimitsSoListsAreRefused) {
  // A body with a long array is fine in a STATUS reply (client side) but not in anything a
  // server decodes: a small message cannot make a server allocate thousands of objects.
  Reply r;
  NodeStatus st;
  for (int i = 0; i < 100; i++)
    st.locks.push_back(LockStatus{"k" + std::to_string(i), "S", {}, {}});
  r.status = st;
  std::string bytes = EncodeMessage({1, r});
  EXPECT_TRUE(DecodeMessage(bytes, nullptr, kReplyLimits).ok());
  Result<Message> strict = DecodeMessage(bytes);
  ASSERT_FALSE(strict.ok());
  EXPECT_EQ(DecodeErrorCode(strict.status()), ErrorCode::kMalformedRequest);
}

TEST(CodecTest, RejectsEmptyAndGarbage) {
  EXPECT_TRUE(DecodeMessage("").status().IsInvalidArgument());
  std::mt19937 rng(42);
  for (int i = 0; i < 2000; i++) {
    std::string junk(rng() % 64, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    Result<Message> m = DecodeMessage(junk);  // must not crash, throw or hang
    if (m.ok()) {
      // A random string can only decode if it is a well-formed message.
      EXPECT_EQ(EncodeMessage(*m).size() > 0, true);
    }
  }
}

TEST(CodecTest, RejectsEveryTruncation) {
  std::string bytes = EncodeMessage({77, PutRequest{kTxn, "key", "value"}});
  for (size_t n = 0; n < bytes.size(); n++) {
    uint64_t rid = 0;
    Result<Message> m = DecodeMessage(std::string_view(bytes).substr(0, n), &rid);
    EXPECT_FALSE(m.ok()) << "prefix of " << n << " bytes decoded";
    EXPECT_EQ(DecodeErrorCode(m.status()), ErrorCode::kMalformedRequest);
  }
}

TEST(CodecTest, RejectsHugeClaimsWithoutAllocating) {
  // A str header claiming 2 GB, with nothing behind it.
  std::string claim = Pack([](auto& pk) {
    pk.pack_array(4);
    pk.pack(1);
    pk.pack(3);
    pk.pack(9);
    pk.pack_map(1);
    pk.pack(std::string("key"));
  });
  claim += std::string("\xdb\x80\x00\x00\x00", 5);  // str32 of 2^31 bytes
  EXPECT_TRUE(DecodeMessage(claim).status().IsInvalidArgument());
  // An array header claiming 4 billion entries.
  std::string arr("\xdd\xff\xff\xff\xff", 5);
  EXPECT_TRUE(DecodeMessage(arr).status().IsInvalidArgument());
  // Deep nesting.
  std::string deep(100, '\x91');
  deep += '\x01';
  EXPECT_TRUE(DecodeMessage(deep).status().IsInvalidArgument());
}

TEST(CodecTest, RejectsWrongShapesWithClearErrors) {
  auto msg = [](int type, const std::function<void(msgpack::packer<msgpack::sbuffer>&)>& body) {
    return Pack([&](auto& pk) {
      pk.pack_array(4);
      pk.pack(1);
      pk.pack(type);
      pk.pack(5);
      body(pk);
    });
  };
  uint64_t rid = 0;
  // Missing key.
  auto r = DecodeMessage(msg(2, [](auto& pk) { pk.pack_map(0); }), &rid);
  EXPECT_NE(r.status().message().find("missing field key"), std::string::npos);
  EXPECT_EQ(rid, 5u);  // the id is known, so the error reply can carry it
  // Key of the wrong type.
  r = DecodeMessage(msg(2, [](auto& pk) {
    pk.pack_map(1);
    pk.pack(std::string("key"));
    pk.pack(42);
  }));
  EXPECT_TRUE(r.status().IsInvalidArgument());
  // Bad txn.
  r = DecodeMessage(msg(5, [](auto& pk) {
    pk.pack_map(1);
    pk.pack(std::string("txn"));
    pk.pack(std::string("T0.1.1"));
  }));
  EXPECT_NE(r.status().message().find("txn"), std::string::npos);
  // Unknown type.
  r = DecodeMessage(msg(99, [](auto& pk) { pk.pack_map(0); }));
  EXPECT_NE(r.status().message().find("unknown message type"), std::string::npos);
  // Body not a map.
  r = DecodeMessage(msg(1, [](auto& pk) { pk.pack_array(0); }));
  EXPECT_TRUE(r.status().IsInvalidArgument());
  // Trailing bytes.
  std::string two = EncodeMessage({1, PingRequest{}}) + EncodeMessage({2, PingRequest{}});
  EXPECT_TRUE(DecodeMessage(two).status().IsInvalidArgument());
  // Unknown body keys are ignored (forward compatibility).
  r = DecodeMessage(msg(32, [](auto& pk) {
    pk.pack_map(1);
    pk.pack(std::string("future_field"));
    pk.pack(1);
  }));
  EXPECT_TRUE(r.ok());
}

TEST(CodecTest, OtherProtocolVersionIsUnsupported) {
  std::string bytes = Pack([](auto& pk) {
    pk.pack_array(4);
    pk.pack(2);
    pk.pack(32);
    pk.pack(11);
    pk.pack_map(0);
  });
  uint64_t rid = 0;
  auto r = DecodeMessage(bytes, &rid);
  EXPECT_EQ(DecodeErrorCode(r.status()), ErrorCode::kUnsupportedVersion);
  EXPECT_EQ(rid, 11u);
}

TEST(CodecTest, PrintableBytesEscapes) {
  EXPECT_EQ(PrintableBytes("abc"), "abc");
  EXPECT_EQ(PrintableBytes(std::string("a\0b\n", 4)), "a\\x00b\\x0a");
  EXPECT_EQ(PrintableBytes("a\\b"), "a\\\\b");
  EXPECT_EQ(PrintableBytes("abcdef", 3), "abc...");
}

}  // namespace
}  // namespace kv2pc
