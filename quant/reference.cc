// Scalar reference quantizer: plain loops over the formulas of quant/quant_math.h.
#include "quant/reference.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "src/core/error.h"
#include "quant/quant_math.h"

namespace qh::quant::ref {
namespace {

using namespace qh::quant::math;

void check_group(const char* fn, int64_t cols, int64_t group) {
  if (group <= 0 || cols % group != 0) {
    throw InputError(std::string(fn) + ": group size " + std::to_string(group) + " does not divide the row length " +
                     std::to_string(cols));
  }
}

void throw_non_finite(const char* fn, int64_t row) {
  throw InputError(std::string(fn) + ": row " + std::to_string(row) + " contains NaN or Inf");
}

// absmax of n values; NaN / +inf when the values contain NaN / Inf (see abs_bits).
float absmax_of(const float* x, int64_t n) {
  uint32_t m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, abs_bits(x[i]));
  return from_bits(m);
}

bool finite_range(const float* x, int64_t n) { return abs_bits(absmax_of(x, n)) < kInfBits; }

void minmax_of(const float* x, int64_t n, float* lo, float* hi) {
  float mn = std::numeric_limits<float>::infinity(), mx = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) {
    mn = std::min(mn, x[i]);
    mx = std::max(mx, x[i]);
  }
  if (n == 0) mn = mx = 0.0f;
  *lo = mn;
  *hi = mx;
}

// Quantize-dequantize n values with one scale / zero point into out; returns the squared error.
double fake_quant_span(const float* x, int64_t n, float scale, int32_t zero_point, const RowParams& p, float* out) {
  const float inv = 1.0f / scale;
  double err = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float xi = x[i];  // read before out[i] is written: out may alias x
    float deq;
    if (p.symmetric) {
      deq = scale * code_sym(xi, inv, qmin_sym(p.bits), qmax_sym(p.bits));
    } else {
      const float z = static_cast<float>(zero_point);
      deq = scale * (code_asym(xi, inv, z, levels_asym(p.bits)) - z);
    }
    if (out) out[i] = deq;
    const double e = static_cast<double>(xi) - static_cast<double>(deq);
    err += e * e;
  }
  return err;
}

void span_params(const float* x, int64_t n, const RowParams& p, float* scale, int32_t* zero_point) {
  if (p.symmetric) {
    *scale = scale_sym(absmax_of(x, n), p.bits, p.clip);
    *zero_point = 0;
  } else {
    float lo, hi;
    minmax_of(x, n, &lo, &hi);
    scale_asym(lo, hi, p.bits, p.clip, scale, zero_point);
  }
}

}  // namespace

void row_absmax(const float* x, int64_t rows, int64_t cols, int64_t stride, float* out) {
  for (int64_t r = 0; r < rows; ++r) out[r] = absmax_of(x + r * stride, cols);
}

void row_minmax(const float* x, int64_t rows, int64_t cols, int64_t stride, float* out_min, float* out_max) {
  for (int64_t r = 0; r < rows; ++r) minmax_of(x + r * stride, cols, &out_min[r], &out_max[r]);
}

void group_absmax(const float* x, int64_t rows, int64_t cols, int64_t stride, int64_t group, float* out) {
  check_group("group_absmax", cols, group);
  const int64_t groups = cols / group;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t g = 0; g < groups; ++g) out[r * groups + g] = absmax_of(x + r * stride + g * group, group);
  }
}

void col_absmax(const float* x, int64_t rows, int64_t cols, int64_t stride, float* out) {
  std::vector<uint32_t> m(cols, 0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) m[c] = std::max(m[c], abs_bits(x[r * stride + c]));
  }
  for (int64_t c = 0; c < cols; ++c) out[c] = from_bits(m[c]);
}

float tensor_absmax(const float* x, int64_t rows, int64_t cols, int64_t stride) {
  uint32_t m = 0;
  for (int64_t r = 0; r < rows; ++r) m = std::max(m, abs_bits(absmax_of(x + r * stride, cols)));
  return from_bits(m);
}

bool all_finite(const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) return false;
  }
  return true;
}

void check_finite(const float* x, int64_t n, const std::string& what) {
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) {
      throw InputError(what + ": value at index " + std::to_string(i) + " is " +
                       (std::isnan(x[i]) ? "NaN" : (x[i] > 0 ? "+inf" : "-inf")));
    }
  }
}

