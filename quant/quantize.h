// The SIMD quantizer's public entry points (Highway, dynamic dispatch; OpenMP over row blocks for large
// inputs). Every function has a scalar reference in quant/reference.h with the same signature and results
// (bit-exact codes and scales). Conventions (ARCHITECTURE.md 1.5), round-to-nearest-even throughout; the one rounding
// formula is "multiply by the f32 reciprocal of the scale, computed once" (see quant/quant_math.h):
//   symmetric:  s = clip * absmax / qmax,  qmax = 2^(b-1) - 1,  q = clamp(rne(x * (1/s)), -2^(b-1), qmax)
//   asymmetric: range [lo, hi] = [min(min x, 0), max(max x, 0)] * clip,  s = (hi - lo) / (2^b - 1),
//               z = clamp(rne(-lo * (1/s)), 0, 2^b - 1),  q = clamp(rne(x * (1/s)) + z, 0, 2^b - 1)
//   dequant:    x' = s * (q - z)
// A row whose range is zero (all zeros) gets scale 1.0f and zero point 0 (a defined value, never 0 or NaN),
// so its codes are all 0 and it dequantizes exactly. A non-zero range whose scale would be subnormal gets
// scale FLT_MIN. Strides and code strides are in elements. Rows may be processed by several OpenMP threads
// (omp_get_max_threads()) when the input is large; results never depend on the thread count. Outputs of
// 8 MB or more whose start and row stride are 64-byte aligned (quantize_per_token_sym / _asym,
// quantize_per_group_sym, out-of-place symmetric fake_quant_rows) are written with non-temporal stores: far
// larger than the caches, they would only evict the input; smaller outputs stay in cache for the GEMM.
//
// NaN / Inf: every function that produces codes, scales from data, or fake-quantized values (quantize_*,
// fake_quant_*, mse_clip_rows) checks its input while it reads it and throws InputError naming the first
// non-finite row ("quantize_per_token_sym: row 3 contains NaN or Inf"); the contents of its outputs are then
// unspecified. Range statistics do not throw: row_absmax / group_absmax / col_absmax / tensor_absmax return
// NaN (or +inf) for a range containing NaN (or Inf); row_minmax's result for such a row is unspecified.
// check_finite() is the explicit checked entry point for any buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "quant/scheme.h"

