// The transactions kv2pc-bench runs (docs/benchmarks.md, "kv2pc-bench"): which keys each one
// reads and writes, and what it writes. Nothing here does I/O; async_driver.h executes the
// plans against a cluster.
//
// A transaction is a TxnPlan: GETs of `reads` in order, then PUTs of `writes` in order, then
// COMMIT. Read-modify-write workloads read with GET for_update (see shared_reads). A write either carries a fixed value or is read-modify-write: the new value is the
// balance read for the same key plus a delta. Balances are stored as text, "<decimal>|" padded
// with 'x' to --value-size bytes, so `kv2pc get` shows them; --load writes kInitialBalance in
// every key. Missing or unparsable values count as balance 0.
//
//   workload   reads             writes                         keys drawn from
//   single     -                 1 fixed value                  uniform over --keys
//   transfer   a, b              a -= m, b += m (m in 1..10)    a uniform; b uniform over keys
//                                                               that another participant owns
//   readonly   4 distinct keys   -                              uniform over --keys
//   ycsb-a     1 key (50%)       or 1 fixed value (50%)         scrambled zipfian, theta 0.99
//   hot        x, y              x += 1, y += 1                 2 distinct of the first
//                                                               --hot-keys keys
//
// transfer moves money between keys, so the sum of all balances never changes; hot adds 2 to
// the sum of the hot keys per committed transaction. The bench's test checks both against the
// cluster afterwards (tests/bench/kv_bench_test.cc).
//
// Thread-safety: a Workload is immutable after Create(); Next() may be called from any number
// of threads at once, each with its own Rng.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"
#include "common/status.h"

namespace kv2pc::bench {

enum class WorkloadKind : uint8_t { kSingle, kTransfer, kReadOnly, kYcsbA, kHot };

std::string_view WorkloadName(WorkloadKind kind);
// "single", "transfer", "readonly", "ycsb-a", "hot"; nullopt for anything else.
std::optional<WorkloadKind> ParseWorkload(std::string_view name);

inline constexpr int64_t kInitialBalance = 1000;

// SplitMix64 (Steele, Lea and Flood, 2014): 8 bytes of state per logical client, good enough
// to pick keys and jitter backoffs, and cheap to seed per client.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next();
  // Uniform in [0, n). REQUIRES: n > 0.
  uint64_t Uniform(uint64_t n);
  // Uniform in [0, 1).
  double UniformDouble();

 private:
  uint64_t state_;
};

// Zipfian ranks over [0, n) with parameter theta, by the method of Gray et al., "Quickly
// generating billion-record synthetic databases" (SIGMOD 1994), as YCSB uses it: O(n) set-up
// (zeta(n)), O(1) per draw. Rank 0 is the most popular.
class ZipfianGenerator {
 public:
  // REQUIRES: n >= 1, 0 < theta < 1.
  ZipfianGenerator(uint64_t n, double theta);
  uint64_t Next(Rng* rng) const;

 private:
  uint64_t n_;
  double theta_;
  double alpha_;
  double zeta_n_;
  double eta_;
  double half_pow_theta_;  // 1 + 0.5^theta: the cumulative weight of ranks 0 and 1
};

struct Write {
  std::string key;
  std::string value;   // the value to put, when from_read < 0
  int from_read = -1;  // else: put FormatBalance(balance read at reads[from_read] + delta)
  int64_t delta = 0;
};

struct TxnPlan {
  std::vector<std::string> reads;
  std::vector<Write> writes;
  size_t balance_size = 0;        // FormatBalance's size for read-modify-write writes
  bool reads_for_update = false;  // GET for_update: read under the X lock the write needs
};

// The key of index i: "bench:" and i in 8 digits, e.g. "bench:00000042".
std::string KeyName(uint64_t i);
// "<balance>|" padded with 'x' to `size` bytes (longer when the number alone is longer).
std::string FormatBalance(int64_t balance, size_t size);
// The balance in a value FormatBalance wrote; 0 for a missing or unparsable value.
int64_t ParseBalance(const std::optional<std::string>& value);

struct WorkloadOptions {
  WorkloadKind kind = WorkloadKind::kSingle;
  uint64_t keys = 10000;
  size_t value_size = 100;
  uint64_t hot_keys = 10;
  double zipf_theta = 0.99;
  // transfer and hot read the keys they will write with GET for_update (an X lock from the
  // start, as SELECT ... FOR UPDATE), unless this is set: then they read under S locks and
  // upgrade at the PUT, where two readers of one key need each other gone (docs/protocol.md,
  // GET).
  bool shared_reads = false;
};

class Workload {
 public:
  // `layout` gives the participants and vnodes that transfer needs to find key pairs on
  // different participants (common/partitioner.h); other workloads ignore it. InvalidArgument
  // when the options do not fit the workload (too few keys, hot-keys > keys, transfer without
  // a layout or with fewer than two participants owning keys).
  static Result<std::unique_ptr<Workload>> Create(const WorkloadOptions& options,
                                                  const ClusterConfig* layout);
  Workload(const Workload&) = delete;
  Workload& operator=(const Workload&) = delete;

  // The next transaction of logical client `client`; `txn_number` counts its transactions
  // (it goes into the values that single and ycsb-a write).
  TxnPlan Next(Rng* rng, uint64_t client, uint64_t txn_number) const;

  // --load: batch `batch` of the initial values (kInitialBalance in every key); nullopt past
  // the last one. Batches hold up to LoadBatchKeys() keys.
  std::optional<TxnPlan> LoadBatch(uint64_t batch) const;
  uint64_t LoadBatchKeys() const { return load_batch_keys_; }

  const WorkloadOptions& options() const { return options_; }
  // How many distinct participants own the keys (1 without a layout).
  size_t participants_with_keys() const { return participants_with_keys_; }

 private:
  explicit Workload(const WorkloadOptions& options) : options_(options) {}
  std::string TaggedValue(uint64_t client, uint64_t txn_number) const;
  uint64_t OtherParticipantKey(Rng* rng, uint64_t a) const;

  const WorkloadOptions options_;
  std::unique_ptr<ZipfianGenerator> zipf_;  // ycsb-a only
  std::vector<uint16_t> owner_;             // transfer only: participant index of each key
  size_t participants_with_keys_ = 1;
  uint64_t load_batch_keys_ = 100;
};

}  // namespace kv2pc::bench
