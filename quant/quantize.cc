// The quantizer's code-producing entry points: per-target row-block kernels (compiled once per Highway target
// through foreach_target.h), dispatched once per row block, parallel over blocks (quant/parallel.h).
// Range statistics and error statistics are in quant/quantize_stats.cc, the MSE clip search in
// quant/quantize_mse.cc, int4 packing in quant/int4_pack.cc.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "quant/quantize.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <type_traits>
#include <vector>

#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "quant/quant_math.h"
#include "quant/quantize-inl.h"

HWY_BEFORE_NAMESPACE();
namespace qh {
namespace quant {
namespace HWY_NAMESPACE {

// Each block kernel handles rows [r0, r1) of the full arrays and returns the first row containing NaN / Inf
// (checked before any of its codes are written), or -1. Every row is read twice: a range pass from memory,
// then the quantize pass from L1 (a row of 4096 f32 is 16 KiB).

// Runs fn(stream, clamp_first) with both flags as compile-time constants (std::integral_constant), so each
// of the four combinations gets its own loop.
template <class Fn>
HWY_INLINE int64_t WithFlags(bool stream, bool clamp_first, Fn fn) {
  using F = std::false_type;
  using T = std::true_type;
  if (stream) {
    const int64_t bad = clamp_first ? fn(T(), T()) : fn(T(), F());
    hwy::FlushStream();  // order the non-temporal stores before the caller (or another thread) reads codes
    return bad;
  }
  return clamp_first ? fn(F(), T()) : fn(F(), F());
}

// The row after r in this block, to prefetch during row r's fake-quant pass (null for the block's last row).
HWY_INLINE const float* NextRow(const float* row, int64_t r, int64_t r1, int64_t stride) {
  return r + 1 < r1 ? row + stride : nullptr;
}

int64_t PerTokenSymBlock(const float* x, int64_t r0, int64_t r1, int64_t cols, int64_t stride, int bits, float clip,
                         int8_t* codes, int64_t code_stride, float* scales, bool stream) {
  const CodeRange range = SymRange(bits);
  return WithFlags(stream, !ProductsBounded(math::qmax_sym(bits), clip), [&](auto kStream, auto kClampFirst) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* row = x + r * stride;
      const uint32_t absmax = RangeAbsBits(row, cols);
      if (absmax >= math::kInfBits) return r;
      scales[r] = math::scale_sym(math::from_bits(absmax), bits, clip);
      QuantizeSpan<false, kStream(), kClampFirst()>(row, cols, 1.0f / scales[r], range, codes + r * code_stride);
    }
    return int64_t{-1};
  });
}

int64_t PerTokenAsymBlock(const float* x, int64_t r0, int64_t r1, int64_t cols, int64_t stride, int bits,
                          float clip, uint8_t* codes, int64_t code_stride, float* scales, int32_t* zero_points,
                          bool stream) {
  return WithFlags(stream, !ProductsBounded(math::levels_asym(bits), clip), [&](auto kStream, auto kClampFirst) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* row = x + r * stride;
      float lo, hi;
      uint32_t absmax;
      MinMaxSpan(row, cols, &lo, &hi, &absmax);  // one pass: min, max and the non-finite check
      if (absmax >= math::kInfBits) return r;
      math::scale_asym(lo, hi, bits, clip, &scales[r], &zero_points[r]);
      QuantizeSpan<true, kStream(), kClampFirst()>(row, cols, 1.0f / scales[r], AsymRange(bits, zero_points[r]),
                                                   codes + r * code_stride);
    }
    return int64_t{-1};
  });
}

