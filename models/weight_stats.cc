#include "models/weight_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "models/tensor_layout.h"
#include "src/core/median.h"

namespace qh {

double weight_kurtosis(const Tensor& w) {
  const int64_t rows = w.rows(), cols = w.cols();
  double sum_kurtosis = 0;
  int64_t counted = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = w.row(r);
    double sum = 0;
    int64_t n = 0;
    for (int64_t c = 0; c < cols; ++c) {
      if (std::isfinite(x[c])) {
        sum += x[c];
        ++n;
      }
    }
    if (n == 0) continue;
    const double mean = sum / static_cast<double>(n);
    double m2 = 0, m4 = 0;
    for (int64_t c = 0; c < cols; ++c) {
      if (!std::isfinite(x[c])) continue;
      const double d = x[c] - mean, d2 = d * d;
      m2 += d2;
      m4 += d2 * d2;
    }
    m2 /= static_cast<double>(n);
    m4 /= static_cast<double>(n);
    sum_kurtosis += m2 > 0 ? m4 / (m2 * m2) : 0.0;
    ++counted;
  }
  return counted ? sum_kurtosis / static_cast<double>(counted) : 0.0;
}

WeightStats weight_stats(const std::string& name, const Tensor& w) {
  WeightStats s;
  s.name = name;
  s.shape = w.shape;
  const int64_t rows = w.rows(), cols = w.cols();
  std::vector<double> row_absmax(static_cast<size_t>(rows), 0.0);
  int64_t n = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = w.row(r);
    for (int64_t c = 0; c < cols; ++c) {
      if (!std::isfinite(x[c])) {
        ++s.nonfinite;
        continue;
      }
      row_absmax[r] = std::max(row_absmax[r], std::fabs(static_cast<double>(x[c])));
      ++n;
    }
  }
  if (n == 0) return s;
  s.kurtosis = weight_kurtosis(w);
  s.absmax = *std::max_element(row_absmax.begin(), row_absmax.end());
  const double median = qh::median(row_absmax);
  s.channel_ratio = median > 0 ? s.absmax / median
                               : (s.absmax > 0 ? std::numeric_limits<double>::infinity() : 0.0);
  return s;
}

std::vector<WeightStats> model_weight_stats(const Model& m) {
  Model& view = const_cast<Model&>(m);  // canonical_layout only points into the model; nothing is written
  std::vector<WeightStats> out;
  if (static_cast<int>(m.layers.size()) != m.spec.num_layers) return out;
  for (const TensorSlot& slot : canonical_layout(m.spec, &view)) {
    if (slot.ignore || slot.shape.size() != 2 || slot.targets[0]->empty()) continue;
    out.push_back(weight_stats(slot.name, *slot.targets[0]));
  }
  return out;
}

}  // namespace qh
