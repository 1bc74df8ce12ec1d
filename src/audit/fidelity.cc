#include "src/audit/fidelity.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "models/stats/sinks.h"

namespace qh::audit {

std::vector<int64_t> kept_rows(int64_t T, int64_t max_rows) {
  std::vector<int64_t> out;
  const int64_t n = std::min(T - 1, max_rows);
  for (int64_t k = 0; k < n; ++k) out.push_back(1 + k * (T - 1) / n);
  return out;
}

double attention_row_kl(const float* p, const float* q, int64_t n) {
  double sp = 0.0, sq = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    sp += p[i];
    sq += q[i];
  }
  if (!(sp > 0.0) || !(sq > 0.0)) return 0.0;
  double kl = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    if (p[i] <= 0.0f) continue;
    const double pi = p[i] / sp, qi = std::max(q[i] / sq, 1e-30);
    kl += pi * (std::log(pi) - std::log(qi));
  }
  return std::max(kl, 0.0);
}

AttentionCapture::AttentionCapture(int num_layers, int num_heads, int64_t max_rows)
    : max_rows_(max_rows), rows_(num_layers, std::vector<std::vector<float>>(num_heads)) {}

void AttentionCapture::on_attention(int layer, int head, const float* probs, int64_t T) {
  if (T != T_) {
    T_ = T;
    kept_ = kept_rows(T, max_rows_);
  }
  std::vector<float>& dst = rows_[layer][head];
  dst.resize(kept_.size() * T);
  for (size_t k = 0; k < kept_.size(); ++k)
    std::copy(probs + kept_[k] * T, probs + (kept_[k] + 1) * T, dst.data() + k * T);
}

void AttentionCapture::reserve(int64_t window) {
  const size_t n = kept_rows(window, max_rows_).size() * static_cast<size_t>(std::max<int64_t>(window, 0));
  for (auto& layer : rows_)
    for (std::vector<float>& head : layer) head.reserve(n);
}

size_t AttentionCapture::bytes_held() const {
  size_t n = kept_.capacity() * sizeof(int64_t);
  for (const auto& layer : rows_)
    for (const std::vector<float>& head : layer) n += head.capacity() * sizeof(float);
  return n;
}

FidelityObserver::FidelityObserver(int num_layers, int num_heads)
    : kl_sum_(num_layers, std::vector<double>(num_heads, 0.0)),
      sink_sum_(num_layers, std::vector<double>(num_heads, 0.0)),
      kl_n_(num_layers, std::vector<int64_t>(num_heads, 0)),
      sink_n_(num_layers, std::vector<int64_t>(num_heads, 0)),
      err_(num_layers),
      seen_(num_layers) {
  for (auto& s : seen_) s.fill(false);
}

void FidelityObserver::on_attention(int layer, int head, const float* probs, int64_t T) {
  if (T < 2) return;
  sink_sum_[layer][head] += stats::sink_mass(probs, T, T) * double(T - 1);
  sink_n_[layer][head] += T - 1;
  if (!fp_ || fp_->T() != T) return;
  const std::vector<float>& ref = fp_->rows(layer, head);
  const std::vector<int64_t>& kept = fp_->kept();
  if (ref.size() != kept.size() * static_cast<size_t>(T)) return;
  for (size_t k = 0; k < kept.size(); ++k) {
    // Causal rows: only keys 0..i carry probability.
    kl_sum_[layer][head] += attention_row_kl(ref.data() + k * T, probs + kept[k] * T, kept[k] + 1);
    ++kl_n_[layer][head];
  }
}

size_t FidelityObserver::bytes_held() const {
  size_t n = 0;
  for (size_t l = 0; l < kl_sum_.size(); ++l)
    n += (kl_sum_[l].capacity() + sink_sum_[l].capacity()) * sizeof(double) +
         (kl_n_[l].capacity() + sink_n_[l].capacity()) * sizeof(int64_t);
  return n + err_.capacity() * sizeof(err_[0]) + seen_.capacity() * sizeof(seen_[0]);
}

void FidelityObserver::on_site_error(int layer, Site site, const quant::ErrorStats& error) {
  err_.at(layer)[static_cast<int>(site)].merge(error);
  seen_.at(layer)[static_cast<int>(site)] = true;
}

std::vector<std::vector<double>> FidelityObserver::mean_kl() const {
  auto out = kl_sum_;
  for (size_t l = 0; l < out.size(); ++l)
    for (size_t h = 0; h < out[l].size(); ++h) out[l][h] = kl_n_[l][h] ? kl_sum_[l][h] / kl_n_[l][h] : 0.0;
  return out;
}

std::vector<std::vector<double>> FidelityObserver::sink_mass() const {
  auto out = sink_sum_;
  for (size_t l = 0; l < out.size(); ++l)
    for (size_t h = 0; h < out[l].size(); ++h) out[l][h] = sink_n_[l][h] ? sink_sum_[l][h] / sink_n_[l][h] : 0.0;
  return out;
}

std::vector<std::array<double, kNumSites>> FidelityObserver::site_sqnr_db() const {
  std::vector<std::array<double, kNumSites>> out(err_.size());
  for (size_t l = 0; l < err_.size(); ++l)
    for (int s = 0; s < kNumSites; ++s)
      out[l][s] = seen_[l][s] ? err_[l][s].sqnr_db() : std::numeric_limits<double>::infinity();
  return out;
}

std::array<double, kNumSites> FidelityObserver::site_sqnr_total() const {
  std::array<double, kNumSites> out;
  for (int s = 0; s < kNumSites; ++s) {
    quant::ErrorStats total;
    bool any = false;
    for (size_t l = 0; l < err_.size(); ++l) {
      total.merge(err_[l][s]);
      any |= seen_[l][s];
    }
    out[s] = any ? total.sqnr_db() : std::numeric_limits<double>::infinity();
  }
  return out;
}

}  // namespace qh::audit
