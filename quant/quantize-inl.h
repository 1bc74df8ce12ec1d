// Highway SIMD span kernels of the quantizer: one contiguous span of floats (a row or a group) at a time.
// Included once per target by quant/quantize.cc and quant/quantize_stats.cc (foreach_target.h), which wrap
// them into row-block entry points dispatched once per block. Scales come from the scalar formulas of
// quant/quant_math.h; values use the same f32 product t = x * (1/s) and an equivalent rounding (clamp to the
// integer bounds, then round half to even with the 1.5 * 2^23 trick, see RoundClampedToInt), and the tails
// use the scalar formulas themselves, so codes and scales are bit-identical to quant/reference.cc on every
// target (tests/quant/simd_vs_reference_test.cc checks this on each compiled target).

// Per-target include guard (the Highway pattern: toggled by foreach_target.h).
#if defined(QH_QUANT_QUANTIZE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef QH_QUANT_QUANTIZE_INL_H_
#undef QH_QUANT_QUANTIZE_INL_H_
#else
#define QH_QUANT_QUANTIZE_INL_H_
#endif

#include <cstdint>

#include "hwy/highway.h"
#include "quant/quant_math.h"

HWY_BEFORE_NAMESPACE();
namespace qh {
namespace quant {
namespace HWY_NAMESPACE {

namespace hn = hwy::HWY_NAMESPACE;
using DF = hn::ScalableTag<float>;
using DI = hn::RebindToSigned<DF>;

// Round-half-to-even of an already clamped value (|v| <= 2^22) without a round instruction: adding
// 1.5 * 2^23 leaves exactly the rounded integer in the low mantissa bits (the f32 add rounds half to even,
// and 1.5 * 2^23 is even). Clamping first is exact because the bounds are integers and rounding is
// monotone: clamp(rne(t), lo, hi) == rne(clamp(t, lo, hi)). This saves the round instruction and the
// overflow fix-ups of a float -> int conversion, which dominate the quantize pass otherwise.
HWY_INLINE hn::Vec<DI> RoundClampedToInt(hn::Vec<DF> v) {
  const DF df;
  const DI di;
  return hn::Sub(hn::BitCast(di, hn::Add(v, hn::Set(df, 12582912.0f))), hn::Set(di, 0x4B400000));
}
// The same rounding as a float; (v + M) - M is exact and gives +0 (never -0) for a zero result.
HWY_INLINE hn::Vec<DF> RoundClamped(hn::Vec<DF> v) {
  const DF df;
  const auto magic = hn::Set(df, 12582912.0f);
  return hn::Sub(hn::Add(v, magic), magic);
}

// Stores four vectors of int32 codes (already within the 8-bit range) as 4 * Lanes bytes in order. On AVX2
// and AVX-512 two pack steps and one cross-block permute serve four vectors (instead of three shuffles per
// vector for DemoteTo): shuffles, not arithmetic, bound the quantize pass there. kUnsigned: codes 0..255.
// kStream: non-temporal store (out must be aligned to 4 * Lanes bytes), for outputs far larger than the
// caches: no read-for-ownership of the destination, and the caches keep the input.
template <bool kUnsigned, bool kStream = false, typename T>
HWY_INLINE void StoreCodes4(hn::Vec<DI> v0, hn::Vec<DI> v1, hn::Vec<DI> v2, hn::Vec<DI> v3, T* HWY_RESTRICT out) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  // After the packs, 32-bit word 4k + m holds block k of vector m; the permute puts it at 4m + k.
  const __m512i p01 = _mm512_packs_epi32(v0.raw, v1.raw), p23 = _mm512_packs_epi32(v2.raw, v3.raw);
  const __m512i bytes = kUnsigned ? _mm512_packus_epi16(p01, p23) : _mm512_packs_epi16(p01, p23);
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  if (kStream) {
    _mm512_stream_si512(reinterpret_cast<__m512i*>(out), _mm512_permutexvar_epi32(order, bytes));
  } else {
    _mm512_storeu_si512(reinterpret_cast<void*>(out), _mm512_permutexvar_epi32(order, bytes));
  }
#elif HWY_TARGET == HWY_AVX2
  const __m256i p01 = _mm256_packs_epi32(v0.raw, v1.raw), p23 = _mm256_packs_epi32(v2.raw, v3.raw);
  const __m256i bytes = kUnsigned ? _mm256_packus_epi16(p01, p23) : _mm256_packs_epi16(p01, p23);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  if (kStream) {
    _mm256_stream_si256(reinterpret_cast<__m256i*>(out), _mm256_permutevar8x32_epi32(bytes, order));
  } else {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_permutevar8x32_epi32(bytes, order));
  }
#else
  const DF df;
  const hn::Rebind<T, DF> d8;
  const size_t N = hn::Lanes(df);
  hn::StoreU(hn::DemoteTo(d8, v0), d8, out);
  hn::StoreU(hn::DemoteTo(d8, v1), d8, out + N);
  hn::StoreU(hn::DemoteTo(d8, v2), d8, out + 2 * N);
  hn::StoreU(hn::DemoteTo(d8, v3), d8, out + 3 * N);
#endif
}

// Max of |x| as bit patterns (see math::abs_bits): the absmax, and >= kInfBits when the span has NaN / Inf.
HWY_INLINE uint32_t AbsBitsMax(const float* HWY_RESTRICT x, int64_t n) {
  const DF df;
  const hn::RebindToSigned<DF> di;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  const auto mask = hn::Set(di, 0x7fffffff);
  auto m0 = hn::Zero(di);
  auto m1 = hn::Zero(di);
  int64_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {  // two accumulators: loads, not the max, are the limit
    m0 = hn::Max(m0, hn::And(hn::BitCast(di, hn::LoadU(df, x + i)), mask));
    m1 = hn::Max(m1, hn::And(hn::BitCast(di, hn::LoadU(df, x + i + N)), mask));
  }
  for (; i + N <= n; i += N) m0 = hn::Max(m0, hn::And(hn::BitCast(di, hn::LoadU(df, x + i)), mask));
  // Abs bits are < 2^31, so the signed max is the unsigned max.
  uint32_t m = static_cast<uint32_t>(hn::GetLane(hn::MaxOfLanes(di, hn::Max(m0, m1))));
  for (; i < n; ++i) m = m > math::abs_bits(x[i]) ? m : math::abs_bits(x[i]);
  return m;
}

// min and max of a span (0 and 0 when empty), plus the abs-bits max for the non-finite check.
HWY_INLINE void MinMaxSpan(const float* HWY_RESTRICT x, int64_t n, float* lo, float* hi, uint32_t* abs_bits_max) {
  const DF df;
  const hn::RebindToSigned<DF> di;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  const auto mask = hn::Set(di, 0x7fffffff);
  auto vmin = hn::Set(df, HUGE_VALF);
  auto vmax = hn::Set(df, -HUGE_VALF);
  auto bits = hn::Zero(di);
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    const auto v = hn::LoadU(df, x + i);
    vmin = hn::Min(vmin, v);
    vmax = hn::Max(vmax, v);
    bits = hn::Max(bits, hn::And(hn::BitCast(di, v), mask));
  }
  float mn = hn::GetLane(hn::MinOfLanes(df, vmin));
  float mx = hn::GetLane(hn::MaxOfLanes(df, vmax));
  uint32_t b = static_cast<uint32_t>(hn::GetLane(hn::MaxOfLanes(di, bits)));
  for (; i < n; ++i) {
    mn = x[i] < mn ? x[i] : mn;
    mx = x[i] > mx ? x[i] : mx;
    b = b > math::abs_bits(x[i]) ? b : math::abs_bits(x[i]);
  }
  if (n == 0) mn = mx = 0.0f;
  *lo = mn;
  *hi = mx;
  *abs_bits_max = b;
}

