// See workloads.h.
#include "bench/workloads.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "common/partitioner.h"

namespace kv2pc::bench {
namespace {

// A load transaction carries at most this many bytes of values: one PREPARE record holds up to
// 16 MiB, and smaller transactions keep the load's lock footprint and retries small.
constexpr uint64_t kLoadBatchBytes = 1 << 20;
constexpr uint64_t kLoadBatchMaxKeys = 100;
// Picking b for transfer by rejection: with P participants a draw hits another one with
// probability about (P-1)/P, so 64 misses in a row means the layout is badly skewed; then
// scan.
constexpr int kRejectionTries = 64;

double Zeta(uint64_t n, double theta) {
  double sum = 0;
  for (uint64_t i = 1; i <= n; i++) sum += 1.0 / std::pow(static_cast<double>(i), theta);
  return sum;
}

}  // namespace

std::string_view WorkloadName(WorkloadKind kind) {
  switch (kind) {
    case WorkloadKind::kSingle:
      return "single";
    case WorkloadKind::kTransfer:
      return "transfer";
    case WorkloadKind::kReadOnly:
      return "readonly";
    case WorkloadKind::kYcsbA:
      return "ycsb-a";
    case WorkloadKind::kHot:
      return "hot";
  }
  return "unknown";
}

std::optional<WorkloadKind> ParseWorkload(std::string_view name) {
  for (WorkloadKind k : {WorkloadKind::kSingle, WorkloadKind::kTransfer, WorkloadKind::kReadOnly,
                         WorkloadKind::kYcsbA, WorkloadKind::kHot}) {
    if (WorkloadName(k) == name) return k;
  }
  return std::nullopt;
}

uint64_t Rng::Next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t Rng::Uniform(uint64_t n) { return Next() % n; }  // bias < n / 2^64: negligible here

double Rng::UniformDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

ZipfianGenerator::ZipfianGenerator(uint64_t n, double theta)
    : n_(n), theta_(theta), alpha_(1.0 / (1.0 - theta)), zeta_n_(Zeta(n, theta)) {
  const double zeta2 = Zeta(2, theta);
  eta_ = (1.0 - std::pow(2.0 / static_cast<double>(n), 1.0 - theta)) / (1.0 - zeta2 / zeta_n_);
  half_pow_theta_ = 1.0 + std::pow(0.5, theta);
}

uint64_t ZipfianGenerator::Next(Rng* rng) const {
  const double u = rng->UniformDouble();
  const double uz = u * zeta_n_;
  if (uz < 1.0) return 0;
  if (uz < half_pow_theta_) return std::min<uint64_t>(1, n_ - 1);
  const double r = static_cast<double>(n_) * std::pow(eta_ * u - eta_ + 1.0, alpha_);
  return std::min(static_cast<uint64_t>(r), n_ - 1);
}

std::string KeyName(uint64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "bench:%08llu", static_cast<unsigned long long>(i));
  return buf;
}

std::string FormatBalance(int64_t balance, size_t size) {
  std::string s = std::to_string(balance) + "|";
  if (s.size() < size) s.append(size - s.size(), 'x');
  return s;
}

int64_t ParseBalance(const std::optional<std::string>& value) {
  if (!value.has_value()) return 0;
  const std::string& v = *value;
  const size_t bar = v.find('|');
  if (bar == std::string::npos) return 0;
  int64_t out = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + bar, out);
  if (ec != std::errc() || end != v.data() + bar) return 0;
  return out;
}

Result<std::unique_ptr<Workload>> Workload::Create(const WorkloadOptions& options,
                                                   const ClusterConfig* layout) {
  std::unique_ptr<Workload> w(new Workload(options));
  const uint64_t keys = options.keys;
  if (keys == 0) return Status::InvalidArgument("--keys must be at least 1");
  w->load_batch_keys_ =
      std::clamp<uint64_t>(kLoadBatchBytes / (options.value_size + 32), 1, kLoadBatchMaxKeys);
  switch (options.kind) {
    case WorkloadKind::kSingle:
      break;
    case WorkloadKind::kReadOnly:
      if (keys < 4) return Status::InvalidArgument("--workload readonly reads 4 keys: --keys >= 4");
      break;
    case WorkloadKind::kYcsbA:
      w->zipf_ = std::make_unique<ZipfianGenerator>(keys, options.zipf_theta);
      break;
    case WorkloadKind::kHot:
      if (options.hot_keys < 2 || options.hot_keys > keys) {
        return Status::InvalidArgument("--hot-keys must be from 2 to --keys (" +
                                       std::to_string(keys) + "), not " +
                                       std::to_string(options.hot_keys));
      }
      break;
    case WorkloadKind::kTransfer: {
      if (layout == nullptr || layout->participants().empty()) {
        return Status::InvalidArgument(
            "--workload transfer picks key pairs on different participants and needs the "
            "cluster layout: pass --data-dir (the directory holding cluster.conf)");
      }
      std::vector<std::string> names;
      for (const NodeInfo* p : layout->participants()) names.push_back(p->name);
      HashRing ring(names, layout->vnodes());
      w->owner_.resize(keys);
      std::vector<bool> seen(names.size(), false);
      for (uint64_t i = 0; i < keys; i++) {
        w->owner_[i] = static_cast<uint16_t>(ring.OwnerIndex(KeyName(i)));
        seen[w->owner_[i]] = true;
      }
      w->participants_with_keys_ = static_cast<size_t>(std::count(seen.begin(), seen.end(), true));
      if (w->participants_with_keys_ < 2) {
        return Status::InvalidArgument(
            "--workload transfer needs keys on at least two participants; the layout has " +
            std::to_string(names.size()) + " participant(s) and the " + std::to_string(keys) +
            " keys fall on " + std::to_string(w->participants_with_keys_));
      }
      break;
    }
  }
  return w;
}

