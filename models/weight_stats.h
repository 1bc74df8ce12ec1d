// Per weight matrix statistics that predict quantization trouble (reported by `qharness inspect`):
// absmax, the ratio of the largest to the median per-output-channel absmax (rows are output channels in the
// canonical [out, in] layout), kurtosis E[(x-mu)^4] / sigma^4 over the whole matrix (3 for a Gaussian), and
// the count of non-finite values. Statistics other than the count are over the finite values, in double.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/model.h"

namespace qh {

struct WeightStats {
  std::string name;  // canonical (project / HF Llama) name
  std::vector<int64_t> shape;
  double absmax = 0;
  double channel_ratio = 0;  // max_r absmax(row r) / median_r absmax(row r); +inf when the median is 0
  double kurtosis = 0;       // 0 when the matrix is constant
  int64_t nonfinite = 0;
};

WeightStats weight_stats(const std::string& name, const Tensor& w);
// Every 2-D weight matrix of the model (embeddings, projections, MLP, untied lm_head), in layout order.
std::vector<WeightStats> model_weight_stats(const Model& m);

}  // namespace qh