// codes = clamp(rne(x * inv), -2^(b-1), 2^(b-1) - 1) as int8. kStream: codes is 64-byte aligned (see
// StoreCodes4); the caller issues hwy::FlushStream() after its block.
template <bool kStream = false>
HWY_INLINE void QuantizeSpanSym(const float* HWY_RESTRICT x, int64_t n, float inv, int bits,
                                int8_t* HWY_RESTRICT codes) {
  const DF df;
  const hn::Rebind<int8_t, DF> d8;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  const float qmin = math::qmin_sym(bits), qmax = math::qmax_sym(bits);
  const auto vinv = hn::Set(df, inv), vlo = hn::Set(df, qmin), vhi = hn::Set(df, qmax);
  auto code = [&](int64_t at) { return RoundClampedToInt(hn::Min(hn::Max(hn::Mul(hn::LoadU(df, x + at), vinv), vlo), vhi)); };
  int64_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    StoreCodes4<false, kStream>(code(i), code(i + N), code(i + 2 * N), code(i + 3 * N), codes + i);
  }
  for (; i + N <= n; i += N) hn::StoreU(hn::DemoteTo(d8, code(i)), d8, codes + i);
  for (; i < n; ++i) codes[i] = static_cast<int8_t>(math::code_sym(x[i], inv, qmin, qmax));
}