namespace qh::quant {

struct RowParams {
  int bits = 8;            // 2..8
  bool symmetric = true;
  float clip = 1.0f;       // (0, 1]
};
// The kernel parameters of a scheme's QuantSpec: its bits, symmetry and fixed clip ratio (granularity, group
// size and the MSE clip search are the caller's choice of kernel).
inline RowParams row_params(const QuantSpec& s) { return RowParams{s.bits, s.symmetric, s.clip}; }

// Range statistics ---------------------------------------------------------------------------------
// absmax of each row of x[rows][stride] (first `cols` values of each row).
void row_absmax(const float* x, int64_t rows, int64_t cols, int64_t stride, float* out);
// min and max of each row.
void row_minmax(const float* x, int64_t rows, int64_t cols, int64_t stride, float* out_min, float* out_max);
// absmax of each group of `group` consecutive values in each row: out[rows][cols / group] (cols % group == 0).
void group_absmax(const float* x, int64_t rows, int64_t cols, int64_t stride, int64_t group, float* out);
// absmax of each column over all rows: the per-input-channel chan_max used to find outlier channels.
void col_absmax(const float* x, int64_t rows, int64_t cols, int64_t stride, float* out);
// absmax of the whole tensor.
float tensor_absmax(const float* x, int64_t rows, int64_t cols, int64_t stride);
// true when every value is finite.
bool all_finite(const float* x, int64_t n);
// Throws InputError "<what>: value at index i is NaN" (or "+inf" / "-inf") for the first non-finite value.
void check_finite(const float* x, int64_t n, const std::string& what);

// Scales --------------------------------------------------------------------------------------------
// Scale and zero point from a range (see the conventions above). zero_point is 0 for symmetric.
void scale_from_absmax(float absmax, const RowParams& p, float* scale);
void scale_from_minmax(float lo, float hi, const RowParams& p, float* scale, int32_t* zero_point);
// MSE-optimal clip per row: tries clip = 1 - i / grid for i in [0, grid * (1 - min_clip)] and keeps, per row,
// the clip with the smallest squared quantization error (ties: the larger clip). out_clip may be null; so may
// out_zero_point when p.symmetric. p.clip is ignored (the search chooses it). The SIMD version sums the error
// in a different order than the reference, so when two clips give errors equal to ~1e-6 relative it may pick
// the other one; with a unique minimum the scales are identical.
void mse_clip_rows(const float* x, int64_t rows, int64_t cols, int64_t stride, const RowParams& p, int grid,
                   float min_clip, float* out_scale, int32_t* out_zero_point, float* out_clip);

// Codes ---------------------------------------------------------------------------------------------
// Quantize rows with given per-row scales: symmetric -> int8 codes (4-bit values held in int8 for GEMMs).
void quantize_rows_sym(const float* x, int64_t rows, int64_t cols, int64_t stride, const float* scales,
                       int bits, int8_t* codes, int64_t code_stride);
// Asymmetric -> uint8 codes with per-row zero points.
void quantize_rows_asym(const float* x, int64_t rows, int64_t cols, int64_t stride, const float* scales,
                        const int32_t* zero_points, int bits, uint8_t* codes, int64_t code_stride);
// Per-group symmetric: scales[rows][cols / group].
void quantize_groups_sym(const float* x, int64_t rows, int64_t cols, int64_t stride, int64_t group,
                         const float* scales, int bits, int8_t* codes, int64_t code_stride);
// Dynamic per-token quantization in one call (range + scale + codes, row by row while it is in cache):
// the activation path of the engine. zero_points may be null when symmetric.
void quantize_per_token_sym(const float* x, int64_t rows, int64_t cols, int64_t stride, const RowParams& p,
                            int8_t* codes, int64_t code_stride, float* scales);
void quantize_per_token_asym(const float* x, int64_t rows, int64_t cols, int64_t stride, const RowParams& p,
                             uint8_t* codes, int64_t code_stride, float* scales, int32_t* zero_points);
// Dynamic per-group quantization in one call: scales[rows][cols / group] (cols % group == 0).
void quantize_per_group_sym(const float* x, int64_t rows, int64_t cols, int64_t stride, int64_t group,
                            const RowParams& p, int8_t* codes, int64_t code_stride, float* scales);
// Dequantize.
void dequantize_rows_sym(const int8_t* codes, int64_t rows, int64_t cols, int64_t code_stride,
                         const float* scales, float* out, int64_t stride);
void dequantize_rows_asym(const uint8_t* codes, int64_t rows, int64_t cols, int64_t code_stride,
                          const float* scales, const int32_t* zero_points, float* out, int64_t stride);
// 4-bit packing for weight storage: two values per byte, low nibble first (codes in [-8, 7], stored as
// their two's complement nibble; unpack sign-extends); n values -> (n + 1) / 2 bytes, the last high nibble
// 0 when n is odd. Pack a matrix row by row to keep rows byte-aligned: packed[rows][(cols + 1) / 2].
void pack_int4(const int8_t* codes, int64_t n, uint8_t* packed);
void unpack_int4(const uint8_t* packed, int64_t n, int8_t* codes);

// Fused fake-quant (quantize-dequantize) ----------------------------------------------------------------
// out may alias x. Per-row (per-token or per-channel): scales computed from each row's range.
void fake_quant_rows(const float* x, int64_t rows, int64_t cols, int64_t stride, const RowParams& p,
                     float* out, int64_t out_stride);
void fake_quant_groups(const float* x, int64_t rows, int64_t cols, int64_t stride, int64_t group,
                       const RowParams& p, float* out, int64_t out_stride);
// With a fixed (calibrated) scale for all rows (per-tensor static).
void fake_quant_fixed(const float* x, int64_t rows, int64_t cols, int64_t stride, float scale,
                      int32_t zero_point, const RowParams& p, float* out, int64_t out_stride);

// Error statistics (accumulated in double) ------------------------------------------------------------
struct ErrorStats {
  double mse = 0;        // mean of (x - x')^2
  double max_abs = 0;    // max |x - x'|
  double signal = 0;     // sum x^2
  double noise = 0;      // sum (x - x')^2
  int64_t count = 0;     // number of values
  double sqnr_db() const;  // 10 log10(signal / noise); +inf when noise == 0
  // Accumulates another block's statistics (mse re-derived from the totals).
  void merge(const ErrorStats& other);
};
ErrorStats error_stats(const float* x, const float* x_deq, int64_t n);

}  // namespace qh::quant
