// Latency summaries for kv2pc's benchmarks (docs/benchmarks.md): nearest-rank percentiles over
// every sample, no histogram buckets, so a p99.9 of a few thousand samples is exact rather
// than interpolated. Keeping every sample costs 8 bytes each, a few MB per benchmark case.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kv2pc::bench {

struct LatencySummary {
  uint64_t count = 0;
  double mean_ms = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;
};

// Summarizes durations in nanoseconds. Sorts samples in place. All zeros when empty.
LatencySummary Summarize(std::vector<int64_t>* samples_ns);

// The nearest-rank q-quantile (0 < q <= 1) of sorted values: the smallest value with at least
// q of the samples at or below it. REQUIRES: sorted is sorted ascending and not empty.
int64_t Quantile(const std::vector<int64_t>& sorted, double q);

// The summary as a JSON object {"count":..,"mean_ms":..,"p50_ms":..,...}.
std::string ToJson(const LatencySummary& s);

}  // namespace kv2pc::bench
