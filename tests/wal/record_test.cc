// Tests of the WAL record payloads (wal/record.h): msgpack round trips, defensive decoding,
// and DescribeRecord's one-line form.
#include "wal/record.h"

#include <gtest/gtest.h>

#include <msgpack.hpp>
#include <random>

namespace kv2pc::wal {
namespace {

const TxnId kTxn{3, 7, 123456789012ull};

std::string Pack(const std::function<void(msgpack::packer<msgpack::sbuffer>&)>& f) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(&buf);
  f(pk);
  return std::string(buf.data(), buf.size());
}

TEST(RecordTest, TypeNumbersAreStable) {
  // On disk forever: changing one breaks every existing log.
  EXPECT_EQ(1, kPrepare);
  EXPECT_EQ(2, kCommit);
  EXPECT_EQ(3, kAbort);
  EXPECT_EQ(4, kOnePhaseCommit);
  EXPECT_EQ(16, kDecisionCommit);
  EXPECT_EQ(17, kEnd);
  EXPECT_EQ("DECISION_COMMIT", RecordTypeName(kDecisionCommit));
  EXPECT_EQ("ONE_PHASE_COMMIT", RecordTypeName(kOnePhaseCommit));
  EXPECT_EQ("UNKNOWN", RecordTypeName(99));
}

TEST(RecordTest, PrepareRoundTripsPutsDeletesAndBinaryBytes) {
  PrepareRecord r{kTxn,
                  {{"a", "1"},
                   {"deleted", std::nullopt},
                   {std::string("\0\xff", 2), std::string(kMaxValueSize, 'v')},
                   {"empty", ""}}};
  Result<PrepareRecord> d = PrepareRecord::Decode(r.Encode());
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(r, *d);
  EXPECT_FALSE(d->writes[1].value.has_value());
  EXPECT_TRUE(d->writes[3].value.has_value());
}

TEST(RecordTest, PrepareWithNoWritesRoundTrips) {
  PrepareRecord r{kTxn, {}};
  Result<PrepareRecord> d = PrepareRecord::Decode(r.Encode());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(r, *d);
}

TEST(RecordTest, PrepareRoundTripsItsParticipants) {
  PrepareRecord r{kTxn, {{"a", "1"}}, {"participant-0", "participant-2", ""}};
  Result<PrepareRecord> d = PrepareRecord::Decode(r.Encode());
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(r, *d);
  EXPECT_EQ((std::vector<std::string>{"participant-0", "participant-2", ""}), d->participants);
}

TEST(RecordTest, PrepareWithParticipantsIsTheThreeElementArrayDocumented) {
  // docs/wal-format.md: PREPARE = [txn, [[key, value | nil], ...], [participant, ...]].
  const PrepareRecord r{TxnId{0, 1, 5}, {{"a", "1"}, {"b", std::nullopt}}, {"p0"}};
  EXPECT_EQ(std::string("\x93\x93\x00\x01\x05"  // [txn,
                        "\x92\x92\xc4\x01"
                        "a"
                        "\xc4\x01"
                        "1"  //  [["a", "1"],
                        "\x92\xc4\x01"
                        "b"
                        "\xc0"  //   ["b", nil]],
                        "\x91\xa2"
                        "p0",  //  ["p0"]]
                        22),
            r.Encode());
}

TEST(RecordTest, PrepareWithoutParticipantsKeepsTheOldTwoElementForm) {
  // The worked example of docs/wal-format.md, as every PREPARE before the list was written:
  // it must still decode (with no participants), and a record without participants must
  // still be written exactly so.
  const std::string old_bytes(
      "\x92\x93\x00\x01\x05\x92\x92\xc4\x01"
      "a"
      "\xc4\x01"
      "1"
      "\x92\xc4\x01"
      "b"
      "\xc0",
      18);
  Result<PrepareRecord> d = PrepareRecord::Decode(old_bytes);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ((TxnId{0, 1, 5}), d->txn);
  EXPECT_EQ(2u, d->writes.size());
  EXPECT_TRUE(d->participants.empty());
  EXPECT_EQ(old_bytes, (PrepareRecord{TxnId{0, 1, 5}, {{"a", "1"}, {"b", std::nullopt}}}.Encode()));
}

TEST(RecordTest, TxnOnlyRecordsRoundTrip) {
  EXPECT_EQ(kTxn, CommitRecord::Decode(CommitRecord{.txn = kTxn}.Encode())->txn);
  EXPECT_EQ(kTxn, AbortRecord::Decode(AbortRecord{.txn = kTxn}.Encode())->txn);
  EXPECT_EQ(kTxn, EndRecord::Decode(EndRecord{.txn = kTxn}.Encode())->txn);
  const TxnId max{UINT32_MAX, UINT32_MAX, UINT64_MAX};
  EXPECT_EQ(max, CommitRecord::Decode(CommitRecord{.txn = max}.Encode())->txn);
}

TEST(RecordTest, DecisionCommitRoundTrips) {
  DecisionCommitRecord r{kTxn, {"participant-0", "participant-2"}};
  Result<DecisionCommitRecord> d = DecisionCommitRecord::Decode(r.Encode());
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(r, *d);
}

TEST(RecordTest, OnePhaseCommitRoundTripsPutsDeletesAndBinaryBytes) {
  OnePhaseCommitRecord r{kTxn,
                         {{"a", "1"},
                          {"deleted", std::nullopt},
                          {std::string("\0\xff", 2), std::string(kMaxValueSize, 'v')},
                          {"empty", ""}}};
  Result<OnePhaseCommitRecord> d = OnePhaseCommitRecord::Decode(r.Encode());
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(r, *d);
  EXPECT_FALSE(d->writes[1].value.has_value());
  EXPECT_TRUE(d->writes[3].value.has_value());
  Result<OnePhaseCommitRecord> empty =
      OnePhaseCommitRecord::Decode(OnePhaseCommitRecord{kTxn, {}}.Encode());
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ((OnePhaseCommitRecord{kTxn, {}}), *empty);
}

TEST(RecordTest, OnePhaseCommitHasTheBytesOfATwoElementPrepare) {
  // docs/wal-format.md: ONE_PHASE_COMMIT = [txn, [[key, value | nil], ...]], PREPARE's
  // worked example byte for byte; only the record type tells them apart.
  const std::vector<WriteOp> writes = {{"a", "1"}, {"b", std::nullopt}};
  const std::string bytes = OnePhaseCommitRecord{TxnId{0, 1, 5}, writes}.Encode();
  EXPECT_EQ(std::string("\x92\x93\x00\x01\x05\x92\x92\xc4\x01"
                        "a"
                        "\xc4\x01"
                        "1"
                        "\x92\xc4\x01"
                        "b"
                        "\xc0",
                        18),
            bytes);
  EXPECT_EQ((PrepareRecord{TxnId{0, 1, 5}, writes}.Encode()), bytes);
  Result<PrepareRecord> as_prepare = PrepareRecord::Decode(bytes);
  ASSERT_TRUE(as_prepare.ok()) << as_prepare.status().ToString();
  EXPECT_EQ(writes, as_prepare->writes);
}

TEST(RecordTest, PayloadIsThePositionalArrayDocumentedInWalFormat) {
  // docs/wal-format.md: COMMIT = [[coordinator, incarnation, seq]].
  const CommitRecord commit{.txn = TxnId{0, 1, 5}};
  EXPECT_EQ(std::string("\x91\x93\x00\x01\x05", 5), commit.Encode());
}

// ---- Error paths ----------------------------------------------------------------------------

TEST(RecordTest, MalformedPayloadsAreCorruptionNotExceptions) {
  std::vector<std::string> bad = {
      "",
      "\xc1",                                                  // never-used msgpack byte
      std::string("\x91\x93\x00\x01", 4),                      // truncated
      std::string("\x91\x93\x00\x00\x05", 5),                  // incarnation 0
      std::string("\x92\x93\x00\x01\x05\x90", 6),              // COMMIT with 2 fields
      std::string("\x91\x93\x00\x01\x05\x00", 6),              // trailing byte
      std::string("\x91\x93\x00\xce\x00\x00\x00\x01\x05", 9),  // ok ...
      std::string("\x91\x93\xcf\x00\x00\x00\x01\x00\x00\x00\x00\x01\x05", 13),  // coord > u32
      std::string("\x91\x93\x00\x01\xa1x", 6),                                  // seq is a str
      std::string("\x91\x81\x00\x00", 4),                                       // map, not array
      std::string("\xdd\xff\xff\xff\xff", 5),  // array of 4G elements
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    Result<CommitRecord> r = CommitRecord::Decode(bad[i]);
    if (i == 6) {
      EXPECT_TRUE(r.ok()) << r.status().ToString();  // uint32 encoding of 1 is fine
      continue;
    }
    EXPECT_TRUE(r.status().IsCorruption()) << "case " << i << ": " << r.status().ToString();
  }
}

TEST(RecordTest, PrepareRejectsWrongShapesAndOversizedKeys) {
  auto txn = [](auto& pk) {
    pk.pack_array(3);
    pk.pack_uint32(0);
    pk.pack_uint32(1);
    pk.pack_uint64(1);
  };
  std::string oversized_key = Pack([&](auto& pk) {
    pk.pack_array(2);
    txn(pk);
    pk.pack_array(1);
    pk.pack_array(2);
    std::string key(kMaxKeySize + 1, 'k');
    pk.pack_bin(key.size());
    pk.pack_bin_body(key.data(), key.size());
    pk.pack_nil();
  });
  EXPECT_TRUE(PrepareRecord::Decode(oversized_key).status().IsCorruption());
  std::string str_key = Pack([&](auto& pk) {
    pk.pack_array(2);
    txn(pk);
    pk.pack_array(1);
    pk.pack_array(2);
    pk.pack_str(1);
    pk.pack_str_body("k", 1);
    pk.pack_nil();
  });
  EXPECT_TRUE(PrepareRecord::Decode(str_key).status().IsCorruption());
  std::string int_value = Pack([&](auto& pk) {
    pk.pack_array(2);
    txn(pk);
    pk.pack_array(1);
    pk.pack_array(2);
    pk.pack_bin(1);
    pk.pack_bin_body("k", 1);
    pk.pack_int(5);
  });
  EXPECT_TRUE(PrepareRecord::Decode(int_value).status().IsCorruption());
  std::string oversized_value = Pack([&](auto& pk) {
    pk.pack_array(2);
    txn(pk);
    pk.pack_array(1);
    pk.pack_array(2);
    pk.pack_bin(1);
    pk.pack_bin_body("k", 1);
    std::string v(kMaxValueSize + 1, 'v');
    pk.pack_bin(v.size());
    pk.pack_bin_body(v.data(), v.size());
  });
  EXPECT_TRUE(PrepareRecord::Decode(oversized_value).status().IsCorruption());
  // [txn, [], <more...>]: a PREPARE without writes, then `more` packs `extra` more elements.
  using Packer = msgpack::packer<msgpack::sbuffer>;
  auto prepare_then = [&](uint32_t extra, const std::function<void(Packer&)>& more) {
    return Pack([&](auto& pk) {
      pk.pack_array(2 + extra);
      txn(pk);
      pk.pack_array(0);
      more(pk);
    });
  };
  auto bad = [](const std::string& payload) {
    return PrepareRecord::Decode(payload).status().IsCorruption();
  };
  // The participants are an array of str, and nothing follows them.
  EXPECT_TRUE(bad(prepare_then(1, [](Packer& pk) {  // a str, not an array of them
    pk.pack_str(2);
    pk.pack_str_body("p0", 2);
  })));
  EXPECT_TRUE(bad(prepare_then(1, [](Packer& pk) {  // an array of bin
    pk.pack_array(1);
    pk.pack_bin(2);
    pk.pack_bin_body("p0", 2);
  })));
  EXPECT_TRUE(bad(prepare_then(1, [](Packer& pk) { pk.pack_nil(); })));
  EXPECT_TRUE(bad(prepare_then(2, [](Packer& pk) {  // a fourth element
    pk.pack_array(0);
    pk.pack_array(0);
  })));
  EXPECT_TRUE(bad(Pack([&](auto& pk) {  // a txn alone
    pk.pack_array(1);
    txn(pk);
  })));
  Result<PrepareRecord> empty_list =
      PrepareRecord::Decode(prepare_then(1, [](Packer& pk) { pk.pack_array(0); }));
  ASSERT_TRUE(empty_list.ok()) << empty_list.status().ToString();  // written by nobody, but valid
  EXPECT_TRUE(empty_list->participants.empty());
}

TEST(RecordTest, OnePhaseCommitRejectsParticipantsAndWrongShapes) {
  using Packer = msgpack::packer<msgpack::sbuffer>;
  auto bad = [](const std::string& payload) {
    Result<OnePhaseCommitRecord> r = OnePhaseCommitRecord::Decode(payload);
    return r.status().IsCorruption() &&
           r.status().message().find("ONE_PHASE_COMMIT") != std::string::npos;
  };
  // A PREPARE with participants is not a one-phase commit: nobody else is there to ask.
  EXPECT_TRUE(bad(PrepareRecord{kTxn, {{"a", "1"}}, {"p0", "p1"}}.Encode()));
  auto txn_then = [](uint32_t fields, const std::function<void(Packer&)>& more) {
    return Pack([&](Packer& pk) {
      pk.pack_array(fields);
      pk.pack_array(3);
      pk.pack_uint32(0);
      pk.pack_uint32(1);
      pk.pack_uint64(1);
      more(pk);
    });
  };
  EXPECT_TRUE(bad(txn_then(3, [](Packer& pk) {  // even an empty third element
    pk.pack_array(0);
    pk.pack_array(0);
  })));
  EXPECT_TRUE(bad(txn_then(1, [](Packer&) {})));                     // no writes
  EXPECT_TRUE(bad(txn_then(2, [](Packer& pk) { pk.pack_nil(); })));  // writes not an array
  EXPECT_TRUE(bad(txn_then(2, [](Packer& pk) {                       // a str key
    pk.pack_array(1);
    pk.pack_array(2);
    pk.pack_str(1);
    pk.pack_str_body("k", 1);
    pk.pack_nil();
  })));
  EXPECT_TRUE(bad(txn_then(2, [](Packer& pk) {  // a key over kMaxKeySize
    pk.pack_array(1);
    pk.pack_array(2);
    std::string key(kMaxKeySize + 1, 'k');
    pk.pack_bin(key.size());
    pk.pack_bin_body(key.data(), key.size());
    pk.pack_nil();
  })));
  EXPECT_TRUE(bad(CommitRecord{kTxn}.Encode()));
  EXPECT_TRUE(bad(""));
  EXPECT_TRUE(bad(std::string("\x92\x93\x00\x00\x05\x90", 6)));  // incarnation 0
  EXPECT_TRUE(RecordTxn({1, kOnePhaseCommit, "\xc1"}).status().IsCorruption());
}

TEST(RecordTest, RandomBytesNeverCrashTheDecoders) {
  std::mt19937 rng(7);
  std::string good = PrepareRecord{kTxn, {{"a", "1"}, {"b", std::nullopt}}}.Encode();
  std::string with_participants = PrepareRecord{kTxn, {{"a", "1"}}, {"p0", "p1"}}.Encode();
  for (int i = 0; i < 2000; ++i) {
    std::string s = i % 4 == 0 ? with_participants : good;
    if (i % 2 == 0) {
      s[rng() % s.size()] = static_cast<char>(rng());
      s.resize(rng() % (s.size() + 1));
    } else {
      s.resize(rng() % 40);
      for (char& c : s) c = static_cast<char>(rng());
    }
    (void)PrepareRecord::Decode(s);
    (void)OnePhaseCommitRecord::Decode(s);
    (void)DecisionCommitRecord::Decode(s);
    (void)EndRecord::Decode(s);
  }
}

// ---- DescribeRecord -------------------------------------------------------------------------

TEST(RecordTest, DescribeRecordGivesOneReadableLine) {
  std::string p = PrepareRecord{TxnId{0, 1, 5}, {{"a", "x"}, {"b", "y"}, {"c", {}}}}.Encode();
  EXPECT_EQ("LSN 12 PREPARE T0.1.5 keys=[a,b] deletes=[c]", DescribeRecord({12, kPrepare, p}));
  std::string pp = PrepareRecord{TxnId{0, 1, 6}, {{"a", "x"}}, {"p0", "p2"}}.Encode();
  EXPECT_EQ("LSN 14 PREPARE T0.1.6 keys=[a] participants=[p0,p2]",
            DescribeRecord({14, kPrepare, pp}));
  std::string c = CommitRecord{TxnId{0, 1, 5}}.Encode();
  EXPECT_EQ("LSN 13 COMMIT T0.1.5", DescribeRecord({13, kCommit, c}));
  std::string o = OnePhaseCommitRecord{TxnId{0, 1, 7}, {{"a", "x"}, {"d", {}}}}.Encode();
  EXPECT_EQ("LSN 15 ONE_PHASE_COMMIT T0.1.7 keys=[a] deletes=[d]",
            DescribeRecord({15, kOnePhaseCommit, o}));
  std::string o2 = OnePhaseCommitRecord{TxnId{0, 1, 8}, {{"b", "y"}}}.Encode();
  EXPECT_EQ("LSN 16 ONE_PHASE_COMMIT T0.1.8 keys=[b]", DescribeRecord({16, kOnePhaseCommit, o2}));
  std::string d = DecisionCommitRecord{TxnId{2, 3, 4}, {"p0", "p1"}}.Encode();
  EXPECT_EQ("LSN 1 DECISION_COMMIT T2.3.4 participants=[p0,p1]",
            DescribeRecord({1, kDecisionCommit, d}));
  EXPECT_EQ("LSN 2 type=99 (unknown) 3 bytes", DescribeRecord({2, 99, "abc"}));
  EXPECT_EQ(0u, DescribeRecord({3, kEnd, "\xc1"}).find("LSN 3 END <undecodable: "));
  EXPECT_EQ(0u, DescribeRecord({4, kOnePhaseCommit, pp})
                    .find("LSN 4 ONE_PHASE_COMMIT <undecodable: malformed ONE_PHASE_COMMIT"));
}

TEST(RecordTest, DescribeRecordEscapesUnprintableKeysAndCutsLongLists) {
  std::vector<WriteOp> writes = {{std::string("a\0b\n,]\\\xff", 8), "v"}};
  for (int i = 0; i < 10; ++i) writes.push_back({"k" + std::to_string(i), "v"});
  std::string p = PrepareRecord{TxnId{0, 1, 5}, writes}.Encode();
  EXPECT_EQ(
      "LSN 1 PREPARE T0.1.5 keys=[a\\x00b\\x0a\\x2c\\x5d\\x5c\\xff,k0,k1,k2,k3,k4,k5,k6,...+3]",
      DescribeRecord({1, kPrepare, p}));
}

TEST(RecordTest, RecordTxnFindsTheTransactionOfEveryType) {
  EXPECT_EQ(kTxn, *RecordTxn({1, kPrepare, PrepareRecord{kTxn, {}}.Encode()}));
  EXPECT_EQ(kTxn, *RecordTxn({1, kAbort, AbortRecord{kTxn}.Encode()}));
  EXPECT_EQ(kTxn,
            *RecordTxn({1, kOnePhaseCommit, OnePhaseCommitRecord{kTxn, {{"a", "1"}}}.Encode()}));
  EXPECT_EQ(kTxn, *RecordTxn({1, kDecisionCommit, DecisionCommitRecord{kTxn, {}}.Encode()}));
  EXPECT_TRUE(RecordTxn({1, 99, ""}).status().IsInvalidArgument());
}

}  // namespace
}  // namespace kv2pc::wal
