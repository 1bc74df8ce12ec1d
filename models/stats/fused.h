// Fused forms of the activation statistics (activations.h, sinks.h) for the audit's observer, which sees every
// residual stream, linear input and attention matrix of every window: two passes over each row (the row stays
// in L1), no allocation once the caller's scratch has grown, parallel over row blocks for large inputs.
// Each figure uses the formulas and medians of the pure functions; sums of per-row values are added in row order
// and counts are integers, so results do not depend on the thread count. Tested against the pure functions and
// against naive loops on random and adversarial data.
#pragma once

#include <cstdint>
#include <vector>

#include "models/stats/activations.h"
#include "models/stats/row_moments.h"

namespace qh::stats {

// One candidate of the massive-activation scan: |x| and its flat index in [T, d].
struct TopAbs {
  float abs;
  int64_t index;
};

// Per-call work buffers, reused between calls (one per caller; not shared between threads of callers).
struct FusedScratch {
  std::vector<float> abs;          // [blocks * (width + 16)] per-row medians' buffers; [T*d] for the median |x|
  std::vector<float> chan_max;     // [blocks * width]
  std::vector<int32_t> hits;       // [blocks * width] persistence hits of one call
  std::vector<RowMoments> rows;    // [T] per-row kurtosis, max |x| and persistence counts
  std::vector<TopAbs> top;         // [blocks * n] per-block best |x|
  std::vector<int> top_sizes;      // [blocks]
};

// One linear site's input over many windows (ARCHITECTURE.md 1.2): chan_max, persistence counts, kurtosis, max |x|.
struct ChannelStats {
  std::vector<float> chan_max;  // [K]: max_i |x[i][c]|
  std::vector<int64_t> hits;    // [K]: tokens with |x[i][c]| >= tau_p * median_j |x[i][j]|
  int64_t tokens = 0;
  double kurtosis_sum = 0;      // sum over tokens of row_kurtosis
  double max_abs = 0;
  float median_guess = 0;       // the last row median computed, where the next row's median search starts
  // Adds the T rows of x [T, K] (K must not change between calls).
  void add(const float* x, int64_t T, int64_t K, double tau_p, FusedScratch* scratch);
};

// One window of a residual stream h [T, d] (ARCHITECTURE.md 1.1-1.2).
struct ResidualWindow {
  std::vector<double> norms;                // [T] row L2 norms
  double kurtosis_sum = 0;                  // sum over rows of row_kurtosis
  double max_abs = 0;
  std::vector<MassiveActivation> massive;   // top-n |x| as massive_activations orders them; ratio left 0
};
void summarize_residual(const float* h, int64_t T, int64_t d, int n_massive, ResidualWindow* out,
                        FusedScratch* scratch);

// Median of |x| over all n entries of x, as massive_activations computes it (the ratio's denominator).
double median_abs(const float* x, int64_t n, FusedScratch* scratch);

// qh::median_in_place (src/core/median.h) with the counting kernel of small_median.h up to kSmallMedianMax
// values; may reorder them.
double median_in_place(double* v, int64_t n);

// Row kurtosis in float lanes combined in double (row_moments.h; the same population moments as row_kurtosis).
double row_kurtosis_fast(const float* row, int64_t d);

}  // namespace qh::stats
