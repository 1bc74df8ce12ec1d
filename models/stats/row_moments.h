// Per-row moments of the audit's hot loop (fused.h), as one Highway kernel per block of rows (dynamic dispatch
// over the compiled targets): each row is read twice while it sits in L1, once for its sum, max |x| and the
// column maxima, once for the central moments of its kurtosis and the counts that let the persistence test skip
// the row's median.
//
// The moments are summed in float lanes (at most 8 wide, so every target adds in nearly the same order) and
// combined per row; maxima and counts are exact, equal to the scalar reference on every target (tested), and
// the kurtosis is within about 1e-6 of double accumulation (tested against row_kurtosis and the reference), for a
// quarter of the work. The sum of squares (row norms) accumulates in double lanes.
#pragma once

#include <cstdint>

namespace qh::stats {

struct RowMoments {
  double kurtosis = 0;  // m4 / m2^2 of the population central moments; 0 for a constant row
  float max_abs = 0;    // max_c |x[c]|
  int32_t at_most = 0;  // entries with |x[c]| <= bound, bound = rmax / tau_p rounded up (see below); 0 if not counted
  int32_t zeros = 0;    // entries equal to 0; 0 if not counted
  double sumsq = 0;     // sum_c x[c]^2 in double; 0 if not asked for
};

// The persistence bound of a row: a float >= max_abs / tau_p (relative margin 1e-6, so rounding only ever
// makes the exclusion test in fused.cc compute a median it could have skipped).
float persistence_bound(float max_abs, double tau_p);

// For each of the T rows of x [T, K] (row stride K): out[i]. col_max (nullable) [K] is raised to the rows'
// |x| column maxima. The counts are taken only when tau_p > 0, the sum of squares only when sumsq.
void row_moments(const float* x, int64_t T, int64_t K, double tau_p, float* col_max, RowMoments* out,
                 bool sumsq = false);
// Scalar reference: sums in 8 lanes combined in double, one entry at a time.
void row_moments_reference(const float* x, int64_t T, int64_t K, double tau_p, float* col_max, RowMoments* out,
                           bool sumsq = false);

}  // namespace qh::stats
