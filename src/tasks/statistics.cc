#include "src/tasks/statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "src/core/error.h"

namespace qh::tasks {

Accuracy accuracy(const std::vector<uint8_t>& correct) {
  Accuracy a;
  a.n = static_cast<int64_t>(correct.size());
  if (a.n == 0) return a;
  double sum = 0;
  for (uint8_t c : correct) sum += c ? 1.0 : 0.0;
  a.mean = sum / static_cast<double>(a.n);
  if (a.n < 2) {
    a.stderr_ = std::numeric_limits<double>::quiet_NaN();
    return a;
  }
  double ss = 0;
  for (uint8_t c : correct) ss += ((c ? 1.0 : 0.0) - a.mean) * ((c ? 1.0 : 0.0) - a.mean);
  a.stderr_ = std::sqrt(ss / static_cast<double>(a.n - 1)) / std::sqrt(static_cast<double>(a.n));
  return a;
}

double mcnemar_exact_p(int64_t b, int64_t c) {
  const int64_t m = b + c;
  if (m == 0) return 1.0;
  const int64_t k = std::min(b, c);
  // P[X <= k] for X ~ Binomial(m, 1/2), summed in log space (m may be in the thousands).
  double tail = 0;
  for (int64_t i = 0; i <= k; ++i) {
    const double log_term = std::lgamma(static_cast<double>(m) + 1) - std::lgamma(static_cast<double>(i) + 1) -
                            std::lgamma(static_cast<double>(m - i) + 1) - static_cast<double>(m) * std::log(2.0);
    tail += std::exp(log_term);
  }
  return std::min(1.0, 2.0 * tail);
}

PairedDrop paired_drop(const std::vector<uint8_t>& fp, const std::vector<uint8_t>& quant) {
  QH_CHECK(fp.size() == quant.size());
  PairedDrop d;
  d.n = static_cast<int64_t>(fp.size());
  for (size_t i = 0; i < fp.size(); ++i) {
    d.fp_only += fp[i] && !quant[i] ? 1 : 0;
    d.quant_only += !fp[i] && quant[i] ? 1 : 0;
  }
  d.p_mcnemar = mcnemar_exact_p(d.fp_only, d.quant_only);
  if (d.n == 0) {
    d.drop = d.lo = d.hi = std::numeric_limits<double>::quiet_NaN();
    return d;
  }
  const double n = static_cast<double>(d.n), b = static_cast<double>(d.fp_only), c = static_cast<double>(d.quant_only);
  const double z = 1.959963984540054;
  const double diff = (b - c) / n;
  const double se = std::sqrt(std::max(0.0, b + c - (b - c) * (b - c) / n)) / n;
  d.drop = 100.0 * diff;
  d.lo = 100.0 * (diff - z * se);
  d.hi = 100.0 * (diff + z * se);
  return d;
}

}  // namespace qh::tasks
