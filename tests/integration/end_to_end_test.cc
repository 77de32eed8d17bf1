// End to end: real coordinator and participant processes on 127.0.0.1, driven through the
// client library. Covers a commit across every participant surviving a participant crash,
// aborts leaving no trace, a participant that lost a transaction's work, and hostile input.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <zmq.hpp>

#include "client/client.h"
#include "common/codec.h"
#include "common/partitioner.h"
#include "tests/testutil/cluster.h"
#include "tests/testutil/cluster_test.h"
#include "wal/log.h"
#include "wal/record.h"

namespace kv2pc {
namespace {

using testing::TestCluster;

std::unique_ptr<Client> Connect(const TestCluster& c, int timeout_ms = 10000) {
  auto cl = Client::Connect(ClientOptions{c.coordinator(), timeout_ms});
  EXPECT_TRUE(cl.ok()) << cl.status().ToString();
  return std::move(cl).value();
}

// Keys spread so that every participant owns at least `per` of them.
std::vector<std::string> KeysOnEveryParticipant(const TestCluster& c, int per,
                                                const std::string& prefix) {
  HashRing ring(c.participant_names(), c.vnodes());
  std::map<std::string, int> count;
  std::vector<std::string> keys;
  for (int i = 0; keys.size() < per * c.participant_names().size(); i++) {
    std::string k = prefix + std::to_string(i);
    if (count[ring.Owner(k)]++ < per) keys.push_back(k);
  }
  return keys;
}

// Every transaction id mentioned in a participant's WAL (read after the node stopped).
std::set<TxnId> TxnsInWal(const std::string& data_dir) {
  std::set<TxnId> out;
  wal::LogOptions o;
  o.dir = data_dir + "/wal";
  o.segment_size = 1 << 20;
  auto log = wal::Log::Open(o, [&](const wal::RecordView& r) {
    auto t = wal::RecordTxn(r);
    if (t.ok()) out.insert(*t);
    return Status::OK();
  });
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return out;
}

// Keys in a participant's SQLite checkpoint.
std::set<std::string> KeysInCheckpoint(const std::string& data_dir) {
  std::set<std::string> out;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2((data_dir + "/data.sqlite").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
      SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "SELECT key FROM kv", -1, &st, nullptr);
    while (st && sqlite3_step(st) == SQLITE_ROW) {
      out.emplace(static_cast<const char*>(sqlite3_column_blob(st, 0)),
                  static_cast<size_t>(sqlite3_column_bytes(st, 0)));
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return out;
}

class EndToEndTest : public testing::ClusterTest {};

TEST_F(EndToEndTest, CommitAcrossAllParticipantsSurvivesParticipantCrash) {
  cluster_ = std::make_unique<TestCluster>(3);
  ASSERT_TRUE(cluster_->Start().ok()) << cluster_->Logs();
  auto client = Connect(*cluster_);
  auto keys = KeysOnEveryParticipant(*cluster_, 3, "acct:");
  auto txn = client->Begin();
  ASSERT_TRUE(txn.ok()) << txn.status().ToString();
  std::string binary("v\0\xff", 3);
  for (const auto& k : keys) ASSERT_TRUE(client->Put(*txn, k, k + binary).ok());
  // Reads inside the transaction see its own writes.
  auto own = client->Get(*txn, keys[0]);
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(**own, keys[0] + binary);
  ASSERT_TRUE(client->Commit(*txn).ok());
  EXPECT_EQ(client->Commit(*txn).ToString().find("TXN_ALREADY_COMMITTED") != std::string::npos,
            true);

  for (const std::string& victim : cluster_->participant_names()) {
    cluster_->Kill(victim);
    ASSERT_TRUE(cluster_->StartNode(victim).ok()) << cluster_->Logs();
    for (const auto& k : keys) {
      auto v = client->Get(k);
      ASSERT_TRUE(v.ok()) << k << ": " << v.status().ToString();
      ASSERT_TRUE(v->has_value()) << k << " lost after " << victim << " crashed";
      EXPECT_EQ(**v, k + binary);
    }
  }
}

TEST_F(EndToEndTest, AbortedTransactionLeavesNoTrace) {
  cluster_ = std::make_unique<TestCluster>(3);
  ASSERT_TRUE(cluster_->Start().ok()) << cluster_->Logs();
  auto client = Connect(*cluster_);
  auto keys = KeysOnEveryParticipant(*cluster_, 2, "ghost:");
  auto txn = client->Begin();
  ASSERT_TRUE(txn.ok());
  for (const auto& k : keys) ASSERT_TRUE(client->Put(*txn, k, "boo").ok());
  ASSERT_TRUE(client->Abort(*txn).ok());
  Status again = client->Abort(*txn);
  EXPECT_NE(again.ToString().find("TXN_ALREADY_ABORTED"), std::string::npos) << again.ToString();
  Status late = client->Put(*txn, keys[0], "x");
  EXPECT_FALSE(late.ok());
  // A committed neighbour, so the participants have written something.
  ASSERT_TRUE(client->Put("real", "1").ok());
  for (const auto& k : keys) {
    auto v = client->Get(k);
    ASSERT_TRUE(v.ok());
    EXPECT_FALSE(v->has_value()) << k;
  }
  // Locks were released: another transaction can write every key at once.
  auto t2 = client->Begin();
  ASSERT_TRUE(t2.ok());
  for (const auto& k : keys) ASSERT_TRUE(client->Put(*t2, k, "later").ok());
  ASSERT_TRUE(client->Abort(*t2).ok());

  cluster_->StopAll();
  for (const auto& p : cluster_->participant_names()) {
    std::string dir = cluster_->data_dir(p);
    EXPECT_EQ(TxnsInWal(dir).count(*txn), 0u) << p;
    for (const auto& k : keys) EXPECT_EQ(KeysInCheckpoint(dir).count(k), 0u) << p << " " << k;
  }
}

TEST_F(EndToEndTest, ParticipantThatLostTheWorkRefusesToCommitIt) {
  cluster_ = std::make_unique<TestCluster>(2);
  ASSERT_TRUE(cluster_->Start().ok()) << cluster_->Logs();
  auto client = Connect(*cluster_);
  auto keys = KeysOnEveryParticipant(*cluster_, 1, "w:");
  HashRing ring(cluster_->participant_names(), cluster_->vnodes());
  auto txn = client->Begin();
  ASSERT_TRUE(txn.ok());
  for (const auto& k : keys) ASSERT_TRUE(client->Put(*txn, k, "1").ok());
  std::string victim = ring.Owner(keys[0]);
  cluster_->Kill(victim);  // its workspace for txn is gone
  ASSERT_TRUE(cluster_->StartNode(victim).ok());
  Status s = client->Commit(*txn);
  EXPECT_TRUE(s.IsAborted()) << s.ToString();
  for (const auto& k : keys) {
    auto v = client->Get(k);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_FALSE(v->has_value()) << k << " was half-applied";
  }
}

TEST_F(EndToEndTest, OversizedInputIsRefusedAndTheTransactionGoesOn) {
  cluster_ = std::make_unique<TestCluster>(2);
  ASSERT_TRUE(cluster_->Start().ok()) << cluster_->Logs();
  // Raw requests, bypassing the client library's own checks.
  zmq::context_t ctx;
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::rcvtimeo, 5000);
  s.connect(cluster_->coordinator());
  auto call = [&](MessageBody body) {
    std::string bytes = EncodeMessage(Message{42, std::move(body)});
    s.send(zmq::buffer(bytes));
    zmq::message_t m;
    EXPECT_TRUE(s.recv(m).has_value());
    auto d = DecodeMessage(std::string_view(static_cast<char*>(m.data()), m.size()));
    EXPECT_TRUE(d.ok());
    return std::get<Reply>(d->body);
  };
  Reply begin = call(BeginRequest{});
  ASSERT_TRUE(begin.txn.has_value());
  EXPECT_EQ(call(PutRequest{begin.txn, std::string(257, 'k'), "v"}).code, ErrorCode::kKeyTooLarge);
  EXPECT_EQ(call(PutRequest{begin.txn, "k", std::string(kMaxValueSize + 1, 'v')}).code,
            ErrorCode::kValueTooLarge);
  EXPECT_EQ(call(GetRequest{std::nullopt, std::string(300, 'k')}).code, ErrorCode::kKeyTooLarge);
  EXPECT_EQ(call(PutRequest{begin.txn, "k", std::string(kMaxValueSize, 'v')}).code,
            ErrorCode::kOk);  // exactly at the limit is fine
  EXPECT_EQ(call(CommitRequest{*begin.txn}).code, ErrorCode::kOk);
  EXPECT_EQ(call(CommitRequest{TxnId{0, 999, 1}}).code, ErrorCode::kTxnNotFound);
  EXPECT_EQ(call(AbortRequest{TxnId{0, 999, 1}}).code, ErrorCode::kTxnNotFound);
}

TEST_F(EndToEndTest, HostileBytesOnEveryPortAreRefusedAndNothingCrashes) {
  cluster_ = std::make_unique<TestCluster>(2);
  ASSERT_TRUE(cluster_->Start().ok()) << cluster_->Logs();
  std::vector<std::string> nodes = cluster_->participant_names();
  nodes.push_back("coordinator-0");
  std::mt19937 rng(7);
  zmq::context_t ctx;
  for (const auto& node : nodes) {
    std::string ep = cluster_->endpoint(node);
    zmq::socket_t s(ctx, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::rcvtimeo, 2000);
    s.connect(ep);
    std::vector<std::string> payloads = {
        "",                                                                  // empty
        std::string("\x94\x01\x03\x07\x81\xa3key\xdb\x80\x00\x00\x00", 14),  // claims 2 GB
        std::string("\xdd\xff\xff\xff\xff", 5),                              // array of 4G entries
        std::string("\x94\x07\x01\x01\x80", 5),                              // protocol version 7
    };
    for (int i = 0; i < 20; i++) {
      std::string junk(rng() % 200, '\0');
      for (char& c : junk) c = static_cast<char>(rng());
      payloads.push_back(junk);
    }
    for (const auto& p : payloads) {
      s.send(zmq::buffer(p));
      zmq::message_t reply;
      // Every undecodable request gets an error reply (or, for a reply-typed message that
      // decodes, a refusal); none crashes the server.
      ASSERT_TRUE(s.recv(reply).has_value()) << node << " did not answer";
      auto d = DecodeMessage(std::string_view(static_cast<char*>(reply.data()), reply.size()));
      ASSERT_TRUE(d.ok());
      EXPECT_NE(std::get<Reply>(d->body).code, ErrorCode::kOk) << node;
    }
    // Multipart junk and an oversized message (libzmq drops the connection on > 4 MiB).
    s.send(zmq::str_buffer("a"), zmq::send_flags::sndmore);
    s.send(zmq::str_buffer("b"), zmq::send_flags::sndmore);
    s.send(zmq::str_buffer("c"));
    std::string big(5 * 1024 * 1024, 'x');
    s.send(zmq::buffer(big));
    // Raw TCP: garbage instead of a ZMTP greeting, and a frame header claiming 2 GB.
    int port = std::stoi(ep.substr(ep.rfind(':') + 1));
    for (int round = 0; round < 2; round++) {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(port));
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
      std::string raw = round == 0
                            ? std::string(1000, '\x5a')
                            : std::string("\xff\0\0\0\0\0\0\0\x01\x7f", 10) +
                                  std::string("\x02\x08\x7f\xff\xff\xff\xff\xff\xff\xff", 10);
      ASSERT_GT(write(fd, raw.data(), raw.size()), 0);
      close(fd);
    }
  }
  // Everyone is still up and serving.
  for (const auto& node : nodes) {
    EXPECT_TRUE(cluster_->Running(node));
    EXPECT_TRUE(Client::Ping(cluster_->endpoint(node), 2000).ok()) << node;
  }
  auto client = Connect(*cluster_);
  ASSERT_TRUE(client->Put("after", "ok").ok());
  auto v = client->Get("after");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(**v, "ok");
}

}  // namespace
}  // namespace kv2pc

