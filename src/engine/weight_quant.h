// Weight quantization of a linear layer, done once when an engine is built (ARCHITECTURE.md 1.5): round-to-nearest-even
// codes with scales from the full weight row (per channel), the whole tensor (per tensor; per segment when
// several projections are fused into one matrix) or groups along K; fixed clip or MSE clip search.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "quant/scheme.h"

namespace qh::engine {

struct QuantizedWeights {
  bool has_codes = false;       // symmetric per-channel / per-tensor: integer codes usable by an int8 GEMM
  std::vector<int8_t> codes;    // [N, K] when has_codes
  std::vector<float> scales;    // [N] when has_codes (per-tensor scales repeated per row)
  std::vector<float> dequant;   // [N, K] deq(q(W)), always
};

// w [N, K] row-major. segments: row counts of fused projections (sum N); empty = one segment.
QuantizedWeights quantize_weights(const float* w, int64_t N, int64_t K, const QuantSpec& spec,
                                  const std::vector<int64_t>& segments);

// The scales (and zero points) quantize_weights uses for per-channel / per-tensor granularity: scales[N],
// zps[N] (per-tensor scales repeated per row of each segment). Not for group granularity.
void weight_scales(const float* w, int64_t N, int64_t K, const QuantSpec& spec,
                   const std::vector<int64_t>& segments, float* scales, int32_t* zps);

// A replacement for quantize_weights (a post-training method such as GPTQ), with the same contract.
using WeightQuantizer = std::function<QuantizedWeights(const float* w, int64_t N, int64_t K,
                                                       const QuantSpec& spec, const std::vector<int64_t>& segments)>;

}  // namespace qh::engine
