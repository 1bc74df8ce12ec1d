// Hand-computed values: scale rules, round-half-to-even, every 4-bit and 8-bit code, the clip boundary, int4
// packing, the MSE clip search on a case with a known optimum, and error statistics / SQNR.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "src/core/error.h"
#include "quant/quantize.h"
#include "quant/reference.h"

namespace qh::quant {
namespace {

TEST(ExactValues, ScaleRules) {
  float s = 0;
  int32_t z = -1;
  scale_from_absmax(127.0f, RowParams{8, true, 1.0f}, &s);
  EXPECT_EQ(s, 1.0f);
  scale_from_absmax(14.0f, RowParams{4, true, 0.5f}, &s);  // 0.5 * 14 / 7
  EXPECT_EQ(s, 1.0f);
  scale_from_absmax(0.0f, RowParams{8, true, 1.0f}, &s);  // all-zero row: defined scale 1
  EXPECT_EQ(s, 1.0f);
  scale_from_absmax(1.0e-40f, RowParams{8, true, 1.0f}, &s);  // would be subnormal
  EXPECT_EQ(s, FLT_MIN);
  scale_from_minmax(-1.0f, 3.0f, RowParams{8, false, 1.0f}, &s, &z);
  EXPECT_EQ(s, 4.0f / 255.0f);
  EXPECT_EQ(z, 64);  // rne(1 / (4/255)) = rne(63.75)
  scale_from_minmax(2.0f, 4.0f, RowParams{8, false, 1.0f}, &s, &z);  // the range always contains 0
  EXPECT_EQ(s, 4.0f / 255.0f);
  EXPECT_EQ(z, 0);
  scale_from_minmax(0.0f, 0.0f, RowParams{4, false, 1.0f}, &s, &z);
  EXPECT_EQ(s, 1.0f);
  EXPECT_EQ(z, 0);
  scale_from_minmax(-15.0f, 0.0f, RowParams{4, false, 1.0f}, &s, &z);
  EXPECT_EQ(s, 1.0f);
  EXPECT_EQ(z, 15);
}

TEST(ExactValues, TiesRoundHalfToEven) {
  const std::vector<float> row = {127.0f, 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 126.5f, 3.5f, -125.5f};
  const std::vector<int8_t> expected = {127, 0, 2, 2, 0, -2, -2, 126, 4, -126};
  const int64_t n = static_cast<int64_t>(row.size());
  std::vector<int8_t> codes(n), ref_codes(n);
  float scale = 0, ref_scale = 0;
  quantize_per_token_sym(row.data(), 1, n, n, RowParams{8, true, 1.0f}, codes.data(), n, &scale);
  ref::quantize_per_token_sym(row.data(), 1, n, n, RowParams{8, true, 1.0f}, ref_codes.data(), n, &ref_scale);
  EXPECT_EQ(scale, 1.0f);
  EXPECT_EQ(codes, expected);
  EXPECT_EQ(ref_codes, expected);
  // The same ties 16 times over, so the vector body (not only the tail) sees them.
  std::vector<float> big;
  std::vector<int8_t> big_expected;
  for (int k = 0; k < 16; ++k) {
    big.insert(big.end(), row.begin(), row.end());
    big_expected.insert(big_expected.end(), expected.begin(), expected.end());
  }
  std::vector<int8_t> big_codes(big.size());
  quantize_per_token_sym(big.data(), 1, big.size(), big.size(), RowParams{8, true, 1.0f}, big_codes.data(),
                         big.size(), &scale);
  EXPECT_EQ(big_codes, big_expected);
}

TEST(ExactValues, All256Int8CodesRoundTrip) {
  std::vector<float> x(256);
  for (int k = -128; k < 128; ++k) x[k + 128] = static_cast<float>(k);
  const float scale = 1.0f;
  std::vector<int8_t> codes(256);
  quantize_rows_sym(x.data(), 1, 256, 256, &scale, 8, codes.data(), 256);
  std::vector<float> back(256);
  dequantize_rows_sym(codes.data(), 1, 256, 256, &scale, back.data(), 256);
  for (int k = -128; k < 128; ++k) {
    EXPECT_EQ(codes[k + 128], k);
    EXPECT_EQ(back[k + 128], static_cast<float>(k));
  }
  // Unsigned: all 256 asymmetric codes.
  std::vector<float> u(256);
  for (int k = 0; k < 256; ++k) u[k] = static_cast<float>(k) - 100.0f;
  const int32_t z = 100;
  std::vector<uint8_t> ucodes(256);
  quantize_rows_asym(u.data(), 1, 256, 256, &scale, &z, 8, ucodes.data(), 256);
  dequantize_rows_asym(ucodes.data(), 1, 256, 256, &scale, &z, back.data(), 256);
  for (int k = 0; k < 256; ++k) {
    EXPECT_EQ(ucodes[k], k);
    EXPECT_EQ(back[k], u[k]);
  }
  // Dynamic per-token: a row spanning -127..127 times a scale recovers every symmetric code.
  std::vector<float> y(255);
  for (int k = -127; k <= 127; ++k) y[k + 127] = 0.37f * static_cast<float>(k);
  std::vector<int8_t> yc(255);
  float ys = 0;
  quantize_per_token_sym(y.data(), 1, 255, 255, RowParams{8, true, 1.0f}, yc.data(), 255, &ys);
  for (int k = -127; k <= 127; ++k) EXPECT_EQ(yc[k + 127], k);
}

TEST(ExactValues, All16Int4CodesAndPacking) {
  std::vector<float> x(16);
  for (int k = -8; k < 8; ++k) x[k + 8] = 0.25f * static_cast<float>(k);
  const float scale = 0.25f;
  std::vector<int8_t> codes(16);
  quantize_rows_sym(x.data(), 1, 16, 16, &scale, 4, codes.data(), 16);
  for (int k = -8; k < 8; ++k) EXPECT_EQ(codes[k + 8], k);
  // Values beyond the 4-bit range clamp to -8 / 7.
  const float out_of_range[2] = {100.0f, -100.0f};
  int8_t clamped[2];
  quantize_rows_sym(out_of_range, 1, 2, 2, &scale, 4, clamped, 2);
  EXPECT_EQ(clamped[0], 7);
  EXPECT_EQ(clamped[1], -8);
  // Every pair of nibbles packs into one byte, low nibble first, and unpacks with sign extension.
  for (int a = -8; a < 8; ++a) {
    for (int b = -8; b < 8; ++b) {
      const int8_t pair[2] = {static_cast<int8_t>(a), static_cast<int8_t>(b)};
      uint8_t packed = 0, ref_packed = 0;
      pack_int4(pair, 2, &packed);
      ref::pack_int4(pair, 2, &ref_packed);
      EXPECT_EQ(packed, ((b & 15) << 4) | (a & 15));
      EXPECT_EQ(packed, ref_packed);
      int8_t back[2];
      unpack_int4(&packed, 2, back);
      EXPECT_EQ(back[0], a);
      EXPECT_EQ(back[1], b);
    }
  }
  const int8_t odd[3] = {1, -1, -8};
  uint8_t packed[2] = {0xAA, 0xAA};
  pack_int4(odd, 3, packed);
  EXPECT_EQ(packed[0], 0xF1);
  EXPECT_EQ(packed[1], 0x08);  // last high nibble 0
  int8_t back[3];
  unpack_int4(packed, 3, back);
  EXPECT_EQ(back[0], 1);
  EXPECT_EQ(back[1], -1);
  EXPECT_EQ(back[2], -8);
}

TEST(ExactValues, ZeroRowsQuantizeToZeroWithScaleOne) {
  std::vector<float> x(2 * 40, 0.0f);
  x[40 + 3] = -0.0f;
  std::vector<int8_t> codes(80, 5);
  std::vector<float> scales(2, -1.0f), back(80, 9.0f);
  quantize_per_token_sym(x.data(), 2, 40, 40, RowParams{4, true, 1.0f}, codes.data(), 40, scales.data());
  EXPECT_EQ(scales[0], 1.0f);
  EXPECT_EQ(scales[1], 1.0f);
  for (int8_t c : codes) EXPECT_EQ(c, 0);
  dequantize_rows_sym(codes.data(), 2, 40, 40, scales.data(), back.data(), 40);
  for (float v : back) EXPECT_EQ(v, 0.0f);
  std::vector<uint8_t> ucodes(80, 5);
  std::vector<int32_t> zps(2, 7);
  quantize_per_token_asym(x.data(), 2, 40, 40, RowParams{8, false, 1.0f}, ucodes.data(), 40, scales.data(),
                          zps.data());
  EXPECT_EQ(scales[0], 1.0f);
  EXPECT_EQ(zps[0], 0);
  for (uint8_t c : ucodes) EXPECT_EQ(c, 0);
}

TEST(ExactValues, ClipBoundary) {
  // absmax 14, clip 0.5: s = 0.5 * 14 / 7 = 1 -> values at +-7 (the clip boundary) map to +-7; beyond, clamps.
  const std::vector<float> row = {14.0f, 7.0f, -7.0f, -14.0f, 2.5f, 8.4f};
  std::vector<int8_t> codes(row.size());
  float scale = 0;
  quantize_per_token_sym(row.data(), 1, row.size(), row.size(), RowParams{4, true, 0.5f}, codes.data(), row.size(),
                         &scale);
  EXPECT_EQ(scale, 1.0f);
  EXPECT_EQ(codes, (std::vector<int8_t>{7, 7, -7, -8, 2, 7}));  // 2.5 -> 2 (half to even)
}

// Values on a grid of step 0.9 plus one outlier at 7: with 4-bit symmetric weights (scale = clip), clip 0.9
// quantizes the grid exactly and costs only the outlier's clipping error; every other clip in the search
// costs more. The search must find exactly the candidate 1 - 10/100.
TEST(ExactValues, MseClipFindsKnownOptimum) {
  const int64_t cols = 1001;
  std::vector<float> row(cols);
  row[0] = 7.0f;
  for (int64_t i = 1; i < cols; ++i) row[i] = 0.9f * static_cast<float>(static_cast<int>(i % 15) - 7);
  const float expected_clip = 1.0f - 10.0f / 100.0f;
  for (bool simd : {true, false}) {
    float scale = 0, clip = 0;
    int32_t zp = -1;
    const RowParams p{4, true, 1.0f};
    if (simd) {
      mse_clip_rows(row.data(), 1, cols, cols, p, 100, 0.75f, &scale, &zp, &clip);
    } else {
      ref::mse_clip_rows(row.data(), 1, cols, cols, p, 100, 0.75f, &scale, &zp, &clip);
    }
    EXPECT_EQ(clip, expected_clip) << (simd ? "simd" : "reference");
    float expected_scale = 0;
    scale_from_absmax(7.0f, RowParams{4, true, expected_clip}, &expected_scale);
    EXPECT_EQ(scale, expected_scale);
    EXPECT_EQ(zp, 0);
  }
  // A row without outliers keeps clip 1 (ties keep the larger clip): the codes -7..7 times 1.
  std::vector<float> grid_row(15);
  for (int k = 0; k < 15; ++k) grid_row[k] = static_cast<float>(k - 7);
  float scale = 0, clip = 0;
  mse_clip_rows(grid_row.data(), 1, 15, 15, RowParams{4, true, 1.0f}, 100, 0.8f, &scale, nullptr, &clip);
  EXPECT_EQ(clip, 1.0f);
  EXPECT_EQ(scale, 1.0f);
}

TEST(ExactValues, ErrorStatsAndSqnr) {
  const float x[4] = {1.0f, 2.0f, 3.0f, 4.0f};
  const float y[4] = {1.0f, 2.0f, 3.0f, 3.0f};
  for (const ErrorStats& s : {error_stats(x, y, 4), ref::error_stats(x, y, 4)}) {
    EXPECT_DOUBLE_EQ(s.signal, 30.0);
    EXPECT_DOUBLE_EQ(s.noise, 1.0);
    EXPECT_DOUBLE_EQ(s.mse, 0.25);
    EXPECT_DOUBLE_EQ(s.max_abs, 1.0);
    EXPECT_EQ(s.count, 4);
    EXPECT_NEAR(s.sqnr_db(), 14.771212547196624, 1e-12);  // 10 log10(30)
  }
  EXPECT_TRUE(std::isinf(error_stats(x, x, 4).sqnr_db()));
  ErrorStats a = error_stats(x, y, 2), b = error_stats(x + 2, y + 2, 2);
  a.merge(b);
  EXPECT_DOUBLE_EQ(a.signal, 30.0);
  EXPECT_DOUBLE_EQ(a.mse, 0.25);
  EXPECT_EQ(a.count, 4);
  const ErrorStats empty = error_stats(x, y, 0);
  EXPECT_EQ(empty.mse, 0.0);
}

TEST(ExactValues, SqnrOfInt8QuantizationIsAboutTheory) {
  // Uniform data in [-1, 1], per-token int8: noise ~ s^2 / 12 with s = 1/127, signal ~ 1/3 per value,
  // so SQNR ~ 10 log10(4 * 127^2) = 48.1 dB.
  const int64_t n = 1 << 16;
  std::vector<float> x(n), y(n);
  uint32_t state = 12345;
  for (int64_t i = 0; i < n; ++i) {
    state = state * 1664525u + 1013904223u;
    x[i] = static_cast<float>(state >> 8) / static_cast<float>(1 << 23) - 1.0f;
  }
  x[0] = 1.0f;
  fake_quant_rows(x.data(), 1, n, n, RowParams{8, true, 1.0f}, y.data(), n);
  EXPECT_NEAR(error_stats(x.data(), y.data(), n).sqnr_db(), 48.1, 0.3);
}

TEST(ExactValues, CheckFiniteNamesTheValue) {
  const float ok[3] = {1.0f, -2.0f, 0.0f};
  EXPECT_NO_THROW(check_finite(ok, 3, "x"));
  const float bad[3] = {1.0f, -INFINITY, NAN};
  try {
    check_finite(bad, 3, "layer 2 q input");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "layer 2 q input: value at index 1 is -inf");
  }
}

TEST(ExactValues, GroupSizeMustDivideTheRow) {
  std::vector<float> x(30, 1.0f), scales(3);
  std::vector<int8_t> codes(30);
  try {
    quantize_per_group_sym(x.data(), 1, 30, 30, 16, RowParams{4, true, 1.0f}, codes.data(), 30, scales.data());
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("group size 16 does not divide the row length 30"), std::string::npos);
  }
}

}  // namespace
}  // namespace qh::quant