int64_t PerGroupSymBlock(const float* x, int64_t r0, int64_t r1, int64_t cols, int64_t stride, int64_t group,
                         int bits, float clip, int8_t* codes, int64_t code_stride, float* scales, bool stream) {
  const int64_t groups = cols / group;
  const CodeRange range = SymRange(bits);
  std::vector<float> inv(static_cast<size_t>(groups));
  return WithFlags(stream, !ProductsBounded(math::qmax_sym(bits), clip), [&](auto kStream, auto kClampFirst) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* row = x + r * stride;
      float* row_scales = scales + r * groups;
      uint32_t row_max = 0;
      for (int64_t g = 0; g < groups; ++g) {
        const uint32_t absmax = RangeAbsBits(row + g * group, group);
        row_max = row_max > absmax ? row_max : absmax;
        row_scales[g] = math::scale_sym(math::from_bits(absmax), bits, clip);
        inv[g] = 1.0f / row_scales[g];
      }
      if (row_max >= math::kInfBits) return r;
      for (int64_t g = 0; g < groups; ++g) {
        QuantizeSpan<false, kStream(), kClampFirst()>(row + g * group, group, inv[g], range,
                                                      codes + r * code_stride + g * group);
      }
    }
    return int64_t{-1};
  });
}

// Given scales: the products are not bounded by the data, so they are clamped first.
int64_t RowsSymBlock(const float* x, int64_t r0, int64_t r1, int64_t cols, int64_t stride, const float* scales,
                     int bits, int8_t* codes, int64_t code_stride) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* row = x + r * stride;
    if (AbsBitsMax(row, cols) >= math::kInfBits) return r;
    QuantizeSpan<false, false, true>(row, cols, 1.0f / scales[r], SymRange(bits), codes + r * code_stride);
  }
  return -1;
}

int64_t RowsAsymBlock(const float* x, int64_t r0, int64_t r1, int64_t cols, int64_t stride, const float* scales,
                      const int32_t* zero_points, int bits, uint8_t* codes, int64_t code_stride) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* row = x + r * stride;
    if (AbsBitsMax(row, cols) >= math::kInfBits) return r;
    QuantizeSpan<true, false, true>(row, cols, 1.0f / scales[r], AsymRange(bits, zero_points[r]),
                                    codes + r * code_stride);
  }
  return -1;
}

int64_t GroupsSymBlock(const float* x, int64_t r0, int64_t r1, int64_t cols, int64_t stride, int64_t group,
                       const float* scales, int bits, int8_t* codes, int64_t code_stride) {
  const int64_t groups = cols / group;
  for (int64_t r = r0; r < r1; ++r) {
    const float* row = x + r * stride;
    if (AbsBitsMax(row, cols) >= math::kInfBits) return r;
    for (int64_t g = 0; g < groups; ++g) {
      QuantizeSpan<false, false, true>(row + g * group, group, 1.0f / scales[r * groups + g], SymRange(bits),
                                       codes + r * code_stride + g * group);
    }
  }
  return -1;
}

// Scale and zero point of a span from its own range; false when the span has NaN / Inf.
HWY_INLINE bool SpanParams(const float* span, int64_t n, int bits, bool symmetric, float clip, float* scale,
                           int32_t* zero_point) {
  if (symmetric) {
    const uint32_t absmax = AbsBitsMax(span, n);
    *scale = math::scale_sym(math::from_bits(absmax), bits, clip);
    *zero_point = 0;
    return absmax < math::kInfBits;
  }
  float lo, hi;
  uint32_t absmax;
  MinMaxSpan(span, n, &lo, &hi, &absmax);
  math::scale_asym(lo, hi, bits, clip, scale, zero_point);
  return absmax < math::kInfBits;
}

int64_t FakeQuantGroupsBlock(const float* x, int64_t r0, int64_t r1, int64_t cols, int64_t stride, int64_t group,
                             int bits, bool symmetric, float clip, float* out, int64_t out_stride) {
  for (int64_t r = r0; r < r1; ++r) {
    for (int64_t g = 0; g < cols / group; ++g) {
      const float* span = x + r * stride + g * group;
      float scale;
      int32_t zp;
      if (!SpanParams(span, group, bits, symmetric, clip, &scale, &zp)) return r;
      FakeQuantSpan(span, group, scale, zp, bits, symmetric, out + r * out_stride + g * group);
    }
  }
  return -1;
}