// QuantizeSpanSym of x fused with AbsBitsMax of `next` (the following row): the next row streams in from
// memory while this one is quantized from L1, so memory never idles during the quantize pass. Returns the
// abs-bits max of next[0, n). kStream as for QuantizeSpanSym.
template <bool kStream = false>
HWY_INLINE uint32_t QuantizeSpanSymNextAbsmax(const float* HWY_RESTRICT x, const float* HWY_RESTRICT next, int64_t n,
                                              float inv, int bits, int8_t* HWY_RESTRICT codes) {
  const DF df;
  const hn::RebindToSigned<DF> di;
  const hn::Rebind<int8_t, DF> d8;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  const float qmin = math::qmin_sym(bits), qmax = math::qmax_sym(bits);
  const auto vinv = hn::Set(df, inv), vlo = hn::Set(df, qmin), vhi = hn::Set(df, qmax);
  const auto mask = hn::Set(di, 0x7fffffff);
  auto m = hn::Zero(di);
  auto code = [&](int64_t at) {
    m = hn::Max(m, hn::And(hn::BitCast(di, hn::LoadU(df, next + at)), mask));
    return RoundClampedToInt(hn::Min(hn::Max(hn::Mul(hn::LoadU(df, x + at), vinv), vlo), vhi));
  };
  int64_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    const auto c0 = code(i), c1 = code(i + N), c2 = code(i + 2 * N), c3 = code(i + 3 * N);
    StoreCodes4<false, kStream>(c0, c1, c2, c3, codes + i);
  }
  for (; i + N <= n; i += N) hn::StoreU(hn::DemoteTo(d8, code(i)), d8, codes + i);
  uint32_t next_max = static_cast<uint32_t>(hn::GetLane(hn::MaxOfLanes(di, m)));
  for (; i < n; ++i) {
    codes[i] = static_cast<int8_t>(math::code_sym(x[i], inv, qmin, qmax));
    next_max = next_max > math::abs_bits(next[i]) ? next_max : math::abs_bits(next[i]);
  }
  return next_max;
}

