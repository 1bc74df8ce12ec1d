// Every compiled Highway target against the scalar reference: codes, scales and fake-quant values bit for
// bit, over lengths 0..3 vectors plus odd tails, misaligned starts, strided rows, random and adversarial data.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "hwy/aligned_allocator.h"
#include "src/core/error.h"
#include "quant/quantize.h"
#include "quant/reference.h"
#include "tests/hwy_per_target.h"
#include "tests/quant/kernel_data.h"

namespace qh::quant {
namespace {

using testing::all_patterns;
using testing::bits_equal;
using testing::make_rows;
using testing::Pattern;
using testing::pattern_name;
using testing::rows_equal;
using testing::test_lengths;

class PerTarget : public qh::test::PerHwyTarget {};

// A case: pattern, length, misalignment of the input (floats) and of the codes (bytes), rows, stride.
struct Shape {
  Pattern pattern;
  int64_t rows, cols, stride, offset;
  std::string label() const {
    return std::string(pattern_name(pattern)) + " rows=" + std::to_string(rows) + " cols=" + std::to_string(cols) +
           " stride=" + std::to_string(stride) + " offset=" + std::to_string(offset);
  }
};

template <class Fn>
void for_each_shape(Fn fn) {
  uint32_t seed = 1;
  for (Pattern pattern : all_patterns()) {
    for (int64_t cols : test_lengths()) {
      const int64_t offset = static_cast<int64_t>(seed % 4);  // misaligned starts: 0..3 floats
      const int64_t rows = cols > 200 ? 3 : 5;
      const int64_t stride = cols + (seed % 3);
      fn(Shape{pattern, rows, cols, stride, offset}, seed++);
    }
  }
}

// Clips below 1 make the clamp matter; 2.4e-7 keeps the products |x / s| just under the bound where the AVX2 /
// AVX-512 kernels convert without clamping first (up to ~5e8: the saturating packs clamp), and 1e-9 goes past
// it (the kernels clamp in f32 first).
const float kClips[] = {1.0f, 0.9f, 2.4e-7f, 1.0e-9f};

TEST_P(PerTarget, PerTokenSymmetric) {
  for (int bits : {8, 4, 2}) {
    for (float clip : kClips) {
      for_each_shape([&](const Shape& s, uint32_t seed) {
        const auto buf = make_rows(s.pattern, s.rows + 1, s.cols, s.stride, seed);
        const float* x = buf.data() + s.offset;
        const RowParams p{bits, true, clip};
        const int64_t cs = s.cols + 3;  // code stride, codes start misaligned by one byte
        std::vector<int8_t> c_simd(s.rows * cs + 1, 99), c_ref(s.rows * cs + 1, 99);
        std::vector<float> s_simd(s.rows), s_ref(s.rows);
        quantize_per_token_sym(x, s.rows, s.cols, s.stride, p, c_simd.data() + 1, cs, s_simd.data());
        ref::quantize_per_token_sym(x, s.rows, s.cols, s.stride, p, c_ref.data() + 1, cs, s_ref.data());
        const std::string what = s.label() + " bits=" + std::to_string(bits) + " clip=" + std::to_string(clip);
        ASSERT_TRUE(bits_equal(s_simd.data(), s_ref.data(), s.rows, what + " scales"));
        ASSERT_TRUE(rows_equal(c_simd.data() + 1, c_ref.data() + 1, s.rows, s.cols, cs, what + " codes"));
        for (float sc : s_simd) ASSERT_TRUE(sc > 0.0f && std::isfinite(sc)) << what;
        // The code buffer around the rows is untouched.
        ASSERT_EQ(c_simd[0], 99) << what;
      });
    }
  }
}

TEST_P(PerTarget, PerTokenAsymmetric) {
  for (int bits : {8, 4, 2}) {
    for (float clip : kClips) {
      for_each_shape([&](const Shape& s, uint32_t seed) {
        const auto buf = make_rows(s.pattern, s.rows + 1, s.cols, s.stride, seed);
        const float* x = buf.data() + s.offset;
        const RowParams p{bits, false, clip};
        std::vector<uint8_t> c_simd(s.rows * s.cols + 1), c_ref(s.rows * s.cols + 1);
        std::vector<float> s_simd(s.rows), s_ref(s.rows);
        std::vector<int32_t> z_simd(s.rows), z_ref(s.rows);
        quantize_per_token_asym(x, s.rows, s.cols, s.stride, p, c_simd.data() + 1, s.cols, s_simd.data(),
                                z_simd.data());
        ref::quantize_per_token_asym(x, s.rows, s.cols, s.stride, p, c_ref.data() + 1, s.cols, s_ref.data(),
                                     z_ref.data());
        const std::string what = s.label() + " bits=" + std::to_string(bits) + " clip=" + std::to_string(clip);
        ASSERT_TRUE(bits_equal(s_simd.data(), s_ref.data(), s.rows, what + " scales"));
        ASSERT_TRUE(bits_equal(z_simd.data(), z_ref.data(), s.rows, what + " zero points"));
        ASSERT_TRUE(bits_equal(c_simd.data(), c_ref.data(), s.rows * s.cols + 1, what + " codes"));
        // Dequantize agrees too.
        std::vector<float> d_simd(s.rows * s.cols), d_ref(s.rows * s.cols);
        dequantize_rows_asym(c_simd.data() + 1, s.rows, s.cols, s.cols, s_simd.data(), z_simd.data(), d_simd.data(),
                             s.cols);
        ref::dequantize_rows_asym(c_ref.data() + 1, s.rows, s.cols, s.cols, s_ref.data(), z_ref.data(), d_ref.data(),
                                  s.cols);
        ASSERT_TRUE(bits_equal(d_simd.data(), d_ref.data(), s.rows * s.cols, what + " dequantized"));
      });
    }
  }
}

TEST_P(PerTarget, GivenScalesAndDequantize) {
  for_each_shape([&](const Shape& s, uint32_t seed) {
    const auto buf = make_rows(s.pattern, s.rows + 1, s.cols, s.stride, seed);
    const float* x = buf.data() + s.offset;
    // Scales 1 and 0.5 make the .5 ties exact; 1e-3 and FLT_MIN saturate.
    const float choices[] = {1.0f, 0.5f, 0.013f, 1.0e-3f, FLT_MIN};
    std::vector<float> scales(s.rows);
    std::vector<int32_t> zps(s.rows);
    for (int64_t r = 0; r < s.rows; ++r) {
      scales[r] = choices[(r + seed) % 5];
      zps[r] = static_cast<int32_t>((r * 37) % 256);
    }
    for (int bits : {8, 4, 3}) {
      const std::string what = s.label() + " bits=" + std::to_string(bits);
      std::vector<int8_t> c_simd(s.rows * s.cols), c_ref(s.rows * s.cols);
      quantize_rows_sym(x, s.rows, s.cols, s.stride, scales.data(), bits, c_simd.data(), s.cols);
      ref::quantize_rows_sym(x, s.rows, s.cols, s.stride, scales.data(), bits, c_ref.data(), s.cols);
      ASSERT_TRUE(bits_equal(c_simd.data(), c_ref.data(), s.rows * s.cols, what + " sym codes"));
      std::vector<uint8_t> u_simd(s.rows * s.cols), u_ref(s.rows * s.cols);
      quantize_rows_asym(x, s.rows, s.cols, s.stride, scales.data(), zps.data(), 8, u_simd.data(), s.cols);
      ref::quantize_rows_asym(x, s.rows, s.cols, s.stride, scales.data(), zps.data(), 8, u_ref.data(), s.cols);
      ASSERT_TRUE(bits_equal(u_simd.data(), u_ref.data(), s.rows * s.cols, what + " asym codes"));
      std::vector<float> d_simd(s.rows * s.stride, 7.0f), d_ref(s.rows * s.stride, 7.0f);
      dequantize_rows_sym(c_simd.data(), s.rows, s.cols, s.cols, scales.data(), d_simd.data(), s.stride);
      ref::dequantize_rows_sym(c_ref.data(), s.rows, s.cols, s.cols, scales.data(), d_ref.data(), s.stride);
      ASSERT_TRUE(bits_equal(d_simd.data(), d_ref.data(), s.rows * s.stride, what + " dequantized"));
    }
  });
}

TEST_P(PerTarget, Groups) {
  for (int64_t group : {1, 8, 16, 32, 128}) {
    for (int64_t groups : {1, 2, 3}) {
      const int64_t cols = group * groups, rows = 4, stride = cols + 1;
      for (Pattern pattern : all_patterns()) {
        const auto buf = make_rows(pattern, rows + 1, cols, stride, static_cast<uint32_t>(group + groups));
        const float* x = buf.data() + 1;
        const std::string what = std::string(pattern_name(pattern)) + " group=" + std::to_string(group) +
                                 " cols=" + std::to_string(cols);
        std::vector<int8_t> c_simd(rows * cols), c_ref(rows * cols);
        std::vector<float> s_simd(rows * groups), s_ref(rows * groups);
        for (int bits : {8, 4}) {
          for (float clip : kClips) {
            const RowParams p{bits, true, clip};
            const std::string params = " bits=" + std::to_string(bits) + " clip=" + std::to_string(clip);
            quantize_per_group_sym(x, rows, cols, stride, group, p, c_simd.data(), cols, s_simd.data());
            ref::quantize_per_group_sym(x, rows, cols, stride, group, p, c_ref.data(), cols, s_ref.data());
            ASSERT_TRUE(bits_equal(s_simd.data(), s_ref.data(), rows * groups, what + params + " scales"));
            ASSERT_TRUE(bits_equal(c_simd.data(), c_ref.data(), rows * cols, what + params + " codes"));
          }
        }
        const RowParams p{4, true, 1.0f};
        quantize_per_group_sym(x, rows, cols, stride, group, p, c_simd.data(), cols, s_simd.data());
        ref::quantize_per_group_sym(x, rows, cols, stride, group, p, c_ref.data(), cols, s_ref.data());
        std::vector<float> a_simd(rows * groups), a_ref(rows * groups);
        group_absmax(x, rows, cols, stride, group, a_simd.data());
        ref::group_absmax(x, rows, cols, stride, group, a_ref.data());
        ASSERT_TRUE(bits_equal(a_simd.data(), a_ref.data(), rows * groups, what + " group absmax"));
        quantize_groups_sym(x, rows, cols, stride, group, s_ref.data(), 8, c_simd.data(), cols);
        ref::quantize_groups_sym(x, rows, cols, stride, group, s_ref.data(), 8, c_ref.data(), cols);
        ASSERT_TRUE(bits_equal(c_simd.data(), c_ref.data(), rows * cols, what + " codes with given scales"));
        for (bool symmetric : {true, false}) {
          const RowParams fp{4, symmetric, 0.95f};
          std::vector<float> f_simd(rows * cols), f_ref(rows * cols);
          fake_quant_groups(x, rows, cols, stride, group, fp, f_simd.data(), cols);
          ref::fake_quant_groups(x, rows, cols, stride, group, fp, f_ref.data(), cols);
          ASSERT_TRUE(bits_equal(f_simd.data(), f_ref.data(), rows * cols, what + " fake quant groups"));
        }
      }
    }
  }
}

// Clip 1 takes the symmetric per-row path without a clamp (the clamp is the identity there).
TEST_P(PerTarget, FakeQuant) {
  for (bool symmetric : {true, false}) {
    for (int bits : {8, 4}) {
      for (float clip : {0.9f, 1.0f}) {
        for_each_shape([&](const Shape& s, uint32_t seed) {
          const auto buf = make_rows(s.pattern, s.rows + 1, s.cols, s.stride, seed);
          const float* x = buf.data() + s.offset;
          const RowParams p{bits, symmetric, clip};
          const std::string what = s.label() + " bits=" + std::to_string(bits) + (symmetric ? " sym" : " asym") +
                                   " clip=" + std::to_string(clip);
          std::vector<float> f_simd(s.rows * s.cols), f_ref(s.rows * s.cols);
          fake_quant_rows(x, s.rows, s.cols, s.stride, p, f_simd.data(), s.cols);
          ref::fake_quant_rows(x, s.rows, s.cols, s.stride, p, f_ref.data(), s.cols);
          ASSERT_TRUE(bits_equal(f_simd.data(), f_ref.data(), s.rows * s.cols, what + " rows"));
          const std::vector<float> per_row = f_ref;
          fake_quant_fixed(x, s.rows, s.cols, s.stride, 0.02f, 100, p, f_simd.data(), s.cols);
          ref::fake_quant_fixed(x, s.rows, s.cols, s.stride, 0.02f, 100, p, f_ref.data(), s.cols);
          ASSERT_TRUE(bits_equal(f_simd.data(), f_ref.data(), s.rows * s.cols, what + " fixed"));
          // In place (out aliases x).
          std::vector<float> in_place(buf.begin() + s.offset, buf.end());
          fake_quant_rows(in_place.data(), s.rows, s.cols, s.stride, p, in_place.data(), s.stride);
          for (int64_t r = 0; r < s.rows; ++r) {
            ASSERT_TRUE(bits_equal(in_place.data() + r * s.stride, per_row.data() + r * s.cols, s.cols,
                                   what + " in place"))
                << "row " << r;
          }
        });
      }
    }
  }
}

TEST_P(PerTarget, RangeStatistics) {
  for_each_shape([&](const Shape& s, uint32_t seed) {
    const auto buf = make_rows(s.pattern, s.rows + 1, s.cols, s.stride, seed);
    const float* x = buf.data() + s.offset;
    const std::string what = s.label();
    std::vector<float> a(s.rows), b(s.rows), a2(s.rows), b2(s.rows);
    row_absmax(x, s.rows, s.cols, s.stride, a.data());
    ref::row_absmax(x, s.rows, s.cols, s.stride, b.data());
    ASSERT_TRUE(bits_equal(a.data(), b.data(), s.rows, what + " row absmax"));
    row_minmax(x, s.rows, s.cols, s.stride, a.data(), a2.data());
    ref::row_minmax(x, s.rows, s.cols, s.stride, b.data(), b2.data());
    // Compared as values: -0.0 and 0.0 are both a valid minimum of a row of signed zeros.
    for (int64_t r = 0; r < s.rows; ++r) {
      ASSERT_EQ(a[r], b[r]) << what << " row min " << r;
      ASSERT_EQ(a2[r], b2[r]) << what << " row max " << r;
    }
    std::vector<float> ca(s.cols + 1), cb(s.cols + 1);
    col_absmax(x, s.rows, s.cols, s.stride, ca.data());
    ref::col_absmax(x, s.rows, s.cols, s.stride, cb.data());
    ASSERT_TRUE(bits_equal(ca.data(), cb.data(), s.cols, what + " col absmax"));
    const float ta = tensor_absmax(x, s.rows, s.cols, s.stride), tb = ref::tensor_absmax(x, s.rows, s.cols, s.stride);
    ASSERT_TRUE(bits_equal(&ta, &tb, 1, what + " tensor absmax"));
    ASSERT_TRUE(all_finite(x, s.cols));
  });
}

TEST_P(PerTarget, MseClipMatchesReference) {
  for (bool symmetric : {true, false}) {
    for (Pattern pattern : {Pattern::kRandom, Pattern::kOutlier, Pattern::kZeros, Pattern::kClipBoundary}) {
      const int64_t rows = 6, cols = 200;
      const auto x = make_rows(pattern, rows, cols, cols, 11);
      const RowParams p{4, symmetric, 1.0f};
      std::vector<float> s_simd(rows), s_ref(rows), c_simd(rows), c_ref(rows);
      std::vector<int32_t> z_simd(rows), z_ref(rows);
      mse_clip_rows(x.data(), rows, cols, cols, p, 100, 0.75f, s_simd.data(), z_simd.data(), c_simd.data());
      ref::mse_clip_rows(x.data(), rows, cols, cols, p, 100, 0.75f, s_ref.data(), z_ref.data(), c_ref.data());
      // Sums in a different order: on near-ties another clip may win, but its error must be as small.
      for (int64_t r = 0; r < rows; ++r) {
        if (c_simd[r] == c_ref[r]) {
          ASSERT_EQ(s_simd[r], s_ref[r]) << pattern_name(pattern) << " row " << r;
          ASSERT_EQ(z_simd[r], z_ref[r]);
          continue;
        }
        std::vector<float> fa(cols), fb(cols);
        const float* row = x.data() + r * cols;
        ref::fake_quant_fixed(row, 1, cols, cols, s_simd[r], z_simd[r], p, fa.data(), cols);
        ref::fake_quant_fixed(row, 1, cols, cols, s_ref[r], z_ref[r], p, fb.data(), cols);
        const double ea = ref::error_stats(row, fa.data(), cols).noise, eb = ref::error_stats(row, fb.data(), cols).noise;
        ASSERT_NEAR(ea, eb, 1e-5 * eb) << pattern_name(pattern) << " row " << r;
      }
    }
  }
}

TEST_P(PerTarget, ErrorStatsMatchReference) {
  for (int64_t n : test_lengths()) {
    const auto x = make_rows(Pattern::kRandom, 1, n, n, static_cast<uint32_t>(n));
    std::vector<float> y(x);
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] + 0.01f * static_cast<float>(i % 7);
    const ErrorStats a = error_stats(x.data(), y.data(), n), b = ref::error_stats(x.data(), y.data(), n);
    EXPECT_NEAR(a.signal, b.signal, 1e-12 * (1 + b.signal)) << n;
    EXPECT_NEAR(a.noise, b.noise, 1e-12 * (1 + b.noise)) << n;
    EXPECT_EQ(a.max_abs, b.max_abs) << n;
    EXPECT_EQ(a.count, n);
  }
}

TEST_P(PerTarget, NonFiniteInputIsAnErrorNamingTheRow) {
  const int64_t rows = 4, cols = 37;
  for (float bad : {NAN, INFINITY, -INFINITY}) {
    for (int64_t bad_col : {int64_t{0}, int64_t{20}, cols - 1}) {  // in a vector and in the tail
      auto x = make_rows(Pattern::kRandom, rows, cols, cols, 5);
      x[2 * cols + bad_col] = bad;
      std::vector<int8_t> codes(rows * cols);
      std::vector<uint8_t> ucodes(rows * cols);
      std::vector<float> scales(rows, 1.0f), out(rows * cols);
      std::vector<int32_t> zps(rows, 0);
      auto expect_row2 = [&](auto fn, const char* name) {
        try {
          fn();
          ADD_FAILURE() << name << " accepted " << bad;
        } catch (const InputError& e) {
          EXPECT_NE(std::string(e.what()).find("row 2"), std::string::npos) << name << ": " << e.what();
        }
      };
      const RowParams sym{8, true, 1.0f}, asym{8, false, 1.0f};
      expect_row2([&] { quantize_per_token_sym(x.data(), rows, cols, cols, sym, codes.data(), cols, scales.data()); },
                  "quantize_per_token_sym");
      expect_row2([&] { quantize_per_token_asym(x.data(), rows, cols, cols, asym, ucodes.data(), cols, scales.data(), zps.data()); },
                  "quantize_per_token_asym");
      std::fill(scales.begin(), scales.end(), 1.0f);
      expect_row2([&] { quantize_rows_sym(x.data(), rows, cols, cols, scales.data(), 8, codes.data(), cols); },
                  "quantize_rows_sym");
      expect_row2([&] { quantize_rows_asym(x.data(), rows, cols, cols, scales.data(), zps.data(), 8, ucodes.data(), cols); },
                  "quantize_rows_asym");
      expect_row2([&] { fake_quant_rows(x.data(), rows, cols, cols, sym, out.data(), cols); }, "fake_quant_rows");
      expect_row2([&] { fake_quant_fixed(x.data(), rows, cols, cols, 1.0f, 0, sym, out.data(), cols); },
                  "fake_quant_fixed");
      expect_row2([&] { mse_clip_rows(x.data(), rows, cols, cols, sym, 10, 0.8f, scales.data(), nullptr, nullptr); },
                  "mse_clip_rows");
      EXPECT_FALSE(all_finite(x.data(), rows * cols));
      std::vector<float> am(rows);
      row_absmax(x.data(), rows, cols, cols, am.data());
      EXPECT_FALSE(std::isfinite(am[2]));  // statistics report the non-finite value instead of throwing
      EXPECT_TRUE(std::isfinite(am[1]));
    }
  }
}

// The OpenMP row-block split gives the same result as one thread (a matrix large enough to be split).
TEST_P(PerTarget, ThreadsDoNotChangeResults) {
  const int64_t rows = 301, cols = 515;
  const auto x = make_rows(Pattern::kRandom, rows, cols, cols, 3);
  std::vector<int8_t> c1(rows * cols), c2(rows * cols);
  std::vector<float> s1(rows), s2(rows), col1(cols), col2(cols);
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  quantize_per_token_sym(x.data(), rows, cols, cols, RowParams{4, true, 1.0f}, c1.data(), cols, s1.data());
  col_absmax(x.data(), rows, cols, cols, col1.data());
  const float t1 = tensor_absmax(x.data(), rows, cols, cols);
  omp_set_num_threads(2);
  quantize_per_token_sym(x.data(), rows, cols, cols, RowParams{4, true, 1.0f}, c2.data(), cols, s2.data());
  col_absmax(x.data(), rows, cols, cols, col2.data());
  const float t2 = tensor_absmax(x.data(), rows, cols, cols);
  omp_set_num_threads(saved);
  EXPECT_TRUE(bits_equal(c1.data(), c2.data(), rows * cols, "codes"));
  EXPECT_TRUE(bits_equal(s1.data(), s2.data(), rows, "scales"));
  EXPECT_TRUE(bits_equal(col1.data(), col2.data(), cols, "col absmax"));
  EXPECT_EQ(t1, t2);
  std::vector<float> ref_scales(rows);
  std::vector<int8_t> ref_codes(rows * cols);
  ref::quantize_per_token_sym(x.data(), rows, cols, cols, RowParams{4, true, 1.0f}, ref_codes.data(), cols,
                              ref_scales.data());
  EXPECT_TRUE(bits_equal(c2.data(), ref_codes.data(), rows * cols, "codes vs reference"));
}

// Outputs of 8 MB and more with 64-byte aligned rows take the non-temporal store path: same results.
// Input and reference results are computed once for all targets.
struct LargeCase {
  static constexpr int64_t kRows = 2048, kCols = 4096 + 64;  // 8.5 MB of codes; not a multiple of 4 AVX-512 vectors
  std::vector<float> x = make_rows(Pattern::kRandom, kRows, kCols, kCols, 9);
  std::vector<int8_t> token_codes, group_codes;
  std::vector<uint8_t> asym_codes;
  std::vector<int32_t> asym_zero_points;
  std::vector<float> token_scales, group_scales, asym_scales, fake, fake_clipped;
  LargeCase()
      : token_codes(kRows * kCols), group_codes(kRows * kCols), asym_codes(kRows * kCols), asym_zero_points(kRows),
        token_scales(kRows), group_scales(kRows * kCols / 64), asym_scales(kRows), fake(kRows * kCols),
        fake_clipped(kRows * kCols) {
    ref::quantize_per_token_sym(x.data(), kRows, kCols, kCols, RowParams{8, true, 1.0f}, token_codes.data(), kCols,
                                token_scales.data());
    ref::quantize_per_group_sym(x.data(), kRows, kCols, kCols, 64, RowParams{4, true, 1.0f}, group_codes.data(),
                                kCols, group_scales.data());
    ref::fake_quant_rows(x.data(), kRows, kCols, kCols, RowParams{8, true, 1.0f}, fake.data(), kCols);
    ref::quantize_per_token_asym(x.data(), kRows, kCols, kCols, RowParams{8, false, 0.9f}, asym_codes.data(), kCols,
                                 asym_scales.data(), asym_zero_points.data());
    ref::fake_quant_rows(x.data(), kRows, kCols, kCols, RowParams{4, true, 0.9f}, fake_clipped.data(), kCols);
  }
  static const LargeCase& get() {
    static const LargeCase instance;
    return instance;
  }
};

TEST_P(PerTarget, LargeAlignedOutputsUseStreamingStoresWithSameResults) {
  const LargeCase& c = LargeCase::get();
  const int64_t rows = LargeCase::kRows, cols = LargeCase::kCols;
  auto codes = hwy::AllocateAligned<int8_t>(rows * cols);
  std::vector<float> scales(rows * cols / 64);
  ASSERT_EQ(reinterpret_cast<uintptr_t>(codes.get()) % 64, 0u);
  quantize_per_token_sym(c.x.data(), rows, cols, cols, RowParams{8, true, 1.0f}, codes.get(), cols, scales.data());
  ASSERT_TRUE(bits_equal(codes.get(), c.token_codes.data(), rows * cols, "per-token codes"));
  ASSERT_TRUE(bits_equal(scales.data(), c.token_scales.data(), rows, "per-token scales"));
  quantize_per_group_sym(c.x.data(), rows, cols, cols, 64, RowParams{4, true, 1.0f}, codes.get(), cols,
                         scales.data());
  ASSERT_TRUE(bits_equal(codes.get(), c.group_codes.data(), rows * cols, "group codes"));
  ASSERT_TRUE(bits_equal(scales.data(), c.group_scales.data(), rows * cols / 64, "group scales"));
  auto fq = hwy::AllocateAligned<float>(rows * cols);
  fake_quant_rows(c.x.data(), rows, cols, cols, RowParams{8, true, 1.0f}, fq.get(), cols);
  ASSERT_TRUE(bits_equal(fq.get(), c.fake.data(), rows * cols, "fake quant"));
  fake_quant_rows(c.x.data(), rows, cols, cols, RowParams{4, true, 0.9f}, fq.get(), cols);
  ASSERT_TRUE(bits_equal(fq.get(), c.fake_clipped.data(), rows * cols, "fake quant clip 0.9"));
  auto asym = hwy::AllocateAligned<uint8_t>(rows * cols);
  std::vector<int32_t> zero_points(rows);
  quantize_per_token_asym(c.x.data(), rows, cols, cols, RowParams{8, false, 0.9f}, asym.get(), cols, scales.data(),
                          zero_points.data());
  ASSERT_TRUE(bits_equal(asym.get(), c.asym_codes.data(), rows * cols, "asym codes"));
  ASSERT_TRUE(bits_equal(scales.data(), c.asym_scales.data(), rows, "asym scales"));
  ASSERT_TRUE(bits_equal(zero_points.data(), c.asym_zero_points.data(), rows, "asym zero points"));
}

QH_INSTANTIATE_PER_HWY_TARGET(PerTarget);

}  // namespace
}  // namespace qh::quant
