// Int8Matmul's int32 accumulation is exact for every s8 weight code and every s8 / u8 source code, on any CPU:
// without VNNI oneDNN adds pairs of u8 x s8 products in int16 (vpmaddubsw), which saturates for 8-bit codes
// unless the weights are split (matmul.h). Checked against a double-precision reference on adversarial rows
// (extreme codes everywhere, alternating signs, odd K, K = 1, M = 0 and 1), with the split forced and not.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "src/engine/matmul.h"

namespace qh::engine {
namespace {

// N = 12 weight rows: extreme and alternating rows first, then random codes in [-127, 127].
std::vector<int8_t> weight_codes(int64_t N, int64_t K, std::mt19937& rng) {
  std::uniform_int_distribution<int> code(-127, 127);
  std::vector<int8_t> w(N * K);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) {
      const bool odd = k % 2 == 1;
      int v = code(rng);
      switch (n) {
        case 0: v = 127; break;
        case 1: v = -128; break;
        case 2: v = -127; break;
        case 3: v = odd ? -127 : 127; break;
        case 4: v = odd ? 127 : -128; break;
        case 5: v = 0; break;
        case 6: v = (k / 2) % 2 ? -127 : 127; break;  // pairs of equal signs
        default: break;
      }
      w[n * K + k] = static_cast<int8_t>(v);
    }
  return w;
}

// Source rows (held as int so that one generator serves s8 and u8): extreme rows first, then random codes.
std::vector<int> source_codes(int64_t M, int64_t K, bool u8, std::mt19937& rng) {
  const int lo = u8 ? 0 : -128, hi = u8 ? 255 : 127;
  std::uniform_int_distribution<int> code(lo, hi);
  std::vector<int> x(M * K);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k) {
      const bool odd = k % 2 == 1;
      int v = code(rng);
      switch (m) {
        case 0: v = hi; break;
        case 1: v = lo; break;
        case 2: v = odd ? lo : hi; break;
        case 3: v = 0; break;
        case 4: v = u8 ? hi : -127; break;
        default: break;
      }
      x[m * K + k] = v;
    }
  return x;
}

struct Case {
  int64_t M, K, N;
  bool u8, bias, static_scale;
};

// Runs Int8Matmul on one case and compares with s_x[m] * s_w[n] * sum(x * w) + bias[n] in double, to 1e-6 of
// the magnitude the result is made of (the scaled sum of |x * w| plus |bias|).
void expect_exact(const Case& c, uint32_t seed, bool force_split) {
  std::mt19937 rng(seed);
  const auto w = weight_codes(c.N, c.K, rng);
  const auto x = source_codes(c.M, c.K, c.u8, rng);
  std::vector<int8_t> xs(x.size());
  std::vector<uint8_t> xu(x.size());
  for (size_t i = 0; i < x.size(); ++i) xs[i] = static_cast<int8_t>(x[i]), xu[i] = static_cast<uint8_t>(x[i]);
  std::uniform_real_distribution<float> scale(0.5f, 2.0f), shift(-3.0f, 3.0f);
  std::vector<float> ws(c.N), as(c.M), bias(c.N);
  for (float& s : ws) s = 1e-2f * scale(rng);
  for (float& s : as) s = 1e-2f * scale(rng);
  for (float& b : bias) b = shift(rng);
  const float static_scale = 0.03125f;
  Int8Matmul mm(w.data(), ws.data(), c.N, c.K, c.bias ? bias.data() : nullptr, c.u8,
                c.static_scale ? static_scale : 0.0f, force_split);
  // Every case has codes outside [-64, 64]: split where pairs saturate, or when forced.
  EXPECT_EQ(mm.split_k(), force_split || int8_pair_sums_saturate());
  std::vector<float> y(c.M * c.N, -1.0f);
  mm.run(c.u8 ? static_cast<const void*>(xu.data()) : xs.data(), c.static_scale ? nullptr : as.data(), c.M,
         y.data());
  const std::string what = "M=" + std::to_string(c.M) + " K=" + std::to_string(c.K) + " N=" + std::to_string(c.N) +
                           (c.u8 ? " u8" : " s8") + (c.bias ? " bias" : "") + (c.static_scale ? " static" : "") +
                           " impl=" + mm.impl();
  for (int64_t m = 0; m < c.M; ++m)
    for (int64_t n = 0; n < c.N; ++n) {
      int64_t dot = 0, abs_dot = 0;
      for (int64_t k = 0; k < c.K; ++k) {
        const int64_t p = int64_t{x[m * c.K + k]} * w[n * c.K + k];
        dot += p;
        abs_dot += p < 0 ? -p : p;
      }
      const double sx = c.static_scale ? double{static_scale} : double{as[m]};
      const double b = c.bias ? double{bias[n]} : 0.0;
      const double want = sx * ws[n] * static_cast<double>(dot) + b;
      const double size = sx * ws[n] * static_cast<double>(abs_dot) + std::fabs(b);
      ASSERT_NEAR(y[m * c.N + n], want, 1e-6 * size + 1e-30) << what << " row " << m << " col " << n;
    }
}

