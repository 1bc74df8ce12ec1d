// F16 / BF16 conversions against independent references: exhaustive over all 65536 codes for widening and
// round trips; narrowing against a double-precision nearest-even search and, where the compiler has it,
// the hardware _Float16 conversion.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "models/half.h"

namespace qh {
namespace {

// Reference widening from the definition: (-1)^s * 2^(e-15) * (1 + m/1024), subnormal 2^-14 * m/1024.
double f16_reference(uint16_t h) {
  const int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  double v = e == 0 ? std::ldexp(m / 1024.0, -14) : std::ldexp(1.0 + m / 1024.0, e - 15);
  if (e == 31) v = m ? NAN : INFINITY;
  return s ? -v : v;
}

TEST(Half, F16WideningMatchesDefinitionForEveryCode) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const double want = f16_reference(static_cast<uint16_t>(h));
    const float got = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(got)) << h;
    } else {
      ASSERT_EQ(static_cast<double>(got), want) << h;
      ASSERT_EQ(std::signbit(got), (h >> 15) != 0) << h;
    }
  }
}

TEST(Half, F16AndBF16RoundTripEveryCode) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const uint16_t c = static_cast<uint16_t>(h);
    const bool f16_nan = ((c >> 10) & 31) == 31 && (c & 1023);
    const bool bf16_nan = ((c >> 7) & 255) == 255 && (c & 127);
    if (f16_nan) {
      ASSERT_TRUE(std::isnan(f16_to_f32(f32_to_f16(f16_to_f32(c)))));
    } else {
      ASSERT_EQ(f32_to_f16(f16_to_f32(c)), c) << h;
    }
    if (bf16_nan) {
      ASSERT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(bf16_to_f32(c)))));
    } else {
      ASSERT_EQ(f32_to_bf16(bf16_to_f32(c)), c) << h;
    }
  }
}

// Nearest-even over all codes of one sign, by exhaustive distance in double (the slow, obvious way).
template <typename Widen>
uint16_t nearest_even(float x, Widen widen, uint16_t max_finite, uint16_t inf) {
  const uint16_t sign = std::signbit(x) ? 0x8000 : 0;
  const double ax = std::fabs(static_cast<double>(x));
  // Values beyond max + half an ulp round to infinity; a tie with the boundary also goes to inf (even).
  const double max = widen(max_finite), next = 2 * max - widen(max_finite - 1);
  if (ax >= (max + next) / 2) return sign | inf;
  uint16_t lo = 0, hi = max_finite;  // binary search the last code <= ax
  while (lo < hi) {
    const uint16_t mid = static_cast<uint16_t>((lo + hi + 1) / 2);
    if (widen(mid) <= ax) lo = mid; else hi = mid - 1;
  }
  if (lo == max_finite) return sign | lo;
  const double dl = ax - widen(lo), dh = widen(lo + 1) - ax;
  const uint16_t pick = dl < dh ? lo : dh < dl ? lo + 1 : (lo % 2 == 0 ? lo : lo + 1);
  return sign | pick;
}

TEST(Half, NarrowingIsNearestEven) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<uint32_t> bits;
  auto f16w = [](uint32_t c) { return static_cast<double>(f16_to_f32(static_cast<uint16_t>(c))); };
  auto bf16w = [](uint32_t c) { return static_cast<double>(bf16_to_f32(static_cast<uint16_t>(c))); };
  std::vector<float> xs = {0.0f, -0.0f, 65504.0f, 65519.99f, 65520.0f, 1e-8f, 2.98023224e-8f, 5.96e-8f,
                           6.1035156e-05f, 1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048, 3.3895314e38f};
  for (int i = 0; i < 20000; ++i) {
    const float x = bits_f32(bits(rng));
    if (std::isfinite(x)) xs.push_back(x);
    // Values near F16's range and exact ties of both formats.
    xs.push_back(std::ldexp(static_cast<float>(bits(rng) % 4096) + 0.5f, static_cast<int>(bits(rng) % 40) - 36));
  }
  for (float x : xs) {
    ASSERT_EQ(f32_to_f16(x), nearest_even(x, f16w, 0x7BFF, 0x7C00)) << x;
    ASSERT_EQ(f32_to_bf16(x), nearest_even(x, bf16w, 0x7F7F, 0x7F80)) << x;
#ifdef __FLT16_MAX__
    const _Float16 hw = static_cast<_Float16>(x);
    uint16_t hw_bits;
    std::memcpy(&hw_bits, &hw, 2);
    ASSERT_EQ(f32_to_f16(x), hw_bits) << x;
#endif
  }
  EXPECT_EQ(f32_to_f16(INFINITY), 0x7C00);
  EXPECT_EQ(f32_to_bf16(-INFINITY), 0xFF80);
  EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(NAN))));
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
}

}  // namespace
}  // namespace qh
