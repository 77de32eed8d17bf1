// Random list-append transactions against a real cluster, checked for isolation anomalies.
//
// Eight clients run short random transactions over eight keys spread across three
// participants, so transactions conflict and span participants. A key's value is a list of
// integers stored as text ("1 5 9"); an append reads the list and writes it back extended by
// a value no other append uses. Every transaction's final attempt is recorded (earlier
// attempts were aborted and retried by Client::RunTransaction), and at the end one read per
// key gives each list's full version order. The checker (list_append.h) must find nothing:
// strict 2PL with 2PC is serializable, so the dependency graph must be acyclic.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "client/client.h"
#include "common/partitioner.h"
#include "tests/history/list_append.h"
#include "tests/testutil/cluster.h"
#include "tests/testutil/cluster_test.h"

namespace kv2pc {
namespace {

using history::CheckResult;
using history::History;
using history::MicroOp;
using history::Txn;
using history::TxnStatus;
using testing::TestCluster;

#if defined(__SANITIZE_THREAD__)
constexpr bool kUnderTsan = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool kUnderTsan = true;
#else
constexpr bool kUnderTsan = false;
#endif
#else
constexpr bool kUnderTsan = false;
#endif

constexpr int kClients = 8;
// TSan runs the servers and clients several times slower; fewer transactions keep it short.
constexpr int kTxnsPerClient = kUnderTsan ? 40 : 150;
constexpr int kKeys = 8;
constexpr int kMaxOpsPerTxn = 4;

// "1 5 9" -> {1, 5, 9}; nullopt for anything else. An absent key is the empty list.
std::optional<std::vector<int64_t>> DecodeList(const std::optional<std::string>& value) {
  std::vector<int64_t> list;
  if (!value) return list;
  const char* p = value->data();
  const char* end = p + value->size();
  while (p < end) {
    if (*p == ' ') {
      p++;
      continue;
    }
    int64_t element = 0;
    auto [next, ec] = std::from_chars(p, end, element);
    if (ec != std::errc() || (next < end && *next != ' ')) return std::nullopt;
    list.push_back(element);
    p = next;
  }
  return list;
}

std::string EncodeList(const std::vector<int64_t>& list) {
  std::string out;
  for (int64_t e : list) {
    if (!out.empty()) out += ' ';
    out += std::to_string(e);
  }
  return out;
}

// Keys spread over every participant: ceil(kKeys / participants) at most per participant.
std::vector<std::string> ChooseKeys(const TestCluster& cluster) {
  HashRing ring(cluster.participant_names(), cluster.vnodes());
  const size_t per_participant = (kKeys + ring.names().size() - 1) / ring.names().size();
  std::map<size_t, size_t> owned;
  std::vector<std::string> keys;
  for (int i = 0; static_cast<int>(keys.size()) < kKeys; i++) {
    std::string key = "list-" + std::to_string(i);
    size_t& n = owned[ring.OwnerIndex(key)];
    if (n >= per_participant) continue;
    n++;
    keys.push_back(key);
  }
  return keys;
}

class ListAppendWorkloadTest : public kv2pc::testing::ClusterTest {
 protected:
  // Runs one transaction doing `plan` (append when the bool is true, else read) through
  // RunTransaction and returns what its final attempt did. New values come from
  // `next_value`, fresh for every attempt, so a write leaked by an aborted attempt would
  // show up as an element nobody appended.
  Txn RunOne(Client& client, int id, const std::vector<std::pair<bool, std::string>>& plan,
             std::atomic<int64_t>& next_value) {
    Txn txn;
    txn.id = id;
    bool body_done = false;
    int bodies = 0;
    Status s = client.RunTransaction([&](Client& c, const TxnId& t) -> Status {
      txn.ops.clear();  // only the final attempt counts
      body_done = false;
      bodies++;
      for (const auto& [append, key] : plan) {
        Result<std::optional<std::string>> value = c.Get(t, key);
        if (!value.ok()) return value.status();
        std::optional<std::vector<int64_t>> list = DecodeList(*value);
        if (!list) {
          undecodable_++;
          return Status::Internal("value of " + key + " is not a list: " + **value);
        }
        // The Get an append does is a real read inside the transaction; recording it gives
        // the checker more edges to work with.
        txn.ops.push_back(MicroOp::Read(key, *list));
        if (!append) continue;
        int64_t element = next_value++;
        txn.ops.push_back(MicroOp::Append(key, element));  // before Put: if it leaked, G1a
        list->push_back(element);
        KV2PC_RETURN_IF_ERROR(c.Put(t, key, EncodeList(*list)));
      }
      body_done = true;
      return Status::OK();
    });
    retries_ += client.last_attempts() - 1;
    if (s.ok()) {
      txn.status = TxnStatus::kOk;
    } else if (!body_done || s.IsAborted() || bodies < client.last_attempts()) {
      // COMMIT was never sent, or its answer was a definite abort; or the last attempt
      // failed at BEGIN, and the ops recorded are those of an earlier, aborted attempt.
      txn.status = TxnStatus::kFail;
    } else {
      txn.status = TxnStatus::kInfo;  // TimedOut (or anything else) after COMMIT: unknown
    }
    if (!s.ok()) {
      std::lock_guard<std::mutex> lock(errors_mu_);
      errors_[s.ToString().substr(0, 60)]++;
    }
    return txn;
  }

