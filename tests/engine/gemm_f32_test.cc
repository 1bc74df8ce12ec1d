// The engine's own f32 GEMM (src/engine/gemm_f32.h) on every compiled target: bit for bit equal to its
// reference definition for random and adversarial data (NaN, Inf, 3e38, all equal, zero rows, K of every
// length 0..40 and vector edges), and a row's bits independent of the rows, columns and threads it is computed
// with, which is what the engine needs it for. F32Matmul on this CPU is checked for the same independence.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "src/engine/gemm_f32.h"
#include "src/engine/matmul.h"
#include "tests/hwy_per_target.h"

namespace qh::engine {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

std::vector<float> random_vec(size_t n, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = g(rng);
  return v;
}

// Same bits, NaN payloads aside (every NaN equals every NaN).
void expect_same_bits(const std::vector<float>& got, const std::vector<float>& want, const std::string& label) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(got[i]) && std::isnan(want[i])) continue;
    uint32_t a, b;
    std::memcpy(&a, &got[i], 4);
    std::memcpy(&b, &want[i], 4);
    ASSERT_EQ(a, b) << label << " at " << i << ": " << got[i] << " vs " << want[i];
  }
}

class GemmF32PerTarget : public qh::test::PerHwyTarget {};

void check(const std::vector<float>& x, int64_t M, const std::vector<float>& w, int64_t N, int64_t K, bool bias,
           int threads, const std::string& label) {
  const int64_t ldx = K + 2, ldy = N + 3;  // strided rows; the guard entries must stay untouched
  std::vector<float> xs(M * ldx, 7.0f);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k) xs[m * ldx + k] = x[m * K + k];
  const auto b = random_vec(N, 99, 1.0f);
  std::vector<float> got(M * ldy, -3.0f), want(M * ldy, -3.0f);
  gemm_f32(xs.data(), M, ldx, w.data(), N, K, bias ? b.data() : nullptr, got.data(), ldy, threads);
  gemm_f32_reference(xs.data(), M, ldx, w.data(), N, K, bias ? b.data() : nullptr, want.data(), ldy,
                     gemm_f32_shape());
  expect_same_bits(got, want, label);
}

TEST_P(GemmF32PerTarget, MatchesTheReferenceOnRandomData) {
  std::vector<int64_t> ks;
  for (int64_t k = 0; k <= 40; ++k) ks.push_back(k);
  for (int64_t k : {63, 64, 65, 127, 128, 129, 512, 1376}) ks.push_back(k);
  for (int64_t K : ks)
    for (auto [M, N] : {std::pair<int64_t, int64_t>{1, 1}, {3, 4}, {5, 7}, {13, 9}}) {
      const auto x = random_vec(M * K, static_cast<uint32_t>(K * 31 + M), 1.0f);
      const auto w = random_vec(N * K, static_cast<uint32_t>(K * 17 + N), 0.1f);
      check(x, M, w, N, K, true, 1, "K=" + std::to_string(K) + " M=" + std::to_string(M));
      check(x, M, w, N, K, false, 1, "no bias K=" + std::to_string(K));
    }
  // Larger than one task (96 rows x 256 columns), on 1 and 3 threads.
  const int64_t M = 200, N = 300, K = 70;
  const auto x = random_vec(M * K, 1, 1.0f), w = random_vec(N * K, 2, 0.1f);
  check(x, M, w, N, K, true, 1, "tasks 1 thread");
  check(x, M, w, N, K, true, 3, "tasks 3 threads");
}

