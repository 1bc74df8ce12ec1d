// First implementation of the public API: forwards to the scalar reference.
#include "quant/quantize.h"
#include "quant/reference.h"

namespace qh::quant {

void row_absmax(const float* x, int64_t rows, int64_t cols, int64_t stride, float* out) {
  ref::row_absmax(x, rows, cols, stride, out);
}
void row_minmax(const float* x, int64_t rows, int64_t cols, int64_t stride, float* out_min, float* out_max) {
  ref::row_minmax(x, rows, cols, stride, out_min, out_max);
}
void group_absmax(const float* x, int64_t rows, int64_t cols, int64_t stride, int64_t group, float* out) {
  ref::group_absmax(x, rows, cols, stride, group, out);
}
void col_absmax(const float* x, int64_t rows, int64_t cols, int64_t stride, float* out) {
  ref::col_absmax(x, rows, cols, stride, out);
}
float tensor_absmax(const float* x, int64_t rows, int64_t cols, int64_t stride) {
  return ref::tensor_absmax(x, rows, cols, stride);
}
bool all_finite(const float* x, int64_t n) {
  return ref::all_finite(x, n);
}
void check_finite(const float* x, int64_t n, const std::string& what) {
  ref::check_finite(x, n, what);
}
void scale_from_absmax(float absmax, const RowParams& p, float* scale) {
  ref::scale_from_absmax(absmax, p, scale);
}
void scale_from_minmax(float lo, float hi, const RowParams& p, float* scale, int32_t* zero_point) {
  ref::scale_from_minmax(lo, hi, p, scale, zero_point);
}
void mse_clip_rows(const float* x, int64_t rows, int64_t cols, int64_t stride, const RowParams& p, int grid,
                   float min_clip, float* out_scale, int32_t* out_zero_point, float* out_clip) {
  ref::mse_clip_rows(x, rows, cols, stride, p, grid, min_clip, out_scale, out_zero_point, out_clip);
}
void quantize_rows_sym(const float* x, int64_t rows, int64_t cols, int64_t stride, const float* scales,
                       int bits, int8_t* codes, int64_t code_stride) {
  ref::quantize_rows_sym(x, rows, cols, stride, scales, bits, codes, code_stride);
}
void quantize_rows_asym(const float* x, int64_t rows, int64_t cols, int64_t stride, const float* scales,
                        const int32_t* zero_points, int bits, uint8_t* codes, int64_t code_stride) {
  ref::quantize_rows_asym(x, rows, cols, stride, scales, zero_points, bits, codes, code_stride);
}
void quantize_groups_sym(const float* x, int64_t rows, int64_t cols, int64_t stride, int64_t group,
                         const float* scales, int bits, int8_t* codes, int64_t code_stride) {
  ref::quantize_groups_sym(x, rows, cols, stride, group, scales, bits, codes, code_stride);
}
void quantize_per_token_sym(const float* x, int64_t rows, int64_t cols, int64_t stride, const RowParams& p,
                            int8_t* codes, int64_t code_stride, float* scales) {
  ref::quantize_per_token_sym(x, rows, cols, stride, p, codes, code_stride, scales);
}
void quantize_per_token_asym(const float* x, int64_t rows, int64_t cols, int64_t stride, const RowParams& p,
                             uint8_t* codes, int64_t code_stride, float* scales, int32_t* zero_points) {
  ref::quantize_per_token_asym(x, rows, cols, stride, p, codes, code_stride, scales, zero_points);
}
void quantize_per_group_sym(const float* x, int64_t rows, int64_t cols, int64_t stride, int64_t group,
                            const RowParams& p, int8_t* codes, int64_t code_stride, float* scales) {
  ref::quantize_per_group_sym(x, rows, cols, stride, group, p, codes, code_stride, scales);
}
void dequantize_rows_sym(const int8_t* codes, int64_t rows, int64_t cols, int64_t code_stride,
                         const float* scales, float* out, int64_t stride) {
  ref::dequantize_rows_sym(codes, rows, cols, code_stride, scales, out, stride);
}
void dequantize_rows_asym(const uint8_t* codes, int64_t rows, int64_t cols, int64_t code_stride,
                          const float* scales, const int32_t* zero_points, float* out, int64_t stride) {
  ref::dequantize_rows_asym(codes, rows, cols, code_stride, scales, zero_points, out, stride);
}
void pack_int4(const int8_t* codes, int64_t n, uint8_t* packed) {
  ref::pack_int4(codes, n, packed);
}
void unpack_int4(const uint8_t* packed, int64_t n, int8_t* codes) {
  ref::unpack_int4(packed, n, codes);
}
void fake_quant_rows(const float* x, int64_t rows, int64_t cols, int64_t stride, const RowParams& p,
                     float* out, int64_t out_stride) {
  ref::fake_quant_rows(x, rows, cols, stride, p, out, out_stride);
}
void fake_quant_groups(const float* x, int64_t rows, int64_t cols, int64_t stride, int64_t group,
                       const RowParams& p, float* out, int64_t out_stride) {
  ref::fake_quant_groups(x, rows, cols, stride, group, p, out, out_stride);
}
void fake_quant_fixed(const float* x, int64_t rows, int64_t cols, int64_t stride, float scale,
                      int32_t zero_point, const RowParams& p, float* out, int64_t out_stride) {
  ref::fake_quant_fixed(x, rows, cols, stride, scale, zero_point, p, out, out_stride);
}
ErrorStats error_stats(const float* x, const float* x_deq, int64_t n) {
  return ref::error_stats(x, x_deq, n);
}

}  // namespace qh::quant