namespace kv2pc {
namespace {

// Polls `fn` every 50 ms for up to `ms`; true once it returns true.
bool Eventually(int ms, const std::function<bool()>& fn) {
  for (int waited = 0; waited <= ms; waited += 50) {
    if (fn()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

class IdleTransactionTest : public EndToEndTest {};

TEST_F(EndToEndTest, OpenTransactionsAreCappedWithOverloaded) {
  // A client that begins in a loop gets OVERLOADED at --max-open-txns instead of growing the
  // coordinator's memory; finishing a transaction makes room again.
  cluster_ = std::make_unique<TestCluster>(1, std::vector<std::string>{"--max-open-txns", "5"},
                                           std::vector<std::string>{});
  ASSERT_TRUE(cluster_->Start().ok()) << cluster_->Logs();
  auto client = Connect(*cluster_);
  std::vector<TxnId> open;
  for (int i = 0; i < 5; i++) {
    auto t = client->Begin();
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    open.push_back(*t);
  }
  auto refused = client->Begin();
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(refused.status().IsUnavailable()) << refused.status().ToString();
  EXPECT_EQ(client->last_error_code(), ErrorCode::kOverloaded);
  EXPECT_NE(refused.status().message().find("--max-open-txns"), std::string::npos);
  // A one-shot operation is a transaction too.
  Status put = client->Put("k", "v");
  EXPECT_TRUE(put.IsUnavailable()) << put.ToString();
  EXPECT_EQ(client->last_error_code(), ErrorCode::kOverloaded);
  // The open ones still work; finishing one admits a new one.
  ASSERT_TRUE(client->Put(open[0], "k", "v0").ok());
  ASSERT_TRUE(client->Commit(open[0]).ok());
  ASSERT_TRUE(client->Abort(open[1]).ok());
  auto again = client->Begin();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  auto v = client->Get(*again, "k");
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_EQ(**v, "v0");
}

TEST_F(IdleTransactionTest, AbandonedTransactionIsAbortedAndFreesItsLocks) {
  cluster_ = std::make_unique<TestCluster>(
      2, std::vector<std::string>{"--txn-idle-timeout-ms", "500"},
      std::vector<std::string>{"--txn-idle-timeout-ms", "500", "--outcome-query-interval-ms", "100",
                               "--lock-timeout-ms", "200"});
  ASSERT_TRUE(cluster_->Start().ok()) << cluster_->Logs();
  auto client = Connect(*cluster_);
  auto txn = client->Begin();
  ASSERT_TRUE(txn.ok());
  ASSERT_TRUE(client->Put(*txn, "k", "abandoned").ok());
  // Then the client goes quiet. Another writer gets the lock once the idle abort happened
  // (before that, its lock wait times out and it tries again).
  EXPECT_TRUE(Eventually(10000, [&] { return client->Put("k", "next").ok(); }));
  Status s = client->Commit(*txn);
  EXPECT_NE(s.ToString().find("IDLE_TIMEOUT"), std::string::npos) << s.ToString();
  auto v = client->Get("k");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(**v, "next");
}

TEST_F(IdleTransactionTest, ParticipantKeepsATransactionItsCoordinatorStillRuns) {
  // The participant's idle timer is short, the coordinator's long: a transaction that works
  // on one participant for a while stays alive on the other.
  cluster_ =
      std::make_unique<TestCluster>(2, std::vector<std::string>{},
                                    std::vector<std::string>{"--txn-idle-timeout-ms", "200",
                                                             "--outcome-query-interval-ms", "100"});
  ASSERT_TRUE(cluster_->Start().ok()) << cluster_->Logs();
  auto client = Connect(*cluster_);
  auto keys = KeysOnEveryParticipant(*cluster_, 1, "busy:");
  auto txn = client->Begin();
  ASSERT_TRUE(txn.ok());
  ASSERT_TRUE(client->Put(*txn, keys[0], "first").ok());
  for (int i = 0; i < 10; i++) {  // ~1.5 s of work on the other participant only
    ASSERT_TRUE(client->Put(*txn, keys[1], std::to_string(i)).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
  }
  Status s = client->Commit(*txn);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto v = client->Get(keys[0]);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(**v, "first");
}

}  // namespace
}  // namespace kv2pc

namespace kv2pc {
namespace {

size_t SegmentFiles(const std::string& data_dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(data_dir + "/wal")) {
    std::string name = e.path().filename().string();
    if (name.rfind("wal-", 0) == 0 && name.size() > 4 && name.substr(name.size() - 4) == ".log") {
      n++;
    }
  }
  return n;
}

TEST_F(EndToEndTest, LogsAreTrimmedBelowCheckpointsAndRestartSeesEverything) {
  cluster_ = std::make_unique<TestCluster>(
      2, std::vector<std::string>{"--wal-segment-bytes", "65536"},
      std::vector<std::string>{"--wal-segment-bytes", "262144", "--checkpoint-interval-ms", "50"});
  ASSERT_TRUE(cluster_->Start().ok()) << cluster_->Logs();
  auto client = Connect(*cluster_);
  const std::string value(8 * 1024, 'w');
  const int n = 600;  // ~2.4 MiB of PREPAREs per participant: ~10 segments without trimming
  for (int i = 0; i < n; i++) {
    ASSERT_TRUE(client->Put("key" + std::to_string(i % 150), value + std::to_string(i)).ok());
  }
  // Give the checkpointers a few rounds, then look at the logs.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (const auto& p : cluster_->participant_names()) {
    EXPECT_LE(SegmentFiles(cluster_->data_dir(p)), 3u) << p << "'s WAL was not trimmed";
  }
  EXPECT_LE(SegmentFiles(cluster_->data_dir("coordinator-0")), 2u);
  // Restart everything: the values come from the checkpoints plus what the logs still hold.
  cluster_->StopAll();
  ASSERT_TRUE(cluster_->Start().ok()) << cluster_->Logs();
  client = Connect(*cluster_);
  for (int k = 0; k < 150; k++) {
    auto v = client->Get("key" + std::to_string(k));
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    ASSERT_TRUE(v->has_value()) << k;
    EXPECT_EQ(**v, value + std::to_string(n - 150 + k));  // the last write of each key
  }
}

}  // namespace
}  // namespace kv2pc

namespace kv2pc {
namespace {

class DeadlockTest : public EndToEndTest {};

TEST_F(DeadlockTest, ThousandConcurrentCrossParticipantCyclesAllEndByWoundWait) {
  // 8 pairs of clients, each pair on its own keys a_i (participant-0) and b_i (participant-1),
  // run 125 rounds each, all pairs at once: 1,000 lock cycles. In a round, T1 (older) locks
  // a_i and T2 (younger) locks b_i; then, together, T1 asks for b_i and T2 for a_i. Lock
  // waits would time out only after a minute, and the clients give up after 30 s: every
  // round must end by wound-wait -- the older wounds the younger (aborted, whether it was
  // already waiting for a_i or not), gets b_i and commits.
  cluster_ = std::make_unique<TestCluster>(2, std::vector<std::string>{},
                                           std::vector<std::string>{"--lock-timeout-ms", "60000"});
  ASSERT_TRUE(cluster_->Start().ok()) << cluster_->Logs();
#if defined(__SANITIZE_THREAD__)
  constexpr int kPairs = 8, kRounds = 25;  // TSan runs ~10x slower: 200 cycles
#else
  constexpr int kPairs = 8, kRounds = 125;
#endif
  HashRing ring(cluster_->participant_names(), cluster_->vnodes());
  auto key_on = [&](const std::string& node, const std::string& prefix) {
    for (int i = 0;; i++) {
      std::string k = prefix + std::to_string(i);
      if (ring.Owner(k) == node) return k;
    }
  };
  std::atomic<int> cycles{0}, older_committed{0}, younger_wounded{0};
  std::vector<std::thread> pairs;
  for (int p = 0; p < kPairs; p++) {
    pairs.emplace_back([&, p] {
      const std::string a = key_on("participant-0", "cyc" + std::to_string(p) + "a:");
      const std::string b = key_on("participant-1", "cyc" + std::to_string(p) + "b:");
      auto c1 = Connect(*cluster_, 30000), c2 = Connect(*cluster_, 30000);
      for (int round = 0; round < kRounds; round++) {
        auto t1 = c1->Begin();  // older
        auto t2 = c2->Begin();  // younger
        ASSERT_TRUE(t1.ok() && t2.ok());
        ASSERT_TRUE(c1->Put(*t1, a, "t1").ok());
        ASSERT_TRUE(c2->Put(*t2, b, "t2").ok());
        Status s1, s2;
        std::thread second([&] { s2 = c2->Put(*t2, a, "t2"); });
        s1 = c1->Put(*t1, b, "t1");
        second.join();
        cycles++;
        // ABORTED, or TXN_ALREADY_ABORTED when the wound reached the coordinator (ABORT_NOTICE)
        // before this request: either way aborted, for DEADLOCK_AVOIDANCE.
        ASSERT_TRUE(s2.IsAborted() || c2->last_error_code() == ErrorCode::kTxnAlreadyAborted)
            << "round " << round << ": " << s2.ToString();
        ASSERT_EQ(c2->last_abort_reason(), AbortReason::kDeadlockAvoidance) << s2.ToString();
        younger_wounded++;
        ASSERT_TRUE(s1.ok()) << "round " << round << ": " << s1.ToString();
        ASSERT_TRUE(c1->Commit(*t1).ok());
        older_committed++;
      }
    });
  }
  for (auto& t : pairs) t.join();
  EXPECT_EQ(cycles.load(), kPairs * kRounds);
  EXPECT_EQ(older_committed.load(), kPairs * kRounds);
  EXPECT_EQ(younger_wounded.load(), kPairs * kRounds);
  // Nothing stays locked.
  for (const std::string& p : cluster_->participant_names()) {
    auto st = Client::NodeStatus(cluster_->endpoint(p), 1, 5000);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    EXPECT_EQ(st->status->locks_total, 0u) << p;
  }
}

TEST_F(DeadlockTest, OppositeOrderStormOnTwoKeysAlwaysFinishes) {
  // 16 clients on the same two keys on two participants, half locking a then b, half b then
  // a, each incrementing both: cycles form constantly, across participants. With retries
  // (RunTransaction keeps each transaction's age), every transaction commits exactly once.
  cluster_ = std::make_unique<TestCluster>(2, std::vector<std::string>{},
                                           std::vector<std::string>{"--lock-timeout-ms", "60000"});
  ASSERT_TRUE(cluster_->Start().ok()) << cluster_->Logs();
  auto keys = KeysOnEveryParticipant(*cluster_, 1, "storm:");
#if defined(__SANITIZE_THREAD__)
  constexpr int kClients = 16, kEach = 10;
#else
  constexpr int kClients = 16, kEach = 40;
#endif
  std::atomic<int> failures{0}, retries{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; c++) {
    threads.emplace_back([&, c] {
      auto client = Connect(*cluster_, 30000);
      const std::string &first = keys[c % 2], &second = keys[1 - c % 2];
      for (int i = 0; i < kEach; i++) {
        Status s = client->RunTransaction(
            [&](Client& cl, const TxnId& t) -> Status {
              for (const std::string* k : {&first, &second}) {
                KV2PC_ASSIGN_OR_RETURN(std::optional<std::string> v, cl.Get(t, *k));
                KV2PC_RETURN_IF_ERROR(cl.Put(t, *k, std::to_string(v ? std::stoi(*v) + 1 : 1)));
              }
              return Status::OK();
            },
            1000);
        if (!s.ok()) {
          failures++;
          ADD_FAILURE() << s.ToString();
        }
        retries += client->last_attempts() - 1;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto client = Connect(*cluster_);
  for (const std::string& k : keys) {
    auto v = client->Get(k);
    ASSERT_TRUE(v.ok() && v->has_value());
    EXPECT_EQ(**v, std::to_string(kClients * kEach)) << k;
  }
  std::cerr << kClients * kEach << " transactions, " << retries.load() << " retries\n";
}

}  // namespace
}  // namespace kv2pc

namespace kv2pc {
namespace {

TEST_F(EndToEndTest, TransactionTooLargeForOnePrepareIsRefusedEarly) {
  cluster_ = std::make_unique<TestCluster>(2);
  ASSERT_TRUE(cluster_->Start().ok()) << cluster_->Logs();
  auto client = Connect(*cluster_);
  HashRing ring(cluster_->participant_names(), cluster_->vnodes());
  std::vector<std::string> keys;  // all on participant-0
  for (int i = 0; keys.size() < 20; i++) {
    std::string k = "big:" + std::to_string(i);
    if (ring.Owner(k) == "participant-0") keys.push_back(k);
  }
  const std::string mib(kMaxValueSize, 'm');
  auto txn = client->Begin();
  ASSERT_TRUE(txn.ok());
  Status s;
  size_t written = 0;
  for (; written < keys.size(); written++) {
    s = client->Put(*txn, keys[written], mib);
    if (!s.ok()) break;
  }
  EXPECT_TRUE(s.IsAborted()) << s.ToString();
  EXPECT_NE(s.message().find("limited to"), std::string::npos) << s.ToString();
  EXPECT_GE(written, 14u);  // ~15 MiB fit in one PREPARE record
  EXPECT_LT(written, 17u);
  EXPECT_TRUE(Client::Ping(cluster_->endpoint("participant-0"), 2000).ok());
  auto v = client->Get(keys[0]);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_FALSE(v->has_value());
}

}  // namespace
}  // namespace kv2pc