// Symmetric per-row fake quant: range pass, then the fake-quant pass from L1 while the next row is
// prefetched. In place (out == x) is safe: a row is read before it is written, and the next row is only
// prefetched. With clip 1 the clamp is the identity (see FakeQuantSpanT) and is skipped.
int64_t FakeQuantRowsSymBlock(const float* x, int64_t r0, int64_t r1, int64_t cols, int64_t stride, int bits,
                              float clip, float* out, int64_t out_stride, bool stream) {
  return WithFlags(stream, clip != 1.0f, [&](auto kStream, auto kClamp) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* row = x + r * stride;
      const uint32_t absmax = AbsBitsMax(row, cols);
      if (absmax >= math::kInfBits) return r;
      const float scale = math::scale_sym(math::from_bits(absmax), bits, clip);
      FakeQuantSpanT<true, kClamp(), kStream()>(row, cols, scale, 0, bits, NextRow(row, r, r1, stride),
                                                out + r * out_stride);
    }
    return int64_t{-1};
  });
}

int64_t FakeQuantFixedBlock(const float* x, int64_t r0, int64_t r1, int64_t cols, int64_t stride, float scale,
                            int32_t zero_point, int bits, bool symmetric, float* out, int64_t out_stride) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* row = x + r * stride;
    if (AbsBitsMax(row, cols) >= math::kInfBits) return r;
    FakeQuantSpan(row, cols, scale, symmetric ? 0 : zero_point, bits, symmetric, out + r * out_stride);
  }
  return -1;
}

void DequantSymBlock(const int8_t* codes, int64_t r0, int64_t r1, int64_t cols, int64_t code_stride,
                     const float* scales, float* out, int64_t stride) {
  for (int64_t r = r0; r < r1; ++r) DequantSpanSym(codes + r * code_stride, cols, scales[r], out + r * stride);
}

