// The Highway normalisation and RoPE rows (src/engine/row_kernels.h) on every compiled target against their
// scalar references: RoPE bit for bit; normalised rows to 1 ulp (only the order of the double sums differs,
// which can move float(1 / sqrt(var + eps)) across a rounding boundary). Random rows of every length 1..50
// plus vector-edge lengths, strided and in-place rows, and adversarial rows (all equal, zeros, huge, NaN, Inf).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "src/engine/ops.h"
#include "src/engine/row_kernels.h"
#include "tests/hwy_per_target.h"

namespace qh::engine {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

class RowKernelsPerTarget : public qh::test::PerHwyTarget {};

std::vector<int64_t> lengths() {
  std::vector<int64_t> n;
  for (int64_t i = 1; i <= 50; ++i) n.push_back(i);
  for (int64_t i : {63, 64, 65, 127, 128, 129, 511, 512, 513, 1376}) n.push_back(i);
  return n;
}

// Distance in units in the last place between two floats of the same sign (NaN only matches NaN).
int64_t ulps(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b) ? 0 : INT64_MAX;
  if (a == b) return 0;
  if (std::signbit(a) != std::signbit(b)) return INT64_MAX;
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  return std::abs(static_cast<int64_t>(ia) - ib);
}

// rows x d values at stride ld (ld > d leaves a guard column that must stay untouched).
void check_norm(NormKind kind, const std::vector<float>& x, int64_t rows, int64_t d, bool bias, bool in_place,
                const std::string& label) {
  const int64_t ld = d + 3;
  std::mt19937 rng(static_cast<uint32_t>(d * 7 + rows));
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> w(d), b(d);
  for (float& v : w) v = 1.0f + 0.1f * g(rng);
  for (float& v : b) v = 0.1f * g(rng);
  std::vector<float> in(rows * ld, 5.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < d; ++i) in[r * ld + i] = x[r * d + i];
  std::vector<float> got = in, want = in;
  const float* src_got = in_place ? got.data() : in.data();
  const float* src_want = in_place ? want.data() : in.data();
  norm_rows_block(kind, src_got, rows, d, ld, w.data(), bias ? b.data() : nullptr, 1e-5f, got.data(), ld);
  norm_rows_block_reference(kind, src_want, rows, d, ld, w.data(), bias ? b.data() : nullptr, 1e-5f, want.data(), ld);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < d; ++i)
      ASSERT_LE(ulps(got[r * ld + i], want[r * ld + i]), 1)
          << label << " d=" << d << " row " << r << " i=" << i << ": " << got[r * ld + i] << " vs " << want[r * ld + i];
    for (int64_t i = d; i < ld; ++i) ASSERT_EQ(got[r * ld + i], 5.0f) << label << ": wrote past the row";
  }
}

TEST_P(RowKernelsPerTarget, NormMatchesReferenceOnRandomRows) {
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.5f, 2.0f);
  for (int64_t d : lengths())
    for (NormKind kind : {NormKind::kRMSNorm, NormKind::kLayerNorm})
      for (bool bias : {false, true})
        for (bool in_place : {false, true}) {
          std::vector<float> x(3 * d);
          for (float& v : x) v = g(rng);
          check_norm(kind, x, 3, d, bias, in_place, kind == NormKind::kRMSNorm ? "rms" : "layer");
        }
}

TEST_P(RowKernelsPerTarget, NormMatchesReferenceOnAdversarialRows) {
  for (int64_t d : {1, 7, 16, 33, 64, 513}) {
    std::vector<std::vector<float>> rows = {
        std::vector<float>(d, 0.0f),      // zero row: 1 / sqrt(eps) times zero
        std::vector<float>(d, 3.25f),     // all equal: LayerNorm's variance is 0
        std::vector<float>(d, 3.0e38f),   // squares overflow float, not double
        std::vector<float>(d, -1.0e-30f)  // tiny
    };
    std::vector<float> alternating(d);
    for (int64_t i = 0; i < d; ++i) alternating[i] = i % 2 ? 1e20f : -1e-20f;
    rows.push_back(alternating);
    std::vector<float> with_nan(d, 1.0f), with_inf(d, 1.0f);
    with_nan[d / 2] = kNaN;
    with_inf[d - 1] = kInf;
    rows.push_back(with_nan);
    rows.push_back(with_inf);
    for (NormKind kind : {NormKind::kRMSNorm, NormKind::kLayerNorm})
      for (size_t k = 0; k < rows.size(); ++k)
        check_norm(kind, rows[k], 1, d, k % 2 == 1, k % 3 == 0, "adversarial " + std::to_string(k));
  }
}

