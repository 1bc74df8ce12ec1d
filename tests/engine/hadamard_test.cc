// The Highway fast Walsh-Hadamard transform on every compiled target against the dense product with the
// Sylvester Hadamard matrix (double), for every power of two up to 2048 and Kronecker blocks of odd width,
// on random, huge, all-equal, zero and non-finite rows at a misaligned start; and the transforms built on it
// (orthogonal, inverse by the transpose, dense form).
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "src/engine/hadamard.h"
#include "tests/hwy_per_target.h"

namespace qh::engine {
namespace {

// Sylvester's H_p entry (i, j): (-1)^popcount(i & j).
double sylvester(int64_t i, int64_t j) { return __builtin_popcountll(static_cast<uint64_t>(i & j)) % 2 ? -1.0 : 1.0; }

// The dense product of one row x [p * m] with H_p / sqrt(p) (x) I_m, in double.
std::vector<double> dense_fwht(const std::vector<float>& x, int64_t n, int64_t m) {
  const int64_t p = n / m;
  std::vector<double> y(n, 0.0);
  for (int64_t a = 0; a < p; ++a)
    for (int64_t b = 0; b < m; ++b) {
      double s = 0;
      for (int64_t a2 = 0; a2 < p; ++a2) s += static_cast<double>(x[a2 * m + b]) * sylvester(a2, a);
      y[a * m + b] = s / std::sqrt(static_cast<double>(p));
    }
  return y;
}

class FwhtPerTarget : public qh::test::PerHwyTarget {};

void check_row(const std::vector<float>& in, int64_t n, int64_t m, const std::string& label) {
  // Misaligned start (offset 1) inside a padded buffer whose guard values must stay untouched.
  std::vector<float> buf(n + 3, 7.0f);
  std::copy(in.begin(), in.end(), buf.begin() + 1);
  std::vector<float> ref = in;
  fwht_rows(buf.data() + 1, 1, n, m, n);
  fwht_rows_reference(ref.data(), 1, n, m, n);
  const std::vector<double> want = dense_fwht(in, n, m);
  double scale = 0;
  for (float v : in) scale = std::max(scale, std::isfinite(v) ? std::fabs(static_cast<double>(v)) : 0.0);
  EXPECT_EQ(buf[0], 7.0f);
  EXPECT_EQ(buf[n + 1], 7.0f);
  const double log2p = std::log2(static_cast<double>(n / m)) + 1;
  for (int64_t i = 0; i < n; ++i) {
    const float got = buf[1 + i];
    const float w = static_cast<float>(want[i]);
    if (!std::isfinite(w)) {
      // Non-finite inputs: the same non-finiteness as the dense product (NaN stays NaN, Inf stays Inf or NaN).
      EXPECT_FALSE(std::isfinite(got)) << label << " i=" << i;
      EXPECT_FALSE(std::isfinite(ref[i])) << label << " i=" << i;
      continue;
    }
    // f32 butterflies: log2(p) roundings of sums bounded by sqrt(p) * max|x|.
    const double tol = 2e-7 * log2p * scale * std::sqrt(static_cast<double>(n / m)) + 1e-30;
    EXPECT_NEAR(got, want[i], tol) << label << " i=" << i;
    EXPECT_NEAR(ref[i], want[i], 1e-7 * std::fabs(want[i]) + 1e-30) << label << " i=" << i;
  }
}

TEST_P(FwhtPerTarget, MatchesTheDenseHadamardProduct) {
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (int64_t m : {1, 3, 5, 12}) {
    for (int64_t p = 1; p <= 2048; p *= 2) {
      const int64_t n = p * m;
      if (n > 4096) continue;
      const std::string at = "p=" + std::to_string(p) + " m=" + std::to_string(m);
      std::vector<float> x(n);
      for (float& v : x) v = g(rng);
      check_row(x, n, m, at + " random");
      check_row(std::vector<float>(n, 0.0f), n, m, at + " zeros");
      check_row(std::vector<float>(n, -2.5f), n, m, at + " all-equal");
      for (float& v : x) v *= 1e30f;  // huge but finite sums
      check_row(x, n, m, at + " huge");
      if (n == 1) continue;
      std::vector<float> spiky(n, 0.0f);
      spiky[n - 1] = 1.0f;  // a single spike spreads over every output
      check_row(spiky, n, m, at + " spike");
      std::vector<float> bad(n, 1.0f);
      bad[0] = std::numeric_limits<float>::quiet_NaN();
      bad[n - 1] = std::numeric_limits<float>::infinity();
      check_row(bad, n, m, at + " nan+inf");
    }
  }
}

TEST_P(FwhtPerTarget, RowsWithStrideAreIndependent) {
  const int64_t n = 64, ld = 67, rows = 5;
  std::mt19937 rng(4);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(rows * ld);
  for (float& v : x) v = g(rng);
  std::vector<float> y = x;
  fwht_rows(y.data(), rows, n, 1, ld);
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<float> row(x.begin() + r * ld, x.begin() + r * ld + n);
    fwht_rows_reference(row.data(), 1, n, 1, n);
    for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(y[r * ld + i], row[i], 1e-5) << r << " " << i;
    for (int64_t i = n; i < ld; ++i) EXPECT_EQ(y[r * ld + i], x[r * ld + i]);  // padding untouched
  }
}

// The whole transform (signs, block, butterflies; and its transpose), computed on groups of 4 rows held
// transposed, against x Q with Q from dense() (the double reference), on every target: row counts that leave
// a last group of 1, 2 or 3 rows, widths with and without column tails after the full vectors (n = 3, 5, 7, 9,
// ...), every way the butterfly stages fall into fused passes (p = 2 ... 128: passes of 3, 2 and 1 stages),
// blocks whose product is fused with the first three stages (m up to lanes / 4: 2, 3, 4 on AVX-512) or not,
// a row stride with padding, and random, zero, all-equal, huge, spiky and NaN / Inf rows in the same groups
// (lanes must not leak into each other).
void check_transform_of_rows(int64_t m, int64_t p, int64_t rows, std::mt19937& rng) {
  std::normal_distribution<float> g(0.0f, 1.0f);
  const int64_t n = p * m, ld = n + 3;
  std::vector<float> B(m == 1 ? 0 : m * m), signs(n);
  for (float& v : B) v = g(rng);
  for (float& v : signs) v = (rng() & 1) ? 1.0f : -1.0f;
  const HadamardTransform q(n, m, B, signs);
  const std::vector<double> Q = q.dense();
  std::vector<float> x(rows * ld, 7.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < n; ++i) x[r * ld + i] = g(rng);
  for (int64_t i = 0; i < n; ++i) {
    x[1 * ld + i] = 0.0f;
    x[2 * ld + i] = -2.5f;
    x[3 * ld + i] *= 1e30f;
    x[4 * ld + i] = i == n - 1 ? 1.0f : 0.0f;
  }
  x[5 * ld + 0] = std::numeric_limits<float>::quiet_NaN();
  x[6 * ld + n - 1] = std::numeric_limits<float>::infinity();
  for (bool transposed : {false, true}) {
    std::vector<float> y = x;
    if (transposed) q.apply_transposed(y.data(), rows, ld);
    else q.apply(y.data(), rows, ld);
    for (int64_t r = 0; r < rows; ++r) {
      const std::string at = "m=" + std::to_string(m) + " p=" + std::to_string(p) + " row " +
                             std::to_string(r) + (transposed ? " transposed" : "");
      for (int64_t c = 0; c < n; ++c) {
        double want = 0, bound = 0;
        for (int64_t k = 0; k < n; ++k) {
          const double e = transposed ? Q[c * n + k] : Q[k * n + c];
          want += x[r * ld + k] * e;
          bound += std::fabs(x[r * ld + k] * e);
        }
        const float got = y[r * ld + c];
        if (!std::isfinite(want)) {
          EXPECT_FALSE(std::isfinite(got)) << at << " c=" << c;
          continue;
        }
        // f32: m products and log2(p) butterflies, each rounding relative to the sum of magnitudes.
        EXPECT_NEAR(got, want, 1e-6 * (m + std::log2(static_cast<double>(p)) + 1) * bound + 1e-30)
            << at << " c=" << c;
      }
      for (int64_t i = n; i < ld; ++i) EXPECT_EQ(y[r * ld + i], 7.0f) << at;  // padding untouched
    }
  }
}

TEST_P(FwhtPerTarget, TransformOfManyRowsMatchesItsDenseForm) {
  std::mt19937 rng(11);
  for (int64_t m : {1, 2, 3, 4, 5, 7, 9, 12})
    for (int64_t p : {1, 2, 4, 8, 16, 32, 64, 128})
      check_transform_of_rows(m, p, 13 + (m + p) % 3, rng);  // last groups of 1, 2 and 3 rows
}

// The largest block of the full-width product (HadamardTransform keeps the repeated entries up to order 512)
// and one past it (the 4-lane product, here with two blocks).
TEST_P(FwhtPerTarget, TransformWithALargeBlockMatchesItsDenseForm) {
  std::mt19937 rng(12);
  check_transform_of_rows(512, 1, 7, rng);
  check_transform_of_rows(515, 2, 7, rng);
}

QH_INSTANTIATE_PER_HWY_TARGET(FwhtPerTarget);

// A random orthogonal 3 x 3 block (a rotation about an axis) for the Kronecker tests.
std::vector<float> block3() {
  const double c = std::cos(0.7), s = std::sin(0.7);
  return {static_cast<float>(c), static_cast<float>(-s), 0.0f, static_cast<float>(s), static_cast<float>(c), 0.0f,
          0.0f, 0.0f, 1.0f};
}

TEST(HadamardTransform, IsOrthogonalAndApplyMatchesItsDenseForm) {
  const int64_t n = 24;  // 8 x 3
  std::vector<float> signs(n);
  for (int64_t i = 0; i < n; ++i) signs[i] = (i * 7 % 5) < 2 ? -1.0f : 1.0f;
  const HadamardTransform q(n, 3, block3(), signs);
  const std::vector<double> Q = q.dense();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t k = 0; k < n; ++k) s += Q[i * n + k] * Q[j * n + k];
      EXPECT_NEAR(s, i == j ? 1.0 : 0.0, 1e-6) << i << " " << j;
    }
  std::mt19937 rng(5);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(2 * n);
  for (float& v : x) v = g(rng);
  std::vector<float> y = x;
  q.apply(y.data(), 2, n);
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t k = 0; k < n; ++k) s += x[r * n + k] * Q[k * n + j];
      EXPECT_NEAR(y[r * n + j], s, 1e-5);
    }
  q.apply_transposed(y.data(), 2, n);  // Q Q^T = I
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(y[i], x[i], 1e-5);
}