void scale_from_absmax(float absmax, const RowParams& p, float* scale) { *scale = scale_sym(absmax, p.bits, p.clip); }

void scale_from_minmax(float lo, float hi, const RowParams& p, float* scale, int32_t* zero_point) {
  scale_asym(lo, hi, p.bits, p.clip, scale, zero_point);
}

void mse_clip_rows(const float* x, int64_t rows, int64_t cols, int64_t stride, const RowParams& p, int grid,
                   float min_clip, float* out_scale, int32_t* out_zero_point, float* out_clip) {
  const int candidates = static_cast<int>(std::floor(grid * (1.0 - min_clip))) + 1;
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * stride;
    if (!finite_range(row, cols)) throw_non_finite("mse_clip_rows", r);
    double best_err = std::numeric_limits<double>::infinity();
    for (int i = 0; i < candidates; ++i) {
      RowParams trial = p;
      trial.clip = 1.0f - static_cast<float>(i) / static_cast<float>(grid);
      if (!(trial.clip > 0.0f)) break;
      float scale;
      int32_t zp;
      span_params(row, cols, trial, &scale, &zp);
      const double err = fake_quant_span(row, cols, scale, zp, trial, nullptr);
      if (err < best_err) {  // strict: ties keep the larger clip
        best_err = err;
        out_scale[r] = scale;
        if (out_zero_point) out_zero_point[r] = zp;
        if (out_clip) out_clip[r] = trial.clip;
      }
    }
  }
}

void quantize_rows_sym(const float* x, int64_t rows, int64_t cols, int64_t stride, const float* scales, int bits,
                       int8_t* codes, int64_t code_stride) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * stride;
    if (!finite_range(row, cols)) throw_non_finite("quantize_rows_sym", r);
    const float inv = 1.0f / scales[r];
    for (int64_t c = 0; c < cols; ++c) {
      codes[r * code_stride + c] = static_cast<int8_t>(code_sym(row[c], inv, qmin_sym(bits), qmax_sym(bits)));
    }
  }
}

void quantize_rows_asym(const float* x, int64_t rows, int64_t cols, int64_t stride, const float* scales,
                        const int32_t* zero_points, int bits, uint8_t* codes, int64_t code_stride) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * stride;
    if (!finite_range(row, cols)) throw_non_finite("quantize_rows_asym", r);
    const float inv = 1.0f / scales[r];
    const float z = static_cast<float>(zero_points[r]);
    for (int64_t c = 0; c < cols; ++c) {
      codes[r * code_stride + c] = static_cast<uint8_t>(code_asym(row[c], inv, z, levels_asym(bits)));
    }
  }
}

void quantize_groups_sym(const float* x, int64_t rows, int64_t cols, int64_t stride, int64_t group,
                         const float* scales, int bits, int8_t* codes, int64_t code_stride) {
  check_group("quantize_groups_sym", cols, group);
  const int64_t groups = cols / group;
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * stride;
    if (!finite_range(row, cols)) throw_non_finite("quantize_groups_sym", r);
    for (int64_t c = 0; c < cols; ++c) {
      const float inv = 1.0f / scales[r * groups + c / group];
      codes[r * code_stride + c] = static_cast<int8_t>(code_sym(row[c], inv, qmin_sym(bits), qmax_sym(bits)));
    }
  }
}

void quantize_per_token_sym(const float* x, int64_t rows, int64_t cols, int64_t stride, const RowParams& p,
                            int8_t* codes, int64_t code_stride, float* scales) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * stride;
    if (!finite_range(row, cols)) throw_non_finite("quantize_per_token_sym", r);
    scales[r] = scale_sym(absmax_of(row, cols), p.bits, p.clip);
  }
  quantize_rows_sym(x, rows, cols, stride, scales, p.bits, codes, code_stride);
}

void quantize_per_token_asym(const float* x, int64_t rows, int64_t cols, int64_t stride, const RowParams& p,
                             uint8_t* codes, int64_t code_stride, float* scales, int32_t* zero_points) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * stride;
    if (!finite_range(row, cols)) throw_non_finite("quantize_per_token_asym", r);
    float lo, hi;
    minmax_of(row, cols, &lo, &hi);
    scale_asym(lo, hi, p.bits, p.clip, &scales[r], &zero_points[r]);
  }
  quantize_rows_asym(x, rows, cols, stride, scales, zero_points, p.bits, codes, code_stride);
}

