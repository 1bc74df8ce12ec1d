// The Highway log-sum-exp, KL and argmax kernels on every compiled target against their scalar references (the
// metrics' original formulas: std::exp per entry, left-to-right sums and scans): random rows of every length up
// to a few vectors plus vocabulary sizes, misaligned starts, hand-computed values, and adversarial rows (NaN,
// +-inf, 3e38, +-0, all-equal, ties, a single entry, an empty row, identical rows). Argmax must match exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "src/eval/log_probs.h"
#include "tests/hwy_per_target.h"

namespace qh::eval {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

class LogProbsPerTarget : public qh::test::PerHwyTarget {};

std::vector<int64_t> lengths() {
  std::vector<int64_t> n;
  for (int64_t i = 1; i <= 40; ++i) n.push_back(i);  // up to 5 vectors of 8 doubles, every tail
  for (int64_t i : {63, 64, 65, 255, 257, 4096, 32000, 50257}) n.push_back(i);
  return n;
}

// Same class of value (NaN, +inf, -inf, finite) and, if finite, within tol.
void expect_same(double got, double want, double tol, const std::string& where) {
  if (std::isnan(want)) {
    EXPECT_TRUE(std::isnan(got)) << where << ": got " << got << ", want NaN";
  } else if (std::isinf(want)) {
    EXPECT_EQ(got, want) << where;
  } else {
    ASSERT_TRUE(std::isfinite(got)) << where << ": got " << got << ", want " << want;
    EXPECT_NEAR(got, want, tol) << where;
  }
}

// Lane sums and Highway's Exp (1 ulp) against a serial sum of std::exp: each of n terms may differ by a few
// ulp, and the two summation orders by n roundings of the sum.
double lse_tolerance(int64_t n, double want) { return 2e-16 * static_cast<double>(n + 8) + 4e-16 * std::fabs(want); }

void check_lse(const std::vector<float>& x, const std::string& label) {
  const int64_t n = static_cast<int64_t>(x.size());
  for (int64_t offset : {0, 1, 3}) {  // misaligned starts
    std::vector<float> buf(n + offset, 5.0f);
    std::copy(x.begin(), x.end(), buf.begin() + offset);
    const double want = log_sum_exp_reference(x.data(), n);
    expect_same(log_sum_exp(buf.data() + offset, n), want, lse_tolerance(n, want),
                label + " n=" + std::to_string(n) + " offset=" + std::to_string(offset));
  }
}

void check_kl(const std::vector<float>& x, const std::vector<float>& y, const std::string& label) {
  const int64_t n = static_cast<int64_t>(x.size());
  const double lx = log_sum_exp_reference(x.data(), n), ly = log_sum_exp_reference(y.data(), n);
  double magnitude = 0;  // sum of |terms|: the scale of the sum's rounding
  for (int64_t i = 0; i < n; ++i) {
    const double a = x[i] - lx, b = y[i] - ly;
    if (std::isfinite(a) && std::isfinite(b)) magnitude += std::exp(a) * std::fabs(a - b);
  }
  for (int64_t offset : {0, 1, 3}) {
    std::vector<float> bx(n + offset, 5.0f), by(n + offset, -5.0f);
    std::copy(x.begin(), x.end(), bx.begin() + offset);
    std::copy(y.begin(), y.end(), by.begin() + offset);
    const double want = kl_from_logits_reference(x.data(), lx, y.data(), ly, n);
    expect_same(kl_from_logits(bx.data() + offset, lx, by.data() + offset, ly, n), want,
                4e-16 * static_cast<double>(n + 8) * magnitude + 1e-300,
                label + " n=" + std::to_string(n) + " offset=" + std::to_string(offset));
  }
}

TEST_P(LogProbsPerTarget, RandomRowsMatchTheReference) {
  std::mt19937 rng(5);
  std::normal_distribution<float> wide(0.0f, 4.0f), noise(0.0f, 0.05f);
  for (int64_t n : lengths()) {
    std::vector<float> x(n), y(n);
    for (int64_t i = 0; i < n; ++i) {
      x[i] = wide(rng);
      y[i] = x[i] + noise(rng);  // a quantized row: close to x
    }
    check_lse(x, "random");
    check_kl(x, y, "random, close");
    std::shuffle(y.begin(), y.end(), rng);
    check_kl(x, y, "random, unrelated");
  }
}

TEST_P(LogProbsPerTarget, HandComputedValues) {
  const float two[2] = {0, 0}, huge[3] = {1000, 1000, -1000};
  EXPECT_NEAR(log_sum_exp(two, 2), std::log(2.0), 1e-15);
  EXPECT_NEAR(log_sum_exp(huge, 3), 1000 + std::log(2.0), 1e-12);  // stable: exp(1000) is never formed
  const float one[1] = {-3.5f};
  EXPECT_EQ(log_sum_exp(one, 1), -3.5);
  // KL((1/2, 1/2) || (1/(1+e), e/(1+e))) = log((1+e)/2) - 1/2.
  const float p[2] = {0, 0}, q[2] = {0, 1};
  const double e = std::exp(1.0);
  EXPECT_NEAR(kl_from_logits(p, log_sum_exp(p, 2), q, log_sum_exp(q, 2), 2), std::log((1 + e) / 2) - 0.5, 1e-15);
}

TEST_P(LogProbsPerTarget, AdversarialRowsBehaveAsTheFormula) {
  for (int64_t n : {1, 2, 7, 8, 9, 17, 33}) {
    std::vector<float> base(n);
    for (int64_t i = 0; i < n; ++i) base[i] = static_cast<float>(i % 5) - 2.0f;
    for (int64_t at : {int64_t{0}, n / 2, n - 1}) {  // first, middle (body or tail), last entry
      const std::string where = " at " + std::to_string(at);
      for (float bad : {kNaN, kInf, -kInf, 3e38f, -3e38f}) {
        std::vector<float> x = base;
        x[at] = bad;
        check_lse(x, "one entry " + std::to_string(bad) + where);
        check_kl(x, base, "x with " + std::to_string(bad) + where);
        check_kl(base, x, "y with " + std::to_string(bad) + where);
      }
    }
    check_lse(std::vector<float>(n, -kInf), "all -inf");  // NaN, as the formula (-inf - -inf)
    check_lse(std::vector<float>(n, 3e38f), "all 3e38");
    check_lse(std::vector<float>(n, 1.25f), "all equal");
    EXPECT_NEAR(log_sum_exp(std::vector<float>(n, 1.25f).data(), n), 1.25 + std::log(static_cast<double>(n)), 1e-14);
    check_kl(base, base, "identical rows");
    EXPECT_EQ(kl_from_logits(base.data(), log_sum_exp(base.data(), n), base.data(), log_sum_exp(base.data(), n), n),
              0.0);  // a - b is exactly 0 in every term
  }
  // The classes the metrics rely on, spelled out: NaN in, NaN out; an empty row's normaliser is -inf.
  const float with_nan[9] = {0, 1, 2, 3, 4, 5, 6, 7, kNaN};
  EXPECT_TRUE(std::isnan(log_sum_exp(with_nan, 9)));
  EXPECT_EQ(log_sum_exp(with_nan, 0), -std::numeric_limits<double>::infinity());
  const float finite[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8}, minus_inf[9] = {0, 1, 2, 3, 4, 5, 6, 7, -kInf};
  const double lf = log_sum_exp(finite, 9), lm = log_sum_exp(minus_inf, 9);
  EXPECT_TRUE(std::isfinite(lm));
  EXPECT_EQ(kl_from_logits(finite, lf, minus_inf, lm, 9), std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(kl_from_logits(minus_inf, lm, finite, lf, 9)));  // 0 * -inf, as the formula
}

TEST_P(LogProbsPerTarget, ArgmaxIsTheReferencesIndexExactly) {
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> small(-3, 3);  // many ties
  std::normal_distribution<float> g(0.0f, 2.0f);
  for (int64_t n : lengths()) {
    std::vector<float> x(n);
    for (int rep = 0; rep < 4; ++rep) {
      for (float& v : x) v = rep % 2 ? static_cast<float>(small(rng)) : g(rng);
      if (rep == 2) x[static_cast<size_t>(rng() % n)] = kNaN;  // a NaN anywhere
      if (rep == 3) x[static_cast<size_t>(rng() % n)] = -0.0f;
      const std::string where = "n=" + std::to_string(n) + " rep=" + std::to_string(rep);
      ASSERT_EQ(argmax_row(x.data(), n), argmax_row_reference(x.data(), n)) << where;
      x[0] = kNaN;  // a NaN first entry is kept: nothing compares greater
      ASSERT_EQ(argmax_row(x.data(), n), 0) << where;
      ASSERT_EQ(argmax_row_reference(x.data(), n), 0) << where;
    }
  }
  for (int64_t n : {1, 5, 16, 17, 33}) {
    for (float fill : {-kInf, kNaN, 0.0f, -0.0f, 3e38f}) {
      std::vector<float> x(n, fill);
      EXPECT_EQ(argmax_row(x.data(), n), argmax_row_reference(x.data(), n)) << "n=" << n << " all " << fill;
      x[n - 1] = kInf;
      EXPECT_EQ(argmax_row(x.data(), n), argmax_row_reference(x.data(), n)) << "n=" << n << " last +inf";
      if (n > 2) {
        x.assign(n, -kInf);
        x[1] = kNaN;
        x[n - 1] = -1.0f;  // a NaN before the maximum is skipped
        EXPECT_EQ(argmax_row(x.data(), n), n - 1);
        EXPECT_EQ(argmax_row_reference(x.data(), n), n - 1);
      }
    }
  }
}

QH_INSTANTIATE_PER_HWY_TARGET(LogProbsPerTarget);

}  // namespace
}  // namespace qh::eval