TEST(HadamardTransform, PowerOfTwoWithoutBlockIsTheNormalisedSylvesterMatrix) {
  const HadamardTransform q(16, 1, {}, {});
  const std::vector<double> Q = q.dense();
  for (int64_t i = 0; i < 16; ++i)
    for (int64_t j = 0; j < 16; ++j) EXPECT_NEAR(Q[i * 16 + j], sylvester(i, j) / 4.0, 1e-7);
  EXPECT_EQ(pow2_factor(96), 32);
  EXPECT_EQ(pow2_factor(7), 1);
}


// Many strided rows at once (chunks of rows per kernel call, split over the threads) give every row exactly
// what the row alone gets, leave the padding alone, and do not depend on the thread count.
TEST(HadamardTransform, ManyRowsEqualEachRowAloneOnAnyThreadCount) {
  const int64_t n = 24, ld = 29, rows = 150;  // 150 x 24 x (3 + 8) values: enough for the threads to split
  std::vector<float> signs(n);
  for (int64_t i = 0; i < n; ++i) signs[i] = (i * 5 % 7) < 3 ? -1.0f : 1.0f;
  const HadamardTransform q(n, 3, block3(), signs);
  std::mt19937 rng(8);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(rows * ld);
  for (float& v : x) v = g(rng);
  const int saved = omp_get_max_threads();
  for (bool transposed : {false, true}) {
    std::vector<float> want = x;
    for (int64_t r = 0; r < rows; ++r) {
      if (transposed) q.apply_transposed(want.data() + r * ld, 1, n);
      else q.apply(want.data() + r * ld, 1, n);
    }
    for (int threads : {1, 2, 3}) {
      omp_set_num_threads(threads);
      std::vector<float> y = x;
      if (transposed) q.apply_transposed(y.data(), rows, ld);
      else q.apply(y.data(), rows, ld);
      EXPECT_EQ(y, want) << "threads " << threads << " transposed " << transposed;
    }
  }
  omp_set_num_threads(saved);
}


