// Outlier statistics of ARCHITECTURE.md 1.2 (Qiu et al.; Bondarenko et al.; Sun et al.): residual-sink channels,
// their persistence, kurtosis, max |x| and massive activations. Pure functions on x [T, d] row-major
// (row = token, column = channel); accumulation in double.
#pragma once

#include <cstdint>
#include <vector>

namespace qh::stats {

// chan_max[c] = max_i |x[i][c]|.
std::vector<float> channel_max(const float* x, int64_t T, int64_t d);
// Running form for several sequences: acc[c] = max(acc[c], max_i |x[i][c]|); acc resized to d if empty.
void accumulate_channel_max(const float* x, int64_t T, int64_t d, std::vector<float>* acc);

// Outlier channels: c with chan_max[c] >= tau_c * median_c chan_max (tau_c > 0; default 20), sorted by
// descending chan_max (ties: lower channel). With top_k > 0 instead: the top_k channels by chan_max.
std::vector<int> outlier_channels(const std::vector<float>& chan_max, double tau_c = 20.0, int top_k = 0);

// persistence[c] = fraction of tokens i with |x[i][c]| >= tau_p * median_j |x[i][j]|, for each channel.
// As counts so sequences can be accumulated: hits[c] += ..., *tokens += T.
void accumulate_persistence(const float* x, int64_t T, int64_t d, double tau_p, std::vector<int64_t>* hits,
                            int64_t* tokens);
std::vector<double> persistence(const float* x, int64_t T, int64_t d, double tau_p);

// Kurtosis of one row: E[(x-mu)^4] / sigma^4 (population moments). Constant row: 0.
double row_kurtosis(const float* row, int64_t d);
// Mean over tokens of row_kurtosis.
double kurtosis(const float* x, int64_t T, int64_t d);
// max |x| over all entries.
double max_abs(const float* x, int64_t T, int64_t d);

// Massive activations: the top-n |x| entries (token, channel, value) with ratio = |value| / median |x| over
// all entries. Ordered by descending |value|; ties by lower token then lower channel.
struct MassiveActivation {
  int64_t token = 0;
  int64_t channel = 0;
  float value = 0.0f;
  double ratio = 0.0;
};
std::vector<MassiveActivation> massive_activations(const float* x, int64_t T, int64_t d, int n = 3);

}  // namespace qh::stats
