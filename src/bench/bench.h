// A small benchmark framework for `qharness bench`: every figure is measured against a limit measured in the
// same run on the same buffers (these machines are shared and noisy, so only same-run ratios are meaningful).
// Rows follow ARCHITECTURE.md 2.7: `kernel`, `threads`, the measured figure (`gbps`, `gflops`, `tokens_per_s`), the
// limit it is compared with (`read_gbps`, `gemm_gflops`) and `ratio` = figure / limit.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace qh::bench {

struct BenchRow {
  std::string kernel;          // "quant_per_token_int8", "gemm_u8s8_int8", ...
  int threads = 1;
  std::string metric;          // "gbps" | "gflops" | "tokens_per_s"
  double value = 0;
  std::string limit_metric;    // "read_gbps" | "gemm_gflops" | "" (no same-run limit)
  double limit = 0;
  std::map<std::string, std::string> info;  // e.g. "shape": "4096x4096", "isa": "..."
  // value / limit, derived here only (0 when there is no limit); printed and serialised as `ratio`.
  double ratio() const { return limit_metric.empty() ? 0.0 : value / limit; }
  nlohmann::json to_json() const;
};

struct BenchOptions {
  std::vector<int> threads = {1, 2};  // each row is measured once per thread count
  bool quick = false;                 // smaller shapes and shorter timing, for smoke tests
  double min_seconds = 0.5;           // per measurement: repeat at least this long ...
  int min_repeats = 3;                // ... and at least this many times; report the best
  std::string params;                 // bench eval: "1.1B" runs a checkpoint of that size (bench_eval_scale.h)
  std::string cache_dir;              // where that checkpoint is kept (empty: $QH_CACHE or .cache/qharness)
};

// Best (smallest) wall time in seconds of one call of fn, after one warm-up call.
template <class Fn>
double best_seconds(Fn&& fn, const BenchOptions& options) {
  using Clock = std::chrono::steady_clock;
  fn();
  double best = 1e300;
  const auto start = Clock::now();
  for (int rep = 0;; ++rep) {
    const auto t0 = Clock::now();
    fn();
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    best = dt < best ? dt : best;
    if (rep + 1 >= options.min_repeats &&
        std::chrono::duration<double>(Clock::now() - start).count() >= options.min_seconds) {
      break;
    }
  }
  return best;
}

// Best times of two functions measured in alternation (a, b, a, b, ...), so that both sample the same
// moments of a shared machine: {best seconds of a, best seconds of b}.
// Timing::kSteady precedes each timed call by an untimed call of the same function: a kernel that leaves dirty
// output lines in the caches (ordinary stores) then pays for writing them back during its own next call, as in
// steady use, instead of the function timed after it.
enum class Timing { kWarmOnce, kSteady };
template <class FnA, class FnB>
std::pair<double, double> best_seconds_paired(FnA&& a, FnB&& b, const BenchOptions& options,
                                              Timing timing = Timing::kWarmOnce) {
  using Clock = std::chrono::steady_clock;
  auto once = [timing](auto& fn) {
    if (timing == Timing::kSteady) fn();
    const auto t0 = Clock::now();
    fn();
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  if (timing == Timing::kWarmOnce) {
    a();
    b();
  }
  double best_a = 1e300, best_b = 1e300;
  const auto start = Clock::now();
  for (int rep = 0;; ++rep) {
    const double ta = once(a), tb = once(b);
    best_a = ta < best_a ? ta : best_a;
    best_b = tb < best_b ? tb : best_b;
    if (rep + 1 >= options.min_repeats &&
        std::chrono::duration<double>(Clock::now() - start).count() >= options.min_seconds) {
      break;
    }
  }
  return {best_a, best_b};
}

// Seconds of two functions measured in `pairs` pairs (a b a b ...), after one warm-up call of each: every call
// follows a call of the other function, so both find the caches the other left (a b b a ... would hand each
// function its own warm caches every other pair). On a shared machine a burst of load then lands on one pair,
// whose ratio it skews, instead of on one function's best time.
struct PairedSeconds {
  std::vector<double> a, b;  // seconds of each call, one entry per pair
};
template <class FnA, class FnB>
PairedSeconds paired_seconds(FnA&& a, FnB&& b, int pairs) {
  using Clock = std::chrono::steady_clock;
  auto seconds = [](auto& fn) {
    const auto t0 = Clock::now();
    fn();
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  a();
  b();
  PairedSeconds out;
  for (int i = 0; i < pairs; ++i) {
    out.a.push_back(seconds(a));
    out.b.push_back(seconds(b));
  }
  return out;
}

// The pair whose ratio a / b of seconds (b's speed relative to a's) is the median of all pairs (an odd count,
// so the median is one pair's), with the smallest and largest ratio.
struct MedianPair {
  double a_seconds = 0, b_seconds = 0;  // of the median pair: b's speed / a's speed = a_seconds / b_seconds
  double ratio_min = 0, ratio_max = 0;
};
MedianPair median_pair(const PairedSeconds& t);

// A plain read of a rows x cols f32 buffer (a SIMD absmax with the quantizer's row-block split), for
// best_seconds_paired.
void read_buffer(const float* x, int64_t rows, int64_t cols);

// Sets the OpenMP thread count for the following kernels (and oneDNN, which uses the OpenMP runtime).
void set_threads(int threads);

// Fills n floats with a deterministic pseudo-random normal-ish pattern (in parallel, so pages are touched).
void fill_random(float* x, int64_t n, uint32_t seed);

// A fixed-width table: kernel, threads, figure, limit, ratio, info.
void print_table(const std::vector<BenchRow>& rows, std::FILE* out);
// The rows as a JSON array, written atomically.
void write_json(const std::vector<BenchRow>& rows, const std::string& path);

// The benchmark groups of `qharness bench`.
std::vector<BenchRow> bench_quant(const BenchOptions& options);
std::vector<BenchRow> bench_gemm(const BenchOptions& options);

}  // namespace qh::bench