void DequantAsymBlock(const uint8_t* codes, int64_t r0, int64_t r1, int64_t cols, int64_t code_stride,
                      const float* scales, const int32_t* zero_points, float* out, int64_t stride) {
  for (int64_t r = r0; r < r1; ++r) {
    DequantSpanAsym(codes + r * code_stride, cols, scales[r], zero_points[r], out + r * stride);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace quant
}  // namespace qh
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <cmath>
#include <string>

#include "src/core/error.h"
#include "quant/parallel.h"
#include "quant/quantize.h"

namespace qh::quant {

HWY_EXPORT(PerTokenSymBlock);
HWY_EXPORT(PerTokenAsymBlock);
HWY_EXPORT(PerGroupSymBlock);
HWY_EXPORT(RowsSymBlock);
HWY_EXPORT(RowsAsymBlock);
HWY_EXPORT(GroupsSymBlock);
HWY_EXPORT(FakeQuantGroupsBlock);
HWY_EXPORT(FakeQuantFixedBlock);
HWY_EXPORT(FakeQuantRowsSymBlock);
HWY_EXPORT(DequantSymBlock);
HWY_EXPORT(DequantAsymBlock);

namespace {

void check_params(int bits, float clip) {
  QH_CHECK(bits >= 2 && bits <= 8);
  QH_CHECK(clip > 0.0f && clip <= 1.0f);
}

void check_group(const char* fn, int64_t cols, int64_t group) {
  if (group <= 0 || cols % group != 0) {
    throw InputError(std::string(fn) + ": group size " + std::to_string(group) + " does not divide the row length " +
                     std::to_string(cols));
  }
}

// Outputs this large (bytes) are written with non-temporal stores when their start and row stride allow it
// (64-byte aligned): far beyond the caches, so storing around them saves the read-for-ownership traffic and
// keeps the input cached. Smaller outputs (the engine's activations) stay in cache for the GEMM that follows.
constexpr int64_t kStreamMinBytes = int64_t{8} << 20;

bool use_streaming(const void* out, int64_t rows, int64_t row_bytes, int64_t out_stride_bytes, int64_t span) {
  return rows * row_bytes >= kStreamMinBytes && reinterpret_cast<uintptr_t>(out) % 64 == 0 && out_stride_bytes % 64 == 0 &&
         span % 64 == 0;
}

void throw_if_bad(const char* fn, int64_t bad_row) {
  if (bad_row >= 0) throw InputError(std::string(fn) + ": row " + std::to_string(bad_row) + " contains NaN or Inf");
}

}  // namespace

void quantize_rows_sym(const float* x, int64_t rows, int64_t cols, int64_t stride, const float* scales, int bits,
                       int8_t* codes, int64_t code_stride) {
  check_params(bits, 1.0f);
  throw_if_bad("quantize_rows_sym", for_row_blocks(rows, cols, [&](int64_t r0, int64_t r1) {
                 return HWY_DYNAMIC_DISPATCH(RowsSymBlock)(x, r0, r1, cols, stride, scales, bits, codes, code_stride);
               }));
}

void quantize_rows_asym(const float* x, int64_t rows, int64_t cols, int64_t stride, const float* scales,
                        const int32_t* zero_points, int bits, uint8_t* codes, int64_t code_stride) {
  check_params(bits, 1.0f);
  throw_if_bad("quantize_rows_asym", for_row_blocks(rows, cols, [&](int64_t r0, int64_t r1) {
                 return HWY_DYNAMIC_DISPATCH(RowsAsymBlock)(x, r0, r1, cols, stride, scales, zero_points, bits,
                                                            codes, code_stride);
               }));
}

void quantize_groups_sym(const float* x, int64_t rows, int64_t cols, int64_t stride, int64_t group,
                         const float* scales, int bits, int8_t* codes, int64_t code_stride) {
  check_params(bits, 1.0f);
  check_group("quantize_groups_sym", cols, group);
  throw_if_bad("quantize_groups_sym", for_row_blocks(rows, cols, [&](int64_t r0, int64_t r1) {
                 return HWY_DYNAMIC_DISPATCH(GroupsSymBlock)(x, r0, r1, cols, stride, group, scales, bits, codes,
                                                             code_stride);
               }));
}

void quantize_per_token_sym(const float* x, int64_t rows, int64_t cols, int64_t stride, const RowParams& p,
                            int8_t* codes, int64_t code_stride, float* scales) {
  check_params(p.bits, p.clip);
  const bool stream = use_streaming(codes, rows, cols, code_stride, 0);
  throw_if_bad("quantize_per_token_sym", for_row_blocks(rows, cols, [&](int64_t r0, int64_t r1) {
                 return HWY_DYNAMIC_DISPATCH(PerTokenSymBlock)(x, r0, r1, cols, stride, p.bits, p.clip, codes,
                                                               code_stride, scales, stream);
               }));
}

void quantize_per_token_asym(const float* x, int64_t rows, int64_t cols, int64_t stride, const RowParams& p,
                             uint8_t* codes, int64_t code_stride, float* scales, int32_t* zero_points) {
  check_params(p.bits, p.clip);
  const bool stream = use_streaming(codes, rows, cols, code_stride, 0);
  throw_if_bad("quantize_per_token_asym", for_row_blocks(rows, cols, [&](int64_t r0, int64_t r1) {
                 return HWY_DYNAMIC_DISPATCH(PerTokenAsymBlock)(x, r0, r1, cols, stride, p.bits, p.clip, codes,
                                                                code_stride, scales, zero_points, stream);
               }));
}

void quantize_per_group_sym(const float* x, int64_t rows, int64_t cols, int64_t stride, int64_t group,
                            const RowParams& p, int8_t* codes, int64_t code_stride, float* scales) {
  check_params(p.bits, p.clip);
  check_group("quantize_per_group_sym", cols, group);
  const bool stream = use_streaming(codes, rows, cols, code_stride, group);
  throw_if_bad("quantize_per_group_sym", for_row_blocks(rows, cols, [&](int64_t r0, int64_t r1) {
                 return HWY_DYNAMIC_DISPATCH(PerGroupSymBlock)(x, r0, r1, cols, stride, group, p.bits, p.clip,
                                                               codes, code_stride, scales, stream);
               }));
}

void dequantize_rows_sym(const int8_t* codes, int64_t rows, int64_t cols, int64_t code_stride, const float* scales,
                         float* out, int64_t stride) {
  for_row_blocks(rows, cols, [&](int64_t r0, int64_t r1) {
    HWY_DYNAMIC_DISPATCH(DequantSymBlock)(codes, r0, r1, cols, code_stride, scales, out, stride);
    return int64_t{-1};
  });
}

void dequantize_rows_asym(const uint8_t* codes, int64_t rows, int64_t cols, int64_t code_stride,
                          const float* scales, const int32_t* zero_points, float* out, int64_t stride) {
  for_row_blocks(rows, cols, [&](int64_t r0, int64_t r1) {
    HWY_DYNAMIC_DISPATCH(DequantAsymBlock)(codes, r0, r1, cols, code_stride, scales, zero_points, out, stride);
    return int64_t{-1};
  });
}

void fake_quant_rows(const float* x, int64_t rows, int64_t cols, int64_t stride, const RowParams& p, float* out,
                     int64_t out_stride) {
  check_params(p.bits, p.clip);
  if (cols == 0) return;  // nothing to do, and nothing to check
  if (p.symmetric) {
    // Streaming f32 stores only out of place: in place, the output lines are already in cache.
    const bool stream = out != x && use_streaming(out, rows, cols * 4, out_stride * 4, 0);
    throw_if_bad("fake_quant_rows", for_row_blocks(rows, cols, [&](int64_t r0, int64_t r1) {
                   return HWY_DYNAMIC_DISPATCH(FakeQuantRowsSymBlock)(x, r0, r1, cols, stride, p.bits, p.clip, out,
                                                                      out_stride, stream);
                 }));
    return;
  }
  // Asymmetric: a row is one group of length cols.
  throw_if_bad("fake_quant_rows", for_row_blocks(rows, cols, [&](int64_t r0, int64_t r1) {
                 return HWY_DYNAMIC_DISPATCH(FakeQuantGroupsBlock)(x, r0, r1, cols, stride, cols, p.bits,
                                                                   p.symmetric, p.clip, out, out_stride);
               }));
}

void fake_quant_groups(const float* x, int64_t rows, int64_t cols, int64_t stride, int64_t group, const RowParams& p,
                       float* out, int64_t out_stride) {
  check_params(p.bits, p.clip);
  check_group("fake_quant_groups", cols, group);
  throw_if_bad("fake_quant_groups", for_row_blocks(rows, cols, [&](int64_t r0, int64_t r1) {
                 return HWY_DYNAMIC_DISPATCH(FakeQuantGroupsBlock)(x, r0, r1, cols, stride, group, p.bits,
                                                                   p.symmetric, p.clip, out, out_stride);
               }));
}

void fake_quant_fixed(const float* x, int64_t rows, int64_t cols, int64_t stride, float scale, int32_t zero_point,
                      const RowParams& p, float* out, int64_t out_stride) {
  check_params(p.bits, p.clip);
  throw_if_bad("fake_quant_fixed", for_row_blocks(rows, cols, [&](int64_t r0, int64_t r1) {
                 return HWY_DYNAMIC_DISPATCH(FakeQuantFixedBlock)(x, r0, r1, cols, stride, scale, zero_point, p.bits,
                                                                  p.symmetric, out, out_stride);
               }));
}

}  // namespace qh::quant
#endif  // HWY_ONCE
