// See stats.h.
#include "bench/stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace kv2pc::bench {
namespace {

double Ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }

}  // namespace

int64_t Quantile(const std::vector<int64_t>& sorted, double q) {
  const auto n = static_cast<double>(sorted.size());
  auto rank = static_cast<size_t>(std::ceil(q * n));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

LatencySummary Summarize(std::vector<int64_t>* samples_ns) {
  LatencySummary s;
  if (samples_ns->empty()) return s;
  std::sort(samples_ns->begin(), samples_ns->end());
  double sum = 0;
  for (int64_t v : *samples_ns) sum += static_cast<double>(v);
  s.count = samples_ns->size();
  s.mean_ms = sum / static_cast<double>(s.count) / 1e6;
  s.p50_ms = Ms(Quantile(*samples_ns, 0.50));
  s.p99_ms = Ms(Quantile(*samples_ns, 0.99));
  s.p999_ms = Ms(Quantile(*samples_ns, 0.999));
  s.max_ms = Ms(samples_ns->back());
  return s;
}

std::string ToJson(const LatencySummary& s) {
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "{\"count\":%llu,\"mean_ms\":%.4f,\"p50_ms\":%.4f,\"p99_ms\":%.4f,"
                "\"p999_ms\":%.4f,\"max_ms\":%.4f}",
                static_cast<unsigned long long>(s.count), s.mean_ms, s.p50_ms, s.p99_ms, s.p999_ms,
                s.max_ms);
  return buf;
}

}  // namespace kv2pc::bench