  std::atomic<int> undecodable_{0};
  std::atomic<int> retries_{0};
  std::mutex errors_mu_;
  std::map<std::string, int> errors_;  // final errors by message prefix; guarded by errors_mu_
};

TEST_F(ListAppendWorkloadTest, RandomTransactionsShowNoAnomalies) {
  auto start = std::chrono::steady_clock::now();
  cluster_ = std::make_unique<TestCluster>(3);
  ASSERT_TRUE(cluster_->Start().ok()) << cluster_->Logs();
  const std::vector<std::string> keys = ChooseKeys(*cluster_);

  std::atomic<int64_t> next_value{1};
  std::atomic<int> next_id{1};
  std::vector<std::vector<Txn>> per_client(kClients);
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; c++) {
    threads.emplace_back([&, c] {
      std::unique_ptr<Client> client = NewClient();
      if (client == nullptr) return;
      uint64_t rng = 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(c + 1);
      auto random = [&rng](uint64_t n) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        return rng % n;
      };
      for (int i = 0; i < kTxnsPerClient; i++) {
        std::vector<std::pair<bool, std::string>> plan(1 + random(kMaxOpsPerTxn));
        for (auto& [append, key] : plan) {
          append = random(2) == 0;
          key = keys[random(keys.size())];
        }
        per_client[c].push_back(RunOne(*client, next_id++, plan, next_value));
      }
    });
  }
  for (auto& t : threads) t.join();
  auto workload_done = std::chrono::steady_clock::now();

  History h;
  for (auto& txns : per_client) {
    for (Txn& t : txns) h.txns.push_back(std::move(t));
  }
  std::sort(h.txns.begin(), h.txns.end(), [](const Txn& a, const Txn& b) { return a.id < b.id; });
  // One read per key, after everything else: each gives its key's whole version order.
  std::unique_ptr<Client> reader = NewClient();
  ASSERT_NE(reader, nullptr);
  std::atomic<int64_t> unused{0};
  for (const std::string& key : keys) {
    Txn final_read = RunOne(*reader, next_id++, {{false, key}}, unused);
    ASSERT_EQ(final_read.status, TxnStatus::kOk) << "final read of " << key << " failed";
    h.txns.push_back(std::move(final_read));
  }
  EXPECT_EQ(undecodable_.load(), 0);

  CheckResult result = history::Check(h);
  auto check_done = std::chrono::steady_clock::now();
  EXPECT_TRUE(result.valid()) << result.ToString();

  // The check is only worth something if the history is rich: many commits, many that span
  // keys (and so, mostly, participants), and a graph with every kind of edge.
  int multi_key = 0, appended = 0;
  for (const Txn& t : h.txns) {
    if (t.status != TxnStatus::kOk) continue;
    std::set<std::string> touched;
    for (const MicroOp& op : t.ops) {
      touched.insert(op.key);
      appended += op.type == MicroOp::Type::kAppend;
    }
    multi_key += touched.size() >= 2;
  }
  const int total = kClients * kTxnsPerClient;
  EXPECT_GE(result.ok_txns, total * 3 / 4) << result.ToString();
  EXPECT_GE(multi_key, total / 4) << result.ToString();
  EXPECT_GE(appended, total / 2);
  EXPECT_GT(result.ww_edges, 0);
  EXPECT_GT(result.wr_edges, 0);
  EXPECT_GT(result.rw_edges, 0);
  EXPECT_EQ(result.keys, kKeys);

  // And the checker is awake on this very history: swapping the last two elements of one
  // final read (the last kKeys transactions) must be flagged.
  History tampered = h;
  bool swapped = false;
  for (size_t i = tampered.txns.size() - keys.size(); i < tampered.txns.size() && !swapped; i++) {
    std::vector<int64_t>& list = *tampered.txns[i].ops.front().list;
    if (list.size() < 2) continue;
    std::swap(list[list.size() - 1], list[list.size() - 2]);
    swapped = true;
  }
  ASSERT_TRUE(swapped) << "no final read holds two elements";
  EXPECT_FALSE(history::Check(tampered).valid()) << "a tampered history passed the check";

  std::cerr
      << result.ToString() << "\n"
      << multi_key << " committed multi-key txns, " << appended << " appends, " << retries_.load()
      << " retried attempts; workload "
      << std::chrono::duration_cast<std::chrono::milliseconds>(workload_done - start).count()
      << " ms, check "
      << std::chrono::duration_cast<std::chrono::milliseconds>(check_done - workload_done).count()
      << " ms\n";
  std::lock_guard<std::mutex> lock(errors_mu_);
  for (const auto& [error, count] : errors_) {
    std::cerr << "  " << count << " x " << error << "\n";
  }
}

}  // namespace
}  // namespace kv2pc
