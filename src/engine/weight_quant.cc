#include "src/engine/weight_quant.h"

#include <algorithm>
#include <string>

#include "src/core/error.h"
#include "quant/quantize.h"

namespace qh::engine {

namespace {

// Scales (and zero points) for `rows` rows of `cols` values; per_tensor treats the block as one row.
void block_scales(const float* w, int64_t rows, int64_t cols, bool per_tensor, const QuantSpec& spec,
                  float* scales, int32_t* zps) {
  const quant::RowParams p = quant::row_params(spec);
  const int64_t r = per_tensor ? 1 : rows, c = per_tensor ? rows * cols : cols;
  std::vector<float> s(r);
  std::vector<int32_t> z(r, 0);
  if (spec.clip_mode == ClipMode::kMse) {
    quant::RowParams full = p;
    full.clip = 1.0f;
    quant::mse_clip_rows(w, r, c, c, full, spec.mse_grid, spec.mse_min_clip, s.data(), z.data(), nullptr);
  } else if (spec.symmetric) {
    std::vector<float> amax(r);
    quant::row_absmax(w, r, c, c, amax.data());
    for (int64_t i = 0; i < r; ++i) quant::scale_from_absmax(amax[i], p, &s[i]);
  } else {
    std::vector<float> lo(r), hi(r);
    quant::row_minmax(w, r, c, c, lo.data(), hi.data());
    for (int64_t i = 0; i < r; ++i) quant::scale_from_minmax(lo[i], hi[i], p, &s[i], &z[i]);
  }
  for (int64_t i = 0; i < rows; ++i) {
    scales[i] = per_tensor ? s[0] : s[i];
    zps[i] = per_tensor ? z[0] : z[i];
  }
}

}  // namespace

void weight_scales(const float* w, int64_t N, int64_t K, const QuantSpec& spec,
                   const std::vector<int64_t>& segments, float* scales, int32_t* zps) {
  QH_CHECK(spec.granularity != Granularity::kGroup);
  const bool per_tensor = spec.granularity == Granularity::kPerTensor;
  const std::vector<int64_t> segs = segments.empty() ? std::vector<int64_t>{N} : segments;
  int64_t row = 0;
  for (int64_t n : segs) {
    block_scales(w + row * K, n, K, per_tensor, spec, scales + row, zps + row);
    row += n;
  }
  QH_CHECK(row == N);
}

QuantizedWeights quantize_weights(const float* w, int64_t N, int64_t K, const QuantSpec& spec,
                                  const std::vector<int64_t>& segments) {
  QH_CHECK(spec.enabled());
  QuantizedWeights out;
  out.dequant.assign(N * K, 0.0f);
  const quant::RowParams p = quant::row_params(spec);
  if (spec.granularity == Granularity::kGroup) {
    // Groups along K: fake-quant only (no per-group scales in the int8 GEMM); fixed clip.
    if (spec.group_size <= 0 || K % spec.group_size != 0)
      throw InputError("weight group size " + std::to_string(spec.group_size) + " does not divide the input width " +
                       std::to_string(K));
    quant::fake_quant_groups(w, N, K, K, spec.group_size, p, out.dequant.data(), K);
    return out;
  }
  std::vector<float> scales(N);
  std::vector<int32_t> zps(N, 0);
  weight_scales(w, N, K, spec, segments, scales.data(), zps.data());
  if (spec.symmetric) {
    out.has_codes = true;
    out.codes.assign(N * K, 0);
    quant::quantize_rows_sym(w, N, K, K, scales.data(), spec.bits, out.codes.data(), K);
    quant::dequantize_rows_sym(out.codes.data(), N, K, K, scales.data(), out.dequant.data(), K);
    out.scales = std::move(scales);
  } else {
    std::vector<uint8_t> codes(N * K);
    quant::quantize_rows_asym(w, N, K, K, scales.data(), zps.data(), spec.bits, codes.data(), K);
    quant::dequantize_rows_asym(codes.data(), N, K, K, scales.data(), zps.data(), out.dequant.data(), K);
  }
  return out;
}

}  // namespace qh::engine