// The norm of a row whose variance is known: x = (1, -1, 1, -1, ...) has mean 0 and mean square 1, so RMSNorm
// and LayerNorm both give x / sqrt(1 + eps) * w.
TEST_P(RowKernelsPerTarget, NormOfAHandComputedRow) {
  const int64_t d = 40;
  std::vector<float> x(d), w(d, 2.0f), out(d);
  for (int64_t i = 0; i < d; ++i) x[i] = i % 2 ? -1.0f : 1.0f;
  for (NormKind kind : {NormKind::kRMSNorm, NormKind::kLayerNorm}) {
    norm_rows_block(kind, x.data(), 1, d, d, w.data(), nullptr, 0.25f, out.data(), d);
    for (int64_t i = 0; i < d; ++i) EXPECT_FLOAT_EQ(out[i], x[i] * 2.0f / std::sqrt(1.25f));
  }
}

void check_rope(int64_t heads, int64_t T, int64_t hd, int64_t rot, float fill, const std::string& label) {
  RopeTable table;
  table.ensure(T, rot, 10000.0f);
  const int64_t ld = heads * hd + 5;
  std::mt19937 rng(static_cast<uint32_t>(heads * 131 + hd * 7 + rot));
  std::normal_distribution<float> g(0.0f, 3.0f);
  std::vector<float> x(T * ld);
  for (float& v : x) v = g(rng);
  if (fill != 0.0f)
    for (int64_t t = 0; t < T; t += 3) x[t * ld + (t % (heads * hd))] = fill;
  std::vector<float> got(heads * T * hd, 9.0f), want(heads * T * hd, 9.0f);
  const RopeRows a{x.data(), ld, heads, T, hd, rot, table.cos.data(), table.sin.data(), got.data()};
  RopeRows b = a;
  b.out = want.data();
  // Two calls over a split of the positions: a block's rows are computed alone.
  rope_rows_block(a, 0, T / 3);
  rope_rows_block(a, T / 3, T);
  rope_rows_block_reference(b, 0, T);
  ASSERT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0)
      << label << " heads=" << heads << " hd=" << hd << " rot=" << rot;
}

TEST_P(RowKernelsPerTarget, RopeIsBitIdenticalToReference) {
  for (int64_t hd : {2, 6, 8, 24, 32, 64, 80, 96, 128})
    for (int64_t rot : {hd, hd / 2 - (hd / 2) % 2})
      if (rot > 0)
        for (int64_t heads : {1, 3}) check_rope(heads, 37, hd, rot, 0.0f, "random");
}

TEST_P(RowKernelsPerTarget, RopeOnAdversarialValues) {
  for (float fill : {kNaN, kInf, -kInf, 3.0e38f, 0.0f, -0.0f})
    for (int64_t hd : {6, 64, 80}) check_rope(2, 20, hd, hd, fill, "fill " + std::to_string(fill));
}

// The entry point of the forward pass over a hand-checked case: position 0 is the identity, and with a single
// pair the rotation at position t is by t * theta^0 = t radians.
TEST(RopeToHeads, RotatesByThePositionAngle) {
  RopeTable table;
  table.ensure(3, 2, 10000.0f);
  const std::vector<float> x = {1, 0, 1, 0, 0, 1};  // rows t = 0, 1, 2 of one head of 2
  std::vector<float> out(6);
  rope_to_heads(x.data(), 2, 1, 3, 2, table, out.data());
  EXPECT_FLOAT_EQ(out[0], 1.0f);
  EXPECT_FLOAT_EQ(out[1], 0.0f);
  EXPECT_FLOAT_EQ(out[2], std::cos(1.0f));
  EXPECT_FLOAT_EQ(out[3], std::sin(1.0f));
  EXPECT_FLOAT_EQ(out[4], -std::sin(2.0f));
  EXPECT_FLOAT_EQ(out[5], std::cos(2.0f));
}

QH_INSTANTIATE_PER_HWY_TARGET(RowKernelsPerTarget);

}  // namespace
}  // namespace qh::engine
