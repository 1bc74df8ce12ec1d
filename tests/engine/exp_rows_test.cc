// The Highway softmax and SwiGLU rows on every compiled target against their scalar references (double
// accumulation, std::exp): random rows of every length 1..3 vectors plus odd tails, misaligned starts, and
// adversarial rows (-inf masks, huge logits, a single entry, ties, an extra sink logit that dominates).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "src/engine/exp_rows.h"
#include "tests/hwy_per_target.h"

namespace qh::engine {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

class ExpRowsPerTarget : public qh::test::PerHwyTarget {};

// Both implementations compute the same formula; they differ by the exp approximation (a few ulp) and the
// float vs double sum, so values agree to a relative 2e-6; values below 1e-30 only need to be tiny in both.
void expect_close(const std::vector<float>& got, const std::vector<float>& want, const std::string& label) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_FALSE(std::isnan(got[i])) << label << " i=" << i;
    EXPECT_NEAR(got[i], want[i], 2e-6f * std::fabs(want[i]) + 1e-30f) << label << " i=" << i;
  }
}

std::vector<int64_t> lengths() {
  std::vector<int64_t> n;
  for (int64_t i = 1; i <= 50; ++i) n.push_back(i);  // up to 3 vectors of 16 plus tails
  for (int64_t i : {63, 64, 65, 127, 255, 256, 257, 511, 512}) n.push_back(i);
  return n;
}

// A row of logits at a misaligned start inside a larger buffer.
struct Row {
  std::vector<float> buf;
  int64_t offset;
  float* data() { return buf.data() + offset; }
};

void check_softmax(const std::vector<float>& logits, float extra, const std::string& label) {
  const int64_t n = static_cast<int64_t>(logits.size());
  for (int64_t offset : {0, 1, 3}) {
    Row simd{std::vector<float>(n + offset + 1, 7.0f), offset};
    std::copy(logits.begin(), logits.end(), simd.data());
    std::vector<float> ref(logits);
    const float mass = softmax_row(simd.data(), n, extra);
    const float mass_ref = softmax_row_reference(ref.data(), n, extra);
    const std::string where = label + " n=" + std::to_string(n) + " offset=" + std::to_string(offset);
    expect_close(std::vector<float>(simd.data(), simd.data() + n), ref, where);
    EXPECT_NEAR(mass, mass_ref, 2e-6f * mass_ref + 1e-30f) << where;
    EXPECT_EQ(simd.buf[offset + n], 7.0f) << where << ": wrote past the row";
    if (offset > 0) {
      EXPECT_EQ(simd.buf[offset - 1], 7.0f) << where << ": wrote before the row";
    }
  }
}

TEST_P(ExpRowsPerTarget, SoftmaxMatchesReferenceOnRandomRows) {
  std::mt19937 rng(5);
  std::normal_distribution<float> g(0.0f, 4.0f);
  for (int64_t n : lengths()) {
    std::vector<float> x(n);
    for (float& v : x) v = g(rng);
    check_softmax(x, kNoExtraLogit, "random");
    check_softmax(x, g(rng), "random+sink");
  }
}

TEST_P(ExpRowsPerTarget, SoftmaxMatchesReferenceOnAdversarialRows) {
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int64_t n : lengths()) {
    std::vector<float> x(n);
    // -inf masks on every other entry (at least one finite entry: the first).
    for (int64_t j = 0; j < n; ++j) x[j] = j % 2 ? -kInf : u(rng);
    check_softmax(x, kNoExtraLogit, "masked");
    // Huge logits: one dominant entry, the rest 1e30 below it (exp underflows to 0).
    for (int64_t j = 0; j < n; ++j) x[j] = j == n / 2 ? 3e37f : -3e37f;
    check_softmax(x, kNoExtraLogit, "huge");
    // All equal (ties): uniform 1/n.
    std::fill(x.begin(), x.end(), 1e20f);
    check_softmax(x, kNoExtraLogit, "ties");
    // Logits spread so that some exps are denormal or underflow.
    for (int64_t j = 0; j < n; ++j) x[j] = -static_cast<float>(j) * 7.0f;
    check_softmax(x, kNoExtraLogit, "spread");
    // A sink logit far above every entry takes (almost) all the mass.
    for (int64_t j = 0; j < n; ++j) x[j] = u(rng);
    check_softmax(x, 80.0f, "dominant sink");
    // Every entry masked, the sink alone carries the mass.
    std::fill(x.begin(), x.end(), -kInf);
    check_softmax(x, 0.5f, "masked + sink");
  }
}