// codes = clamp(rne(x * inv) + z, 0, 2^b - 1) as uint8.
HWY_INLINE void QuantizeSpanAsym(const float* HWY_RESTRICT x, int64_t n, float inv, int32_t zero_point, int bits,
                                 uint8_t* HWY_RESTRICT codes) {
  const DF df;
  const hn::RebindToSigned<DF> di;
  const hn::Rebind<uint8_t, DF> d8;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  const float z = static_cast<float>(zero_point), levels = math::levels_asym(bits);
  // clamp(rne(t) + z, 0, L) == rne(clamp(t, -z, L - z)) + z (integer bounds).
  const auto vinv = hn::Set(df, inv), vlo = hn::Set(df, -z), vhi = hn::Set(df, levels - z);
  const auto vz = hn::Set(di, zero_point);
  auto code = [&](int64_t at) {
    return hn::Add(RoundClampedToInt(hn::Min(hn::Max(hn::Mul(hn::LoadU(df, x + at), vinv), vlo), vhi)), vz);
  };
  int64_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) StoreCodes4<true>(code(i), code(i + N), code(i + 2 * N), code(i + 3 * N), codes + i);
  for (; i + N <= n; i += N) hn::StoreU(hn::DemoteTo(d8, code(i)), d8, codes + i);
  for (; i < n; ++i) codes[i] = static_cast<uint8_t>(math::code_asym(x[i], inv, z, levels));
}

// The dequantized value of every x: scale * code (symmetric) or scale * (code - z) (asymmetric).
// vlo / vhi are the clamp bounds of t = x * inv: [qmin, qmax] (symmetric) or [-z, L - z] (asymmetric), so
// that scale * rne(clamp(t)) == scale * (code - z) exactly.
HWY_INLINE hn::Vec<DF> FakeQuantVec(hn::Vec<DF> v, hn::Vec<DF> vinv, hn::Vec<DF> vscale, hn::Vec<DF> vlo,
                                    hn::Vec<DF> vhi) {
  return hn::Mul(vscale, RoundClamped(hn::Min(hn::Max(hn::Mul(v, vinv), vlo), vhi)));
}

HWY_INLINE float FakeQuantScalar(float x, float inv, float scale, float z, int bits, bool symmetric) {
  if (symmetric) return scale * math::code_sym(x, inv, math::qmin_sym(bits), math::qmax_sym(bits));
  return scale * (math::code_asym(x, inv, z, math::levels_asym(bits)) - z);
}

// out = dequant(quant(x)) with one scale / zero point; out may alias x (same index read before written).
template <bool kSymmetric>
HWY_INLINE void FakeQuantSpanT(const float* x, int64_t n, float scale, int32_t zero_point, int bits, float* out) {
  const DF df;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  const float inv = 1.0f / scale, z = static_cast<float>(zero_point);
  const float lo = kSymmetric ? math::qmin_sym(bits) : -z;
  const float hi = kSymmetric ? math::qmax_sym(bits) : math::levels_asym(bits) - z;
  const auto vinv = hn::Set(df, inv), vscale = hn::Set(df, scale);
  const auto vlo = hn::Set(df, lo), vhi = hn::Set(df, hi);
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    hn::StoreU(FakeQuantVec(hn::LoadU(df, x + i), vinv, vscale, vlo, vhi), df, out + i);
  }
  for (; i < n; ++i) out[i] = FakeQuantScalar(x[i], inv, scale, z, bits, kSymmetric);
}

// Symmetric fake-quant of x fused with the abs-bits max of `next` (the following row), as
// QuantizeSpanSymNextAbsmax; next may be null (last row). out may alias x. kStream: out is aligned to the
// vector size and the f32 results are stored non-temporally (the caller flushes).
template <bool kStream>
HWY_INLINE uint32_t FakeQuantSpanSymNextAbsmax(const float* x, const float* next, int64_t n, float scale, int bits,
                                               float* out) {
  const DF df;
  const DI di;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  const float inv = 1.0f / scale;
  const auto vinv = hn::Set(df, inv), vscale = hn::Set(df, scale);
  const auto vlo = hn::Set(df, math::qmin_sym(bits)), vhi = hn::Set(df, math::qmax_sym(bits));
  const auto mask = hn::Set(di, 0x7fffffff);
  auto m = hn::Zero(di);
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    if (next) m = hn::Max(m, hn::And(hn::BitCast(di, hn::LoadU(df, next + i)), mask));
    const auto v = FakeQuantVec(hn::LoadU(df, x + i), vinv, vscale, vlo, vhi);
    if (kStream) {
      hn::Stream(v, df, out + i);
    } else {
      hn::StoreU(v, df, out + i);
    }
  }
  uint32_t next_max = static_cast<uint32_t>(hn::GetLane(hn::MaxOfLanes(di, m)));
  for (; i < n; ++i) {
    if (next) next_max = next_max > math::abs_bits(next[i]) ? next_max : math::abs_bits(next[i]);
    out[i] = FakeQuantScalar(x[i], inv, scale, 0.0f, bits, true);
  }
  return next_max;
}

