// Highway SIMD span kernels of the quantizer: one contiguous span of floats (a row or a group) at a time.
// Included once per target by quant/quantize.cc and quant/quantize_stats.cc (foreach_target.h), which wrap
// them into row-block entry points dispatched once per block. Scales come from the scalar formulas of
// quant/quant_math.h; values use the same f32 product t = x * (1/s) and an equivalent rounding and clamp
// (round half to even, then clamp to the code range: see StoreCodes4 and RoundClampedToInt), and the tails
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

#include "hwy/cache_control.h"
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
// overflow fix-ups of a portable float -> int conversion. Used where a f32 clamp is needed anyway (fake quant,
// and codes on targets other than AVX2 / AVX-512, whose StoreCodes4 converts directly).
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

// Codes clamp(rne(t) + z, lo, hi) of products t = x * inv, as int8 (symmetric: z = 0, [lo, hi] = [qmin, qmax])
// or uint8 (asymmetric: [lo, hi] = [0, 2^b - 1]); see math::code_sym / math::code_asym.
struct CodeRange {
  int32_t z, lo, hi;
};
HWY_INLINE CodeRange SymRange(int bits) { return {0, -(1 << (bits - 1)), (1 << (bits - 1)) - 1}; }
HWY_INLINE CodeRange AsymRange(int bits, int32_t zero_point) { return {zero_point, 0, (1 << bits) - 1}; }

// |t| below this bound makes the f32 -> int32 conversion of StoreCodes4 exact (and rne(t) + z cannot overflow).
inline constexpr float kMaxUnclampedProduct = 1073741824.0f;  // 2^30

// True when every product t = x * (1 / s) of a span is known to be small enough for StoreCodes4 without a
// clamp, because s came from the span's own range with this clip: |t| <= levels / clip * (1 + 2^-21) (three
// f32 roundings; the FLT_MIN guard only makes s larger), levels = qmax (symmetric) or 2^b - 1 (asymmetric).
HWY_INLINE bool ProductsBounded(float levels, float clip) { return levels / clip < 0.5f * kMaxUnclampedProduct; }

// Round-half-to-even, clamp and narrow of one vector of products (any target): clamp t to [lo - z, hi - z]
// first (exact: integer bounds, and rounding is monotone), so RoundClampedToInt applies.
template <typename T>
HWY_INLINE void StoreCodes1(hn::Vec<DF> t, const CodeRange& range, T* HWY_RESTRICT out) {
  const DF df;
  const DI di;
  const hn::Rebind<T, DF> d8;
  const auto vlo = hn::Set(df, static_cast<float>(range.lo - range.z));
  const auto vhi = hn::Set(df, static_cast<float>(range.hi - range.z));
  const auto code = hn::Add(RoundClampedToInt(hn::Min(hn::Max(t, vlo), vhi)), hn::Set(di, range.z));
  hn::StoreU(hn::DemoteTo(d8, code), d8, out);
}

}  // namespace HWY_NAMESPACE
}  // namespace quant
}  // namespace qh
HWY_AFTER_NAMESPACE();

// The one raw-intrinsic kernel of the quantizer (AVX2 / AVX-512 only; see the file for why).
#include "quant/store_codes_x86-inl.h"