TEST_P(ExpRowsPerTarget, SoftmaxHandValues) {
  // exp(0), exp(ln 3) over 1 + 3 + exp(ln 4) = 8.
  std::vector<float> x{0.0f, std::log(3.0f)};
  const float mass = softmax_row(x.data(), 2, std::log(4.0f));
  EXPECT_NEAR(x[0], 1.0f / 8, 1e-7f);
  EXPECT_NEAR(x[1], 3.0f / 8, 1e-7f);
  EXPECT_NEAR(mass, 4.0f / 8, 1e-7f);
  std::vector<float> one{-12.5f};
  EXPECT_EQ(softmax_row(one.data(), 1), 0.0f);
  EXPECT_EQ(one[0], 1.0f);
  std::vector<float> masked(5, -kInf);
  EXPECT_EQ(softmax_row(masked.data(), 5), 0.0f);
  for (float v : masked) EXPECT_EQ(v, 0.0f);
}

TEST_P(ExpRowsPerTarget, SwigluMatchesReference) {
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.0f, 3.0f);
  for (int64_t n : lengths()) {
    std::vector<float> gate(n + 1), up(n + 1), out(n + 2, 7.0f), ref(n);
    for (int64_t i = 0; i < n + 1; ++i) {
      gate[i] = g(rng);
      up[i] = g(rng);
    }
    // Adversarial entries: large negative (exp overflows), large positive, zero, tiny.
    if (n > 4) {
      gate[1] = -1e4f;
      gate[2] = 1e4f;
      gate[3] = 0.0f;
      gate[4] = -90.0f;
    }
    swiglu_row(gate.data() + 1, up.data() + 1, n, out.data() + 1);
    swiglu_row_reference(gate.data() + 1, up.data() + 1, n, ref.data());
    expect_close(std::vector<float>(out.begin() + 1, out.begin() + 1 + n), ref, "swiglu n=" + std::to_string(n));
    EXPECT_EQ(out[0], 7.0f);
    EXPECT_EQ(out[n + 1], 7.0f);
  }
}

TEST_P(ExpRowsPerTarget, SwigluHandValues) {
  // silu(0) = 0; silu(ln 3) = ln 3 * 3/4; silu(-ln 3) = -ln 3 / 4.
  const float l3 = std::log(3.0f);
  std::vector<float> gate{0.0f, l3, -l3}, up{5.0f, 2.0f, 4.0f}, out(3);
  swiglu_row(gate.data(), up.data(), 3, out.data());
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_NEAR(out[1], l3 * 0.75f * 2.0f, 1e-6f);
  EXPECT_NEAR(out[2], -l3 * 0.25f * 4.0f, 1e-6f);
}

// The block forms compute every row exactly as the row functions (bit for bit), whatever the block bounds.
TEST_P(ExpRowsPerTarget, BlocksEqualRowByRow) {
  std::mt19937 rng(11);
  std::normal_distribution<float> g(0.0f, 4.0f);
  const int64_t T = 70, ld = 80;
  std::vector<float> scores(static_cast<size_t>(T * ld));
  for (float& v : scores) v = g(rng);
  for (float extra : {kNoExtraLogit, 0.7f}) {
    for (int64_t i0 : {int64_t{0}, int64_t{5}, int64_t{33}}) {
      const int64_t i1 = std::min<int64_t>(T, i0 + 17);
      std::vector<float> block(scores.begin() + i0 * ld, scores.begin() + i1 * ld), rows = block;
      std::vector<float> masses(static_cast<size_t>(i1 - i0), -1.0f);
      softmax_causal_rows(block.data(), ld, i0, i1, extra, masses.data());
      for (int64_t i = i0; i < i1; ++i) {
        const float mass = softmax_row(rows.data() + (i - i0) * ld, i + 1, extra);
        EXPECT_EQ(masses[i - i0], mass) << i;
      }
      EXPECT_EQ(block, rows) << "i0=" << i0;
    }
  }
  std::vector<float> gate(static_cast<size_t>(T * ld)), up(gate.size());
  for (float& v : gate) v = g(rng);
  for (float& v : up) v = g(rng);
  const int64_t n = 37;
  std::vector<float> out_block(static_cast<size_t>(T * n), 7.0f), out_rows(out_block.size(), 7.0f);
  swiglu_rows_block(gate.data(), up.data(), T, n, ld, out_block.data(), n);
  for (int64_t r = 0; r < T; ++r) swiglu_row(gate.data() + r * ld, up.data() + r * ld, n, out_rows.data() + r * n);
  EXPECT_EQ(out_block, out_rows);
}

QH_INSTANTIATE_PER_HWY_TARGET(ExpRowsPerTarget);

}  // namespace
}  // namespace qh::engine