TEST_P(GemmF32PerTarget, MatchesTheReferenceOnAdversarialData) {
  const int64_t M = 7, N = 6, K = 37;
  std::vector<std::pair<std::string, std::vector<float>>> rows;
  rows.emplace_back("zeros", std::vector<float>(K, 0.0f));
  rows.emplace_back("all equal", std::vector<float>(K, 0.3f));
  rows.emplace_back("huge", std::vector<float>(K, 3e38f));
  rows.emplace_back("negative zeros", std::vector<float>(K, -0.0f));
  auto nan = random_vec(K, 3, 1.0f);
  nan[20] = kNaN;
  rows.emplace_back("nan", nan);
  auto inf = random_vec(K, 4, 1.0f);
  inf[36] = kInf;  // in the zero-padded last block
  rows.emplace_back("inf", inf);
  auto both = random_vec(K, 5, 1.0f);
  both[0] = kInf;
  both[1] = -kInf;
  rows.emplace_back("inf minus inf", both);
  auto tiny = std::vector<float>(K, 1e-30f);
  rows.emplace_back("underflowing products", tiny);
  for (const auto& [name, row] : rows) {
    std::vector<float> x = random_vec(M * K, 6, 1.0f);
    std::vector<float> w = random_vec(N * K, 7, 1.0f);
    std::copy(row.begin(), row.end(), x.begin() + 2 * K);  // a row of x
    std::copy(row.begin(), row.end(), w.begin() + 3 * K);  // and a row of w
    check(x, M, w, N, K, true, 1, name);
  }
}

// What the engine relies on: an output's bits do not depend on which other rows and columns are computed in
// the same call, nor on the thread count.
TEST_P(GemmF32PerTarget, ARowIsTheSameAloneInABlockAndOnAnyThreadCount) {
  const int64_t M = 150, N = 270, K = 129;
  const auto x = random_vec(M * K, 8, 1.0f), w = random_vec(N * K, 9, 0.05f), b = random_vec(N, 10, 1.0f);
  std::vector<float> all(M * N);
  gemm_f32(x.data(), M, K, w.data(), N, K, b.data(), all.data(), N, 1);
  for (int threads : {2, 3, 5}) {
    std::vector<float> y(M * N);
    gemm_f32(x.data(), M, K, w.data(), N, K, b.data(), y.data(), N, threads);
    expect_same_bits(y, all, "threads " + std::to_string(threads));
  }
  for (int64_t m : {0L, 1L, 97L, 149L}) {
    for (int64_t n0 : {0L, 5L, 263L}) {  // a row alone against a few columns alone
      const int64_t n = std::min<int64_t>(3, N - n0);
      std::vector<float> y(n);
      gemm_f32(x.data() + m * K, 1, K, w.data() + n0 * K, n, K, b.data() + n0, y.data(), n, 1);
      for (int64_t j = 0; j < n; ++j)
        ASSERT_EQ(std::memcmp(&y[j], &all[m * N + n0 + j], 4), 0) << "row " << m << " column " << n0 + j;
    }
  }
}

QH_INSTANTIATE_PER_HWY_TARGET(GemmF32PerTarget);

// F32Matmul as the engine uses it, whichever implementation runs on this CPU: a row's bits are the same
// computed alone or among 16, and a stacked matrix's columns equal its parts' (protected rows and fused
// projections rely on both).
TEST(F32Matmul, RowsAndColumnsDoNotDependOnTheirNeighbours) {
  const int64_t M = 16, K = 64, N = 48;
  const auto x = random_vec(M * K, 11, 1.0f), w = random_vec(N * K, 12, 0.1f), b = random_vec(N, 13, 1.0f);
  F32Matmul full(w.data(), N, K, b.data());
  std::vector<float> y(M * N);
  full.run(x.data(), M, y.data());
  for (int64_t m : {0L, 9L, 15L}) {
    std::vector<float> row(N);
    full.run(x.data() + m * K, 1, row.data());
    for (int64_t n = 0; n < N; ++n) ASSERT_EQ(std::memcmp(&row[n], &y[m * N + n], 4), 0) << "row " << m;
  }
  F32Matmul part(w.data() + 16 * K, 20, K, b.data() + 16);
  std::vector<float> yp(M * 20);
  part.run(x.data(), M, yp.data());
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < 20; ++n)
      ASSERT_EQ(std::memcmp(&yp[m * 20 + n], &y[m * N + 16 + n], 4), 0) << m << "," << n << " " << part.impl();
}

}  // namespace
}  // namespace qh::engine
