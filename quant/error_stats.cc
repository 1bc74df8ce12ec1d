// ErrorStats helpers: SQNR in dB and merging of blocks (the SIMD error_stats itself is in quantize.cc).
#include <cmath>
#include <limits>

#include "quant/quantize.h"

namespace qh::quant {

double ErrorStats::sqnr_db() const {
  if (noise == 0.0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal / noise);
}

void ErrorStats::merge(const ErrorStats& other) {
  signal += other.signal;
  noise += other.noise;
  max_abs = std::max(max_abs, other.max_abs);
  count += other.count;
  mse = count > 0 ? noise / static_cast<double>(count) : 0.0;
}

}  // namespace qh::quant