HWY_INLINE void FakeQuantSpan(const float* x, int64_t n, float scale, int32_t zero_point, int bits, bool symmetric,
                              float* out) {
  if (symmetric) {
    FakeQuantSpanT<true>(x, n, scale, 0, bits, out);
  } else {
    FakeQuantSpanT<false>(x, n, scale, zero_point, bits, out);
  }
}

// Sum of (x - dequant(quant(x)))^2 for the MSE clip search: f32 lanes, flushed to double every 64 vectors.
template <bool kSymmetric>
HWY_INLINE double SquaredErrorSpanT(const float* HWY_RESTRICT x, int64_t n, float scale, int32_t zero_point,
                                    int bits) {
  const DF df;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  const float inv = 1.0f / scale, z = static_cast<float>(zero_point);
  const float lo = kSymmetric ? math::qmin_sym(bits) : -z;
  const float hi = kSymmetric ? math::qmax_sym(bits) : math::levels_asym(bits) - z;
  const auto vinv = hn::Set(df, inv), vscale = hn::Set(df, scale);
  const auto vlo = hn::Set(df, lo), vhi = hn::Set(df, hi);
  double total = 0;
  int64_t i = 0;
  while (i + N <= n) {
    auto acc = hn::Zero(df);
    for (int k = 0; k < 64 && i + N <= n; ++k, i += N) {
      const auto v = hn::LoadU(df, x + i);
      const auto e = hn::Sub(v, FakeQuantVec(v, vinv, vscale, vlo, vhi));
      acc = hn::MulAdd(e, e, acc);
    }
    total += static_cast<double>(hn::GetLane(hn::SumOfLanes(df, acc)));
  }
  for (; i < n; ++i) {
    const double e = static_cast<double>(x[i]) - FakeQuantScalar(x[i], inv, scale, z, bits, kSymmetric);
    total += e * e;
  }
  return total;
}

HWY_INLINE void DequantSpanSym(const int8_t* HWY_RESTRICT codes, int64_t n, float scale, float* HWY_RESTRICT out) {
  const DF df;
  const hn::RebindToSigned<DF> di;
  const hn::Rebind<int8_t, DF> d8;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  const auto vscale = hn::Set(df, scale);
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    hn::StoreU(hn::Mul(vscale, hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(d8, codes + i)))), df, out + i);
  }
  for (; i < n; ++i) out[i] = scale * static_cast<float>(codes[i]);
}

HWY_INLINE void DequantSpanAsym(const uint8_t* HWY_RESTRICT codes, int64_t n, float scale, int32_t zero_point,
                                float* HWY_RESTRICT out) {
  const DF df;
  const hn::RebindToSigned<DF> di;
  const hn::Rebind<uint8_t, DF> d8;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  const float z = static_cast<float>(zero_point);
  const auto vscale = hn::Set(df, scale), vz = hn::Set(df, z);
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    const auto q = hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(d8, codes + i)));
    hn::StoreU(hn::Mul(vscale, hn::Sub(q, vz)), df, out + i);
  }
  for (; i < n; ++i) out[i] = scale * (static_cast<float>(codes[i]) - z);
}

}  // namespace HWY_NAMESPACE
}  // namespace quant
}  // namespace qh
HWY_AFTER_NAMESPACE();

#endif  // include guard