// apply / apply_transposed against Q = diag(s) (H_p / sqrt(p) (x) B) written out entry by entry, for the odd
// block sizes of the usual widths (3, 5, 7, 9), B any m x m matrix.
TEST(HadamardTransform, EveryBlockSizeEqualsTheKroneckerProductByHand) {
  for (int64_t m : {3, 5, 7, 9}) {
    const int64_t p = 4, n = p * m;
    std::mt19937 rng(static_cast<uint32_t>(m));
    std::normal_distribution<float> g(0.0f, 1.0f);
    std::vector<float> B(m * m), signs(n), x(3 * n);
    for (float& v : B) v = g(rng);
    for (float& v : signs) v = (rng() & 1) ? 1.0f : -1.0f;
    for (float& v : x) v = g(rng);
    auto Q = [&](int64_t r, int64_t c) {  // row a*m+i, column b*m+j
      const int64_t a = r / m, i = r % m, b = c / m, j = c % m;
      return signs[r] * sylvester(a, b) / 2.0 * B[i * m + j];
    };
    const HadamardTransform q(n, m, B, signs);
    std::vector<float> y = x, z = x;
    q.apply(y.data(), 3, n);
    q.apply_transposed(z.data(), 3, n);
    for (int64_t r = 0; r < 3; ++r)
      for (int64_t c = 0; c < n; ++c) {
        double want = 0, want_t = 0;
        for (int64_t k = 0; k < n; ++k) {
          want += x[r * n + k] * Q(k, c);
          want_t += x[r * n + k] * Q(c, k);
        }
        EXPECT_NEAR(y[r * n + c], want, 1e-4) << m << " " << r << " " << c;
        EXPECT_NEAR(z[r * n + c], want_t, 1e-4) << m << " " << r << " " << c;
      }
  }
}

}  // namespace
}  // namespace qh::engine