std::string Workload::TaggedValue(uint64_t client, uint64_t txn_number) const {
  std::string s = "c";
  s += std::to_string(client);
  s += 't';
  s += std::to_string(txn_number);
  s += '|';
  if (s.size() < options_.value_size) s.append(options_.value_size - s.size(), 'x');
  return s;
}

uint64_t Workload::OtherParticipantKey(Rng* rng, uint64_t a) const {
  const uint64_t keys = options_.keys;
  for (int i = 0; i < kRejectionTries; i++) {
    uint64_t b = rng->Uniform(keys);
    if (owner_[b] != owner_[a]) return b;
  }
  // Create() made sure another participant owns some key.
  uint64_t b = rng->Uniform(keys);
  while (owner_[b] == owner_[a]) b = (b + 1) % keys;
  return b;
}

TxnPlan Workload::Next(Rng* rng, uint64_t client, uint64_t txn_number) const {
  TxnPlan plan;
  plan.balance_size = options_.value_size;
  const uint64_t keys = options_.keys;
  switch (options_.kind) {
    case WorkloadKind::kSingle:
      plan.writes.push_back({KeyName(rng->Uniform(keys)), TaggedValue(client, txn_number)});
      break;
    case WorkloadKind::kTransfer: {
      const uint64_t a = rng->Uniform(keys);
      const uint64_t b = OtherParticipantKey(rng, a);
      const int64_t amount = 1 + static_cast<int64_t>(rng->Uniform(10));
      plan.reads = {KeyName(a), KeyName(b)};
      plan.reads_for_update = !options_.shared_reads;
      plan.writes.push_back({KeyName(a), "", 0, -amount});
      plan.writes.push_back({KeyName(b), "", 1, amount});
      break;
    }
    case WorkloadKind::kReadOnly: {
      std::vector<uint64_t> picked;
      while (picked.size() < 4) {
        uint64_t k = rng->Uniform(keys);
        if (std::find(picked.begin(), picked.end(), k) == picked.end()) picked.push_back(k);
      }
      for (uint64_t k : picked) plan.reads.push_back(KeyName(k));
      break;
    }
    case WorkloadKind::kYcsbA: {
      // Scrambled: hash the rank so the popular keys spread over the key space (and so over
      // the participants) instead of being keys 0, 1, 2, ...
      const uint64_t rank = zipf_->Next(rng);
      const std::string key = KeyName(
          Hash64(std::string_view(reinterpret_cast<const char*>(&rank), sizeof(rank))) % keys);
      if (rng->Uniform(2) == 0) {
        plan.reads.push_back(key);
      } else {
        plan.writes.push_back({key, TaggedValue(client, txn_number)});
      }
      break;
    }
    case WorkloadKind::kHot: {
      const uint64_t x = rng->Uniform(options_.hot_keys);
      uint64_t y = rng->Uniform(options_.hot_keys - 1);
      if (y >= x) y++;
      plan.reads = {KeyName(x), KeyName(y)};
      plan.reads_for_update = !options_.shared_reads;
      plan.writes.push_back({KeyName(x), "", 0, 1});
      plan.writes.push_back({KeyName(y), "", 1, 1});
      break;
    }
  }
  return plan;
}

std::optional<TxnPlan> Workload::LoadBatch(uint64_t batch) const {
  const uint64_t first = batch * load_batch_keys_;
  if (first >= options_.keys) return std::nullopt;
  const uint64_t last = std::min(options_.keys, first + load_batch_keys_);
  TxnPlan plan;
  const std::string value = FormatBalance(kInitialBalance, options_.value_size);
  for (uint64_t i = first; i < last; i++) plan.writes.push_back({KeyName(i), value});
  return plan;
}

}  // namespace kv2pc::bench
