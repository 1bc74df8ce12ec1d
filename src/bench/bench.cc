// The benchmark framework: read bandwidth, thread control, table and JSON output.
#include "src/bench/bench.h"

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "src/core/atomic_file.h"
#include "src/core/error.h"
#include "src/core/median.h"
#include "quant/quantize.h"

namespace qh::bench {

nlohmann::json BenchRow::to_json() const {
  nlohmann::json j;
  j["kernel"] = kernel;
  j["threads"] = threads;
  j[metric] = value;
  if (!limit_metric.empty()) {
    j[limit_metric] = limit;
    j["ratio"] = ratio();
  }
  for (const auto& [key, text] : info) j[key] = text;
  return j;
}

MedianPair median_pair(const PairedSeconds& t) {
  QH_CHECK(t.a.size() == t.b.size() && t.a.size() % 2 == 1);
  std::vector<double> ratios(t.a.size());
  for (size_t i = 0; i < ratios.size(); ++i) ratios[i] = t.a[i] / t.b[i];
  const double med = median(ratios);  // odd count: one pair's ratio
  const size_t i = static_cast<size_t>(std::find(ratios.begin(), ratios.end(), med) - ratios.begin());
  QH_CHECK(i < ratios.size());
  MedianPair m;
  m.a_seconds = t.a[i];
  m.b_seconds = t.b[i];
  m.ratio_min = *std::min_element(ratios.begin(), ratios.end());
  m.ratio_max = *std::max_element(ratios.begin(), ratios.end());
  return m;
}

void set_threads(int threads) { omp_set_num_threads(threads); }

void read_buffer(const float* x, int64_t rows, int64_t cols) {
  static volatile float sink = 0;  // keeps the result alive
  sink = sink + quant::tensor_absmax(x, rows, cols, cols);
}

void fill_random(float* x, int64_t n, uint32_t seed) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    // A hash of (seed, i) mapped to a sum of two uniforms: deterministic whatever the thread count.
    uint64_t h = (static_cast<uint64_t>(seed) << 32) ^ static_cast<uint64_t>(i);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    const float u1 = static_cast<float>(h & 0xffffff) / 16777216.0f;
    const float u2 = static_cast<float>((h >> 24) & 0xffffff) / 16777216.0f;
    x[i] = (u1 + u2 - 1.0f) * 2.0f;
  }
}

void print_table(const std::vector<BenchRow>& rows, std::FILE* out) {
  std::fprintf(out, "%-34s %7s %14s %18s %7s  %s\n", "kernel", "threads", "figure", "same-run limit", "ratio", "info");
  for (const BenchRow& r : rows) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f %s", r.value, r.metric.c_str());
    const std::string figure = buf;
    std::string limit = "-", ratio = "-";
    if (!r.limit_metric.empty()) {
      std::snprintf(buf, sizeof buf, "%.2f %s", r.limit, r.limit_metric.c_str());
      limit = buf;
      std::snprintf(buf, sizeof buf, "%.2f", r.ratio());
      ratio = buf;
    }
    std::string info;
    for (const auto& [key, text] : r.info) info += (info.empty() ? "" : " ") + key + "=" + text;
    std::fprintf(out, "%-34s %7d %14s %18s %7s  %s\n", r.kernel.c_str(), r.threads, figure.c_str(), limit.c_str(),
                 ratio.c_str(), info.c_str());
  }
  std::fflush(out);
}

void write_json(const std::vector<BenchRow>& rows, const std::string& path) {
  nlohmann::json j = nlohmann::json::array();
  for (const BenchRow& r : rows) j.push_back(r.to_json());
  write_file_atomic(path, j.dump(2) + "\n");
}

}  // namespace qh::bench