std::vector<Case> cases() {
  std::vector<Case> out;
  for (bool u8 : {false, true})
    for (int64_t K : {1, 2, 3, 31, 64, 257})
      for (int64_t M : {0, 1, 9}) out.push_back({M, K, 12, u8, K % 2 == 1, false});
  out.push_back({7, 96, 12, false, true, true});  // static (per-tensor) activation scale
  out.push_back({7, 96, 12, true, false, true});
  return out;
}

TEST(Int8Matmul, ExactForEveryCodeOnThisCpu) {
  uint32_t seed = 1;
  for (const Case& c : cases()) expect_exact(c, seed++, false);
}

// The split path on any CPU (on VNNI / AMX machines it is otherwise never taken).
TEST(Int8Matmul, ExactForEveryCodeWithTheWeightsSplit) {
  uint32_t seed = 1;
  for (const Case& c : cases()) expect_exact(c, seed++, true);
}

// Codes inside [-64, 64] (4-bit weights) cannot saturate: used as given unless forced. A split shows in impl()
// and doubles the held codes.
TEST(Int8Matmul, SplitsOnlyCodesThatCanSaturate) {
  const int64_t N = 8, K = 40;
  std::vector<int8_t> w4(N * K), w8(N * K);
  for (int64_t i = 0; i < N * K; ++i) {
    w4[i] = static_cast<int8_t>(i % 17 - 8);
    w8[i] = static_cast<int8_t>(i % 255 - 127);
  }
  const std::vector<float> ws(N, 1.0f), as(3, 1.0f);
  const std::vector<int8_t> x(3 * K, 1);
  std::vector<float> y(3 * N);
  Int8Matmul small(w4.data(), ws.data(), N, K, nullptr, false, 0.0f);
  Int8Matmul forced(w4.data(), ws.data(), N, K, nullptr, false, 0.0f, true);
  Int8Matmul wide(w8.data(), ws.data(), N, K, nullptr, false, 0.0f);
  EXPECT_FALSE(small.split_k());
  EXPECT_TRUE(forced.split_k());
  EXPECT_EQ(wide.split_k(), int8_pair_sums_saturate());
  for (Int8Matmul* mm : {&small, &forced, &wide}) {
    mm->run(x.data(), as.data(), 3, y.data());
    const bool tagged = mm->impl().find("+split-k") != std::string::npos;
    EXPECT_EQ(tagged, mm->split_k()) << mm->impl();
  }
  EXPECT_GE(forced.bytes_held(), small.bytes_held() + static_cast<size_t>(N * K));
}

// run() from several threads at once: each duplicates its source rows into its own buffer.
TEST(Int8Matmul, SplitRunsConcurrently) {
  const int64_t N = 12, K = 257;
  std::mt19937 rng(5);
  const auto w = weight_codes(N, K, rng);
  const std::vector<float> ws(N, 1.0f);
  Int8Matmul mm(w.data(), ws.data(), N, K, nullptr, true, 0.0f, true);
  constexpr int kThreads = 4;
  std::vector<std::vector<uint8_t>> xs(kThreads);
  std::vector<std::vector<float>> ys(kThreads);
  std::vector<std::thread> pool;
  for (int t = 0; t < kThreads; ++t) {
    const int64_t M = 5 + t;
    const auto x = source_codes(M, K, true, rng);
    xs[t].assign(x.begin(), x.end());
    ys[t].assign(M * N, 0.0f);
  }
  for (int t = 0; t < kThreads; ++t)
    pool.emplace_back([&, t] {
      const int64_t M = 5 + t;
      const std::vector<float> as(M, 1.0f);
      for (int rep = 0; rep < 20; ++rep) mm.run(xs[t].data(), as.data(), M, ys[t].data());
    });
  for (std::thread& th : pool) th.join();
  for (int t = 0; t < kThreads; ++t)
    for (int64_t m = 0; m < 5 + t; ++m)
      for (int64_t n = 0; n < N; ++n) {
        int64_t dot = 0;
        for (int64_t k = 0; k < K; ++k) dot += int64_t{xs[t][m * K + k]} * w[n * K + k];
        ASSERT_EQ(ys[t][m * N + n], static_cast<float>(dot)) << "thread " << t << " row " << m << " col " << n;
      }
}

}  // namespace
}  // namespace qh::engine
