// The persistence test's float bounds (ARCHITECTURE.md 1.2: a hit is |x[c]| >= tau_p * median |x|, compared in double),
// shared by the row-moments kernel (row_moments.cc) and the median / persistence kernels (row_median.cc). Each
// bound is moved by a relative 1e-6 in the safe direction, far more than the roundings of the double threshold
// and of the bound itself, so a test decided against a bound is decided exactly as against the threshold.
#pragma once

#include <cstdint>
#include <cstring>

namespace qh::stats::detail {

// One float step towards 0 / towards +inf for a finite float >= 0 (> 0 for the step down), by its bits: the
// library's nextafter is an out-of-line call, too slow for once per row.
inline float step_down(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  --bits;
  std::memcpy(&f, &bits, sizeof bits);
  return f;
}
inline float step_up(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  ++bits;
  std::memcpy(&f, &bits, sizeof bits);
  return f;
}

// persistence_bound(rmax, tau_p) as a product: rmax * factor, factor >= (1 + 1e-6) / tau_p, rounded up to a
// float. factor and the product each round down by at most 2^-53, far less than the margin, so the result is
// never below rmax / tau_p (the exclusion test's requirement) and at most about 1e-6 above it.
inline double persistence_factor(double tau_p) { return (1.0 + 1e-6) / tau_p; }
// The other side: a float <= max_abs / tau_p by a relative 1e-6 or more (factor_down = (1 - 1e-6) / tau_p).
inline double persistence_factor_down(double tau_p) { return (1.0 - 1e-6) / tau_p; }
inline float bound_down_from(float max_abs, double factor_down) {
  const double exact_down = double(max_abs) * factor_down;
  const float b = static_cast<float>(exact_down);
  return double(b) <= exact_down ? b : step_down(b);  // here b > exact_down >= 0
}
inline float bound_from(float max_abs, double factor) {
  const double exact_up = double(max_abs) * factor;
  const float b = static_cast<float>(exact_up);
  // Rounding to nearest may land below the product: then one float step up (b < exact_up, so b is finite).
  return double(b) >= exact_up ? b : step_up(b);
}

}  // namespace qh::stats::detail
