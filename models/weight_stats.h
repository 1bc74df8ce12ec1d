// Per weight matrix statistics that predict quantization trouble (reported by `qharness inspect`):
// absmax, the ratio of the largest to the median per-output-channel absmax (rows are output channels in the
// canonical [out, in] layout), the kurtosis (weight_kurtosis) and the count of non-finite values. Statistics
// other than the count are over the finite values, in double.
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
  double kurtosis = 0;       // weight_kurtosis
  int64_t nonfinite = 0;
};

// The kurtosis of a weight matrix, the one definition `inspect` and the audit report (ARCHITECTURE.md 1.2): the
// mean over output rows of E[(w-mu)^4] / sigma^4 with the row's population moments over its finite values
// (3 for Gaussian rows; a constant row counts 0; rows with no finite value are left out). Per row, like the
// activations' per-token kurtosis, because each output row gets its own scale under per-channel quantization.
double weight_kurtosis(const Tensor& w);

WeightStats weight_stats(const std::string& name, const Tensor& w);
// Every 2-D weight matrix of the model (embeddings, projections, MLP, untied lm_head), in layout order.
std::vector<WeightStats> model_weight_stats(const Model& m);

}  // namespace qh
