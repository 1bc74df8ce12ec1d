// Test data for the quantizer kernels: random rows and the adversarial cases of ARCHITECTURE.md 3 (all-zero rows,
// one huge outlier, exact .5 ties, denormals, values at the clip boundary), plus bit-exact comparison.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace qh::quant::testing {

// Row lengths covering 0..3 vectors of the widest target (16 f32 lanes) plus odd tails, and longer rows.
inline const std::vector<int64_t>& test_lengths() {
  static const std::vector<int64_t> kLengths = {0,  1,  2,  3,  4,  5,  7,  8,  9,  15, 16,  17,  31,
                                                32, 33, 47, 48, 49, 63, 64, 65, 100, 127, 128, 129, 1000};
  return kLengths;
}

enum class Pattern { kRandom, kZeros, kOutlier, kTies, kDenormal, kMixedScale, kClipBoundary };
inline const char* pattern_name(Pattern p) {
  switch (p) {
    case Pattern::kRandom: return "random";
    case Pattern::kZeros: return "zeros";
    case Pattern::kOutlier: return "outlier";
    case Pattern::kTies: return "ties";
    case Pattern::kDenormal: return "denormal";
    case Pattern::kMixedScale: return "mixed_scale";
    case Pattern::kClipBoundary: return "clip_boundary";
  }
  return "?";
}
inline const std::vector<Pattern>& all_patterns() {
  static const std::vector<Pattern> kAll = {Pattern::kRandom,   Pattern::kZeros,      Pattern::kOutlier,
                                            Pattern::kTies,     Pattern::kDenormal,   Pattern::kMixedScale,
                                            Pattern::kClipBoundary};
  return kAll;
}

// rows x stride floats (stride >= cols) filled following the pattern; padding holds a poison value that no
// kernel may read (a huge number that would change every scale).
inline std::vector<float> make_rows(Pattern pattern, int64_t rows, int64_t cols, int64_t stride, uint32_t seed) {
  std::vector<float> x(static_cast<size_t>(rows * stride + 8), 3.0e38f);  // + slack for misaligned views
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> small(-20, 20);
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x.data() + r * stride;
    for (int64_t c = 0; c < cols; ++c) {
      switch (pattern) {
        case Pattern::kRandom: row[c] = normal(rng) * (1.0f + static_cast<float>(r % 5)); break;
        case Pattern::kZeros: row[c] = (c % 3 == 0) ? -0.0f : 0.0f; break;
        case Pattern::kOutlier: row[c] = normal(rng); break;
        // Multiples of 0.5 in [-127, 127] with the row absmax 127: per-token int8 scale is exactly 1, so
        // every odd multiple of 0.5 is a tie (half to even).
        case Pattern::kTies: row[c] = 0.5f * static_cast<float>(small(rng)) * (c % 7 == 0 ? 6.0f : 1.0f); break;
        case Pattern::kDenormal: row[c] = 1.0e-40f * static_cast<float>(small(rng)); break;
        case Pattern::kMixedScale: row[c] = normal(rng) * (c % 4 == 0 ? 1.0e-39f : 1.0e3f); break;
        case Pattern::kClipBoundary: row[c] = static_cast<float>(small(rng)) / 20.0f; break;
      }
    }
    if (cols > 0 && pattern == Pattern::kOutlier) row[(r * 7) % cols] = (r % 2 ? -1.0e30f : 3.0e4f);
    if (cols > 0 && pattern == Pattern::kTies) row[(r * 5) % cols] = (r % 2 ? 127.0f : -127.0f);
    if (cols > 1 && pattern == Pattern::kClipBoundary) {
      row[0] = 1.0f;  // absmax 1: with clip 0.9, values at +-0.9 land exactly on the boundary
      row[cols - 1] = r % 2 ? -0.9f : 0.9f;
    }
  }
  return x;
}

template <typename T>
::testing::AssertionResult bits_equal(const T* a, const T* b, int64_t n, const std::string& what) {
  for (int64_t i = 0; i < n; ++i) {
    if (std::memcmp(&a[i], &b[i], sizeof(T)) != 0) {
      return ::testing::AssertionFailure() << what << ": first difference at " << i << ": " << +a[i] << " vs "
                                           << +b[i];
    }
  }
  return ::testing::AssertionSuccess();
}

// Compares rows x cols elements of two strided arrays bit for bit.
template <typename T>
::testing::AssertionResult rows_equal(const T* a, const T* b, int64_t rows, int64_t cols, int64_t stride,
                                      const std::string& what) {
  for (int64_t r = 0; r < rows; ++r) {
    auto res = bits_equal(a + r * stride, b + r * stride, cols, what + " row " + std::to_string(r));
    if (!res) return res;
  }
  return ::testing::AssertionSuccess();
}

}  // namespace qh::quant::testing
