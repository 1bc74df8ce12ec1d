#include "models/stats/sinks.h"

#include <algorithm>
#include <cmath>

#include "src/core/error.h"
#include "src/core/median.h"

namespace qh::stats {

double sink_mass(const float* probs, int64_t T, int64_t ld, int64_t key) {
  if (T < 2) return 0.0;
  QH_CHECK(key >= 0 && key < T);
  double sum = 0.0;
  for (int64_t i = 1; i < T; ++i) sum += probs[i * ld + key];
  return sum / static_cast<double>(T - 1);
}

std::vector<double> column_mass(const float* probs, int64_t T, int64_t ld) {
  std::vector<double> mass(static_cast<size_t>(std::max<int64_t>(T, 0)), 0.0);
  if (T < 2) return mass;
  for (int64_t i = 1; i < T; ++i)
    for (int64_t j = 0; j <= i; ++j) mass[j] += probs[i * ld + j];  // causal: keys j > i carry nothing
  for (double& m : mass) m /= static_cast<double>(T - 1);
  return mass;
}

int64_t top_sink_key(const float* probs, int64_t T, int64_t ld) {
  if (T < 2) return 0;
  const std::vector<double> mass = column_mass(probs, T, ld);
  return std::max_element(mass.begin(), mass.end()) - mass.begin();  // first maximum: lowest key
}

DormantCounts dormant_counts(const float* probs, int64_t T, int64_t ld, const uint8_t* domain, double threshold,
                             int64_t key) {
  DormantCounts c;
  for (int64_t i = std::max<int64_t>(1, key); i < T; ++i) {
    const int dom = domain ? (domain[i] ? 1 : 0) : 0;
    ++c.total[dom];
    if (probs[i * ld + key] >= threshold) ++c.dormant[dom];
  }
  return c;
}

std::vector<double> row_norms(const float* x, int64_t T, int64_t d) {
  std::vector<double> n(static_cast<size_t>(T));
  for (int64_t i = 0; i < T; ++i) {
    double s = 0.0;
    for (int64_t c = 0; c < d; ++c) s += double(x[i * d + c]) * x[i * d + c];
    n[i] = std::sqrt(s);
  }
  return n;
}

double residual_peak(const float* h, int64_t T, int64_t d, int64_t pos) {
  if (T < 2) return 0.0;
  QH_CHECK(pos >= 0 && pos < T);
  std::vector<double> norms = row_norms(h, T, d);
  const double peak = norms[pos];
  norms.erase(norms.begin() + pos);
  const double med = qh::median(std::move(norms));
  return med > 0.0 ? peak / med : 0.0;
}

double value_drain(const float* values, int64_t T, int64_t hd, const float* wo, int64_t d_model, int64_t wo_cols,
                   int64_t head) {
  if (T < 2) return 0.0;
  QH_CHECK((head + 1) * hd <= wo_cols);
  std::vector<double> norms(static_cast<size_t>(T));
  for (int64_t i = 0; i < T; ++i) {
    const float* v = values + i * hd;
    double s = 0.0;
    for (int64_t r = 0; r < d_model; ++r) {
      const float* w = wo + r * wo_cols + head * hd;
      double y = 0.0;
      for (int64_t c = 0; c < hd; ++c) y += double(w[c]) * v[c];
      s += y * y;
    }
    norms[i] = std::sqrt(s);
  }
  const double sink = norms[0];
  norms.erase(norms.begin());
  const double med = qh::median(std::move(norms));
  return med > 0.0 ? sink / med : 0.0;
}

}  // namespace qh::stats
