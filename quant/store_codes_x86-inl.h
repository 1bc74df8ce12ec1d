// StoreCodes4Packs: the codes of four f32 vectors of products t = x * (1 / s), as 4 * Lanes bytes in order,
// written with raw AVX2 / AVX-512 intrinsics. It is the quantizer's only code outside Highway's ops, because
// Highway 1.0.3 has no ordered two-to-one saturating demote (int32 -> int16 -> int8 of four vectors with the
// bytes in order; OrderedDemote2To came in a later Highway): its portable path (StoreCodes1 four times: clamp,
// round and demote per vector) takes about twice the vector ops in a pass that is bound by vector ops once the
// row is in L1. Here each product is one conversion (cvtps2dq: round half to even in the default rounding
// mode, as the reference), the clamp is done by the saturating packs to the 8-bit range (plus one byte min /
// max per four vectors for fewer bits), and two pack steps and one cross-block permute order the bytes.
// Dispatch: compiled per Highway target like the rest of quant/quantize-inl.h, which calls it only when
// HWY_TARGET is AVX2 or AVX-512; every other target takes the portable path.
// Reference test: tests/quant/simd_vs_reference_test.cc runs each compiled target (so this kernel on AVX2 and
// AVX-512 machines, the portable path elsewhere) against the scalar quant/reference.cc, codes bit for bit,
// including products near kMaxUnclampedProduct where the saturating packs do the clamping.
// Included by quant/quantize-inl.h only, inside its per-target include guard.
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL || HWY_TARGET == HWY_AVX2

#include <immintrin.h>

HWY_BEFORE_NAMESPACE();
namespace qh {
namespace quant {
namespace HWY_NAMESPACE {
namespace x86 {

namespace hn = hwy::HWY_NAMESPACE;

// Products t already clamped to [lo - z, hi - z] by the caller when they may exceed kMaxUnclampedProduct.
template <bool kAsym, bool kStream, typename T>
HWY_INLINE void StoreCodes4Packs(hn::Vec<hn::ScalableTag<float>> t0, hn::Vec<hn::ScalableTag<float>> t1,
                                 hn::Vec<hn::ScalableTag<float>> t2, hn::Vec<hn::ScalableTag<float>> t3,
                                 const CodeRange& range, T* HWY_RESTRICT out) {
  using VF = hn::Vec<hn::ScalableTag<float>>;
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  const __m512i vz = _mm512_set1_epi32(range.z);
  auto to_int = [&](VF t) {
    const __m512i q = _mm512_cvtps_epi32(t.raw);
    return kAsym ? _mm512_add_epi32(q, vz) : q;
  };
  // After the packs, 32-bit word 4k + m holds block k of vector m; the permute puts it at 4m + k.
  const __m512i p01 = _mm512_packs_epi32(to_int(t0), to_int(t1)), p23 = _mm512_packs_epi32(to_int(t2), to_int(t3));
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  __m512i bytes = _mm512_permutexvar_epi32(order, kAsym ? _mm512_packus_epi16(p01, p23) : _mm512_packs_epi16(p01, p23));
  if (kAsym) {
    if (range.hi < 255) bytes = _mm512_min_epu8(bytes, _mm512_set1_epi8(static_cast<char>(range.hi)));
  } else if (range.hi < 127) {
    bytes = _mm512_min_epi8(_mm512_max_epi8(bytes, _mm512_set1_epi8(static_cast<char>(range.lo))),
                            _mm512_set1_epi8(static_cast<char>(range.hi)));
  }
  if (kStream) {
    _mm512_stream_si512(reinterpret_cast<__m512i*>(out), bytes);
  } else {
    _mm512_storeu_si512(reinterpret_cast<void*>(out), bytes);
  }
#else  // AVX2
  const __m256i vz = _mm256_set1_epi32(range.z);
  auto to_int = [&](VF t) {
    const __m256i q = _mm256_cvtps_epi32(t.raw);
    return kAsym ? _mm256_add_epi32(q, vz) : q;
  };
  const __m256i p01 = _mm256_packs_epi32(to_int(t0), to_int(t1)), p23 = _mm256_packs_epi32(to_int(t2), to_int(t3));
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  __m256i bytes =
      _mm256_permutevar8x32_epi32(kAsym ? _mm256_packus_epi16(p01, p23) : _mm256_packs_epi16(p01, p23), order);
  if (kAsym) {
    if (range.hi < 255) bytes = _mm256_min_epu8(bytes, _mm256_set1_epi8(static_cast<char>(range.hi)));
  } else if (range.hi < 127) {
    bytes = _mm256_min_epi8(_mm256_max_epi8(bytes, _mm256_set1_epi8(static_cast<char>(range.lo))),
                            _mm256_set1_epi8(static_cast<char>(range.hi)));
  }
  if (kStream) {
    _mm256_stream_si256(reinterpret_cast<__m256i*>(out), bytes);
  } else {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), bytes);
  }
#endif
}

}  // namespace x86
}  // namespace HWY_NAMESPACE
}  // namespace quant
}  // namespace qh
HWY_AFTER_NAMESPACE();

#endif  // AVX2 / AVX-512
