// The scalar formulas of the quantizer, shared by the reference (quant/reference.cc) and the SIMD kernels'
// per-row scale computation and tails (quant/quantize-inl.h), so that both are bit-identical by construction
// where they are scalar, and by IEEE semantics where the SIMD code evaluates the same expression.
//
// The one rounding formula (ARCHITECTURE.md 1.5): inv = 1.0f / s is computed once per row (or group) in f32, and every
// value is quantized as q = clamp(rne(x * inv), qmin, qmax) with one f32 multiply and round-half-to-even. The
// multiply by the reciprocal instead of a division keeps the hot loop at memory speed; the reference does
// exactly the same f32 operations, so codes agree bit for bit. qh_quant is compiled with -ffp-contract=off:
// GCC would otherwise fuse (hi * clip) - (lo * clip) into an FMA in the AVX2 / AVX-512 copies only.
//
// Scale rules: a range of zero (an all-zero row) gives s = 1.0f and z = 0; a non-zero range so tiny that s
// would be subnormal gives s = FLT_MIN (the smallest normal float), so 1 / s stays finite and x * inv never
// produces 0 * inf = NaN.
#pragma once

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace qh::quant::math {

inline float qmax_sym(int bits) { return static_cast<float>((1 << (bits - 1)) - 1); }
inline float qmin_sym(int bits) { return -static_cast<float>(1 << (bits - 1)); }
inline float levels_asym(int bits) { return static_cast<float>((1 << bits) - 1); }

inline float guard_scale(float s) { return s < FLT_MIN ? FLT_MIN : s; }

// s = clip * absmax / qmax (absmax 0 -> 1.0f).
inline float scale_sym(float absmax, int bits, float clip) {
  if (absmax == 0.0f) return 1.0f;
  return guard_scale((clip * absmax) / qmax_sym(bits));
}

// [lo, hi] = [min(lo, 0), max(hi, 0)] * clip; s = (hi - lo) / (2^b - 1); z = clamp(rne(-lo * (1 / s)), 0, 2^b - 1).
inline void scale_asym(float lo_in, float hi_in, int bits, float clip, float* scale, int32_t* zero_point) {
  const float lo = (lo_in < 0.0f ? lo_in : 0.0f) * clip;
  const float hi = (hi_in > 0.0f ? hi_in : 0.0f) * clip;
  if (hi - lo == 0.0f) {
    *scale = 1.0f;
    *zero_point = 0;
    return;
  }
  const float s = guard_scale((hi - lo) / levels_asym(bits));
  const float inv = 1.0f / s;
  float z = std::nearbyint(-lo * inv);
  z = z < 0.0f ? 0.0f : (z > levels_asym(bits) ? levels_asym(bits) : z);
  *scale = s;
  *zero_point = static_cast<int32_t>(z);
}

inline float clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

// The code of one value, as an integer-valued float (inv = 1.0f / scale). "+ 0.0f" turns the -0 that
// rne(-0.3) gives into +0, so fake-quant outputs never depend on how a target's Round treats the sign of 0.
inline float code_sym(float x, float inv, float qmin, float qmax) {
  return clampf(std::nearbyint(x * inv) + 0.0f, qmin, qmax);
}
inline float code_asym(float x, float inv, float z, float levels) {
  return clampf(std::nearbyint(x * inv) + z, 0.0f, levels);
}

// |x| as its bit pattern: for non-negative floats the integer order is the float order, and every NaN
// compares above +inf, so one integer max gives both the absmax and a non-finite flag.
inline uint32_t abs_bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u & 0x7fffffffu;
}
inline float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
inline constexpr uint32_t kInfBits = 0x7f800000u;  // abs_bits(x) >= kInfBits <=> x is Inf or NaN

}  // namespace qh::quant::math