void quantize_per_group_sym(const float* x, int64_t rows, int64_t cols, int64_t stride, int64_t group,
                            const RowParams& p, int8_t* codes, int64_t code_stride, float* scales) {
  check_group("quantize_per_group_sym", cols, group);
  const int64_t groups = cols / group;
  for (int64_t r = 0; r < rows; ++r) {
    if (!finite_range(x + r * stride, cols)) throw_non_finite("quantize_per_group_sym", r);
    for (int64_t g = 0; g < groups; ++g) {
      scales[r * groups + g] = scale_sym(absmax_of(x + r * stride + g * group, group), p.bits, p.clip);
    }
  }
  quantize_groups_sym(x, rows, cols, stride, group, scales, p.bits, codes, code_stride);
}

void dequantize_rows_sym(const int8_t* codes, int64_t rows, int64_t cols, int64_t code_stride, const float* scales,
                         float* out, int64_t stride) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) out[r * stride + c] = scales[r] * static_cast<float>(codes[r * code_stride + c]);
  }
}

void dequantize_rows_asym(const uint8_t* codes, int64_t rows, int64_t cols, int64_t code_stride,
                          const float* scales, const int32_t* zero_points, float* out, int64_t stride) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      out[r * stride + c] =
          scales[r] * (static_cast<float>(codes[r * code_stride + c]) - static_cast<float>(zero_points[r]));
    }
  }
}

void pack_int4(const int8_t* codes, int64_t n, uint8_t* packed) {
  for (int64_t i = 0; i < n; i += 2) {
    const uint8_t lo = static_cast<uint8_t>(codes[i]) & 0x0f;
    const uint8_t hi = i + 1 < n ? static_cast<uint8_t>(codes[i + 1]) & 0x0f : 0;
    packed[i / 2] = static_cast<uint8_t>(lo | (hi << 4));
  }
}

void unpack_int4(const uint8_t* packed, int64_t n, int8_t* codes) {
  for (int64_t i = 0; i < n; ++i) {
    const int nibble = i % 2 == 0 ? packed[i / 2] & 0x0f : packed[i / 2] >> 4;
    codes[i] = static_cast<int8_t>(nibble >= 8 ? nibble - 16 : nibble);
  }
}

void fake_quant_rows(const float* x, int64_t rows, int64_t cols, int64_t stride, const RowParams& p, float* out,
                     int64_t out_stride) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * stride;
    if (!finite_range(row, cols)) throw_non_finite("fake_quant_rows", r);
    float scale;
    int32_t zp;
    span_params(row, cols, p, &scale, &zp);
    fake_quant_span(row, cols, scale, zp, p, out + r * out_stride);
  }
}

void fake_quant_groups(const float* x, int64_t rows, int64_t cols, int64_t stride, int64_t group, const RowParams& p,
                       float* out, int64_t out_stride) {
  check_group("fake_quant_groups", cols, group);
  for (int64_t r = 0; r < rows; ++r) {
    if (!finite_range(x + r * stride, cols)) throw_non_finite("fake_quant_groups", r);
    for (int64_t g = 0; g < cols / group; ++g) {
      const float* span = x + r * stride + g * group;
      float scale;
      int32_t zp;
      span_params(span, group, p, &scale, &zp);
      fake_quant_span(span, group, scale, zp, p, out + r * out_stride + g * group);
    }
  }
}

void fake_quant_fixed(const float* x, int64_t rows, int64_t cols, int64_t stride, float scale, int32_t zero_point,
                      const RowParams& p, float* out, int64_t out_stride) {
  for (int64_t r = 0; r < rows; ++r) {
    if (!finite_range(x + r * stride, cols)) throw_non_finite("fake_quant_fixed", r);
    fake_quant_span(x + r * stride, cols, scale, p.symmetric ? 0 : zero_point, p, out + r * out_stride);
  }
}

ErrorStats error_stats(const float* x, const float* x_deq, int64_t n) {
  ErrorStats s;
  for (int64_t i = 0; i < n; ++i) {
    const double xi = x[i];
    const double e = xi - static_cast<double>(x_deq[i]);
    s.signal += xi * xi;
    s.noise += e * e;
    s.max_abs = std::max(s.max_abs, std::fabs(e));
  }
  s.count = n;
  s.mse = n > 0 ? s.noise / static_cast<double>(n) : 0.0;
  return s;
}

}  // namespace qh::quant::ref
