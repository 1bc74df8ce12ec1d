#include "models/stats/activations.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "models/stats/sinks.h"
#include "src/core/median.h"

namespace qh::stats {

std::vector<float> channel_max(const float* x, int64_t T, int64_t d) {
  std::vector<float> acc;
  accumulate_channel_max(x, T, d, &acc);
  return acc;
}

void accumulate_channel_max(const float* x, int64_t T, int64_t d, std::vector<float>* acc) {
  if (acc->empty()) acc->assign(static_cast<size_t>(d), 0.0f);
  for (int64_t i = 0; i < T; ++i)
    for (int64_t c = 0; c < d; ++c) (*acc)[c] = std::max((*acc)[c], std::fabs(x[i * d + c]));
}

std::vector<int> outlier_channels(const std::vector<float>& chan_max, double tau_c, int top_k) {
  std::vector<int> order(chan_max.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return chan_max[a] > chan_max[b]; });
  if (top_k > 0) {
    order.resize(std::min(order.size(), static_cast<size_t>(top_k)));
    return order;
  }
  const double med = qh::median(chan_max);
  std::vector<int> out;
  for (int c : order) {
    // A zero median (mostly-dead site) would make every non-zero channel an outlier: report none.
    if (med > 0.0 && chan_max[c] >= tau_c * med) out.push_back(c);
  }
  return out;
}

void accumulate_persistence(const float* x, int64_t T, int64_t d, double tau_p, std::vector<int64_t>* hits,
                            int64_t* tokens) {
  if (hits->empty()) hits->assign(static_cast<size_t>(d), 0);
  if (d == 0) {
    *tokens += T;
    return;
  }
  // One scratch row reused for every token: this runs on every site input of every window, so no per-row
  // allocation.
  std::vector<float> abs_row(static_cast<size_t>(d));
  for (int64_t i = 0; i < T; ++i) {
    for (int64_t c = 0; c < d; ++c) abs_row[c] = std::fabs(x[i * d + c]);
    const double thr = tau_p * qh::median_in_place(abs_row.data(), d);
    for (int64_t c = 0; c < d; ++c)
      if (std::fabs(x[i * d + c]) >= thr && thr > 0.0) ++(*hits)[c];
  }
  *tokens += T;
}

std::vector<double> persistence(const float* x, int64_t T, int64_t d, double tau_p) {
  std::vector<int64_t> hits;
  int64_t tokens = 0;
  accumulate_persistence(x, T, d, tau_p, &hits, &tokens);
  std::vector<double> out(static_cast<size_t>(d), 0.0);
  for (int64_t c = 0; c < d; ++c) out[c] = tokens ? double(hits[c]) / tokens : 0.0;
  return out;
}

double row_kurtosis(const float* row, int64_t d) {
  if (d < 1) return 0.0;
  double mu = 0.0;
  for (int64_t c = 0; c < d; ++c) mu += row[c];
  mu /= d;
  double m2 = 0.0, m4 = 0.0;
  for (int64_t c = 0; c < d; ++c) {
    const double e = row[c] - mu, e2 = e * e;
    m2 += e2;
    m4 += e2 * e2;
  }
  m2 /= d;
  m4 /= d;
  return m2 > 0.0 ? m4 / (m2 * m2) : 0.0;
}

double kurtosis(const float* x, int64_t T, int64_t d) {
  if (T < 1) return 0.0;
  double s = 0.0;
  for (int64_t i = 0; i < T; ++i) s += row_kurtosis(x + i * d, d);
  return s / T;
}

double max_abs(const float* x, int64_t T, int64_t d) {
  double m = 0.0;
  for (int64_t i = 0; i < T * d; ++i) m = std::max(m, double(std::fabs(x[i])));
  return m;
}

std::vector<MassiveActivation> massive_activations(const float* x, int64_t T, int64_t d, int n) {
  const int64_t count = T * d;
  std::vector<MassiveActivation> out;
  if (count == 0 || n <= 0) return out;
  std::vector<int64_t> idx(static_cast<size_t>(count));
  std::iota(idx.begin(), idx.end(), 0);
  const int64_t k = std::min<int64_t>(n, count);
  // Row-major index order equals (token, channel) order, so ties resolve to the lower token, then channel.
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int64_t a, int64_t b) {
    const float fa = std::fabs(x[a]), fb = std::fabs(x[b]);
    return fa != fb ? fa > fb : a < b;
  });
  std::vector<double> abs_all(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) abs_all[i] = std::fabs(x[i]);
  const double med = qh::median(std::move(abs_all));
  for (int64_t r = 0; r < k; ++r) {
    MassiveActivation m;
    m.token = idx[r] / d;
    m.channel = idx[r] % d;
    m.value = x[idx[r]];
    m.ratio = med > 0.0 ? std::fabs(m.value) / med : 0.0;
    out.push_back(m);
  }
  return out;
}

}  // namespace qh::stats
