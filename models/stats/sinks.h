// Extreme-token statistics of ARCHITECTURE.md 1.1 (Guo et al.): attention sinks, active/dormant heads, value-state
// drains, residual-state peaks. Pure functions on plain arrays; accumulation in double.
// Attention probabilities are one head's [T, T] causal matrix with row stride ld (row i = query i).
#pragma once

#include <cstdint>
#include <vector>

namespace qh::stats {

// Mean over query positions i >= 1 of probs[i*ld + key] (queries i < key see 0 there, causally).
// T < 2: 0.
double sink_mass(const float* probs, int64_t T, int64_t ld, int64_t key = 0);

// Mean attention each key receives from the queries i >= 1 (length T). column_mass[j] = mean_i probs[i][j].
std::vector<double> column_mass(const float* probs, int64_t T, int64_t ld);

// The key with the largest mean attention over queries i >= 1 (ties: lowest key). T < 2: 0.
int64_t top_sink_key(const float* probs, int64_t T, int64_t ld);

// Active/dormant profile: a query i >= 1 is dormant when probs[i][key] >= threshold (default 0.89, the
// reference's cut-off). Counts are split by a per-query domain mask (BB: 1 = x_i is a trigger) so several
// sequences can be accumulated before dividing.
struct DormantCounts {
  int64_t dormant[2] = {0, 0};  // by domain 0 / 1
  int64_t total[2] = {0, 0};
  double fraction(int domain) const { return total[domain] ? double(dormant[domain]) / total[domain] : 0.0; }
  double fraction_all() const {
    const int64_t t = total[0] + total[1];
    return t ? double(dormant[0] + dormant[1]) / t : 0.0;
  }
  void merge(const DormantCounts& o) {
    for (int k = 0; k < 2; ++k) { dormant[k] += o.dormant[k]; total[k] += o.total[k]; }
  }
};
// domain may be nullptr (every query in domain 0); otherwise domain[i] in {0, 1}.
DormantCounts dormant_counts(const float* probs, int64_t T, int64_t ld, const uint8_t* domain,
                             double threshold = 0.89, int64_t key = 0);

// ||h_pos|| / median_{i != pos} ||h_i|| over the T rows of h [T, d]. T < 2 or median 0: 0.
double residual_peak(const float* h, int64_t T, int64_t d, int64_t pos = 0);

// ||W_O,h v_0|| / median_{i >= 1} ||W_O,h v_i||, where W_O,h is columns [head*hd, (head+1)*hd) of wo
// [d_model, wo_cols] and values is that head's [T, hd]. T < 2 or median 0: 0.
double value_drain(const float* values, int64_t T, int64_t hd, const float* wo, int64_t d_model,
                   int64_t wo_cols, int64_t head);

// Row L2 norms of x [T, d] in double.
std::vector<double> row_norms(const float* x, int64_t T, int64_t d);

}  // namespace qh::stats