HWY_BEFORE_NAMESPACE();
namespace qh {
namespace quant {
namespace HWY_NAMESPACE {

// Stores the codes of four vectors of products as 4 * Lanes bytes in order. kClampFirst: |t| may exceed
// kMaxUnclampedProduct (scales given by the caller), so t is clamped in f32 first.
// On AVX2 / AVX-512: x86::StoreCodes4Packs (quant/store_codes_x86-inl.h: one conversion per product, the
// clamp done by saturating packs; why it is raw intrinsics is said there). Elsewhere: StoreCodes1 four times.
// kStream: non-temporal store (out must be aligned to 4 * Lanes bytes), for outputs far larger than the
// caches: no read-for-ownership of the destination; the caller issues hwy::FlushStream() after its block.
template <bool kAsym, bool kStream, bool kClampFirst, typename T>
HWY_INLINE void StoreCodes4(hn::Vec<DF> t0, hn::Vec<DF> t1, hn::Vec<DF> t2, hn::Vec<DF> t3, const CodeRange& range,
                            T* HWY_RESTRICT out) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL || HWY_TARGET == HWY_AVX2
  const DF df;
  if (kClampFirst) {
    const auto vlo = hn::Set(df, static_cast<float>(range.lo - range.z));
    const auto vhi = hn::Set(df, static_cast<float>(range.hi - range.z));
    t0 = hn::Min(hn::Max(t0, vlo), vhi);
    t1 = hn::Min(hn::Max(t1, vlo), vhi);
    t2 = hn::Min(hn::Max(t2, vlo), vhi);
    t3 = hn::Min(hn::Max(t3, vlo), vhi);
  }
  x86::StoreCodes4Packs<kAsym, kStream>(t0, t1, t2, t3, range, out);
#else
  const size_t N = hn::Lanes(DF());
  StoreCodes1(t0, range, out);
  StoreCodes1(t1, range, out + N);
  StoreCodes1(t2, range, out + 2 * N);
  StoreCodes1(t3, range, out + 3 * N);
#endif
}

// Prefetches the cache lines of next[0, n_floats) (next may be null). The fake-quant pass runs from L1 while
// memory would otherwise idle; fetching the following row meanwhile keeps it busy, so that row's range pass
// finds its data in cache. (Measured with the same-run ratios of `qharness bench quant`: this helps the
// fake-quant rows, whose f32 output stream is as large as the input, but slows the int8-code kernels, whose
// passes it competes with; they do not prefetch.)
HWY_INLINE void PrefetchFloats(const float* next, int64_t n_floats) {
  if (next == nullptr) return;
  for (int64_t k = 0; k < n_floats; k += 16) hwy::Prefetch(next + k);
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

// min and max of a span (0 and 0 when empty), plus the abs-bits max for the non-finite check. One pass.
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

// The abs-bits max of a span (the same value as AbsBitsMax) for the range pass of the symmetric code kernels,
// taken from MinMaxSpan's one-pass loop. Measured with the same-run ratios of `qharness bench quant` on the
// 2-core test machine: with this loop the range pass kept the memory pipeline busier than with AbsBitsMax's
// two-accumulator loop (per-token int8 0.93-0.98x vs 0.80-0.87x the read, three runs each); why is not
// established, and the extra min / max cost nothing in a memory-bound pass.
HWY_INLINE uint32_t RangeAbsBits(const float* HWY_RESTRICT x, int64_t n) {
  float lo, hi;
  uint32_t abs_bits_max;
  MinMaxSpan(x, n, &lo, &hi, &abs_bits_max);
  return abs_bits_max;
}

// codes[i] = clamp(rne(x[i] * inv) + z, lo, hi) for i < n: int8 (symmetric) or uint8 (kAsym). The caller
// guarantees |x * inv| < kMaxUnclampedProduct unless kClampFirst (see ProductsBounded). kStream: codes is
// 64-byte aligned (StoreCodes4). The tail uses the scalar formulas of the reference.
template <bool kAsym, bool kStream, bool kClampFirst, typename T>
HWY_INLINE void QuantizeSpan(const float* HWY_RESTRICT x, int64_t n, float inv, const CodeRange& range,
                             T* HWY_RESTRICT codes) {
  const DF df;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  const auto vinv = hn::Set(df, inv);
  auto t = [&](int64_t at) { return hn::Mul(hn::LoadU(df, x + at), vinv); };
  int64_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    StoreCodes4<kAsym, kStream, kClampFirst>(t(i), t(i + N), t(i + 2 * N), t(i + 3 * N), range, codes + i);
  }
  for (; i + N <= n; i += N) StoreCodes1(t(i), range, codes + i);
  const float z = static_cast<float>(range.z), lo = static_cast<float>(range.lo), hi = static_cast<float>(range.hi);
  for (; i < n; ++i) {
    codes[i] = static_cast<T>(kAsym ? math::code_asym(x[i], inv, z, hi) : math::code_sym(x[i], inv, lo, hi));
  }
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

// out = dequant(quant(x)) with one scale / zero point; out may alias x (each vector is read before it is
// written). kClamp = false only for a symmetric scale from the span's own absmax with clip 1: then
// |x * inv| <= qmax * (1 + 2^-21) (see ProductsBounded), so rne(t) is already within [-qmax, qmax] and the
// clamp is the identity. next: prefetched (or null). kStream: out is aligned to the vector size, stored
// non-temporally (the caller flushes).
template <bool kSymmetric, bool kClamp = true, bool kStream = false>
HWY_INLINE void FakeQuantSpanT(const float* x, int64_t n, float scale, int32_t zero_point, int bits, const float* next,
                               float* out) {
  const DF df;
  const int64_t N = static_cast<int64_t>(hn::Lanes(df));
  const float inv = 1.0f / scale, z = static_cast<float>(zero_point);
  const float lo = kSymmetric ? math::qmin_sym(bits) : -z;
  const float hi = kSymmetric ? math::qmax_sym(bits) : math::levels_asym(bits) - z;
  const auto vinv = hn::Set(df, inv), vscale = hn::Set(df, scale);
  const auto vlo = hn::Set(df, lo), vhi = hn::Set(df, hi);
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    if (next && i % 16 == 0) PrefetchFloats(next + i, 16);
    const auto v = hn::LoadU(df, x + i);
    const auto q = kClamp ? FakeQuantVec(v, vinv, vscale, vlo, vhi) : hn::Mul(vscale, RoundClamped(hn::Mul(v, vinv)));
    if (kStream) {
      hn::Stream(q, df, out + i);
    } else {
      hn::StoreU(q, df, out + i);
    }
  }
  for (; i < n; ++i) out[i] = FakeQuantScalar(x[i], inv, scale, z, bits, kSymmetric);
}

HWY_INLINE void FakeQuantSpan(const float* x, int64_t n, float scale, int32_t zero_point, int bits, bool symmetric,
                              float* out) {
  if (symmetric) {
    FakeQuantSpanT<true>(x, n, scale, 0, bits, nullptr, out);
  } else {
    FakeQuantSpanT<false>(x, n, scale, zero_point, bits, nullptr, out);
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
