#include "src/audit/stats_observer.h"

#include <algorithm>
#include <cmath>

#include "models/stats/activations.h"

namespace qh::audit {

std::vector<float> head_gram(const float* wo, int64_t d_model, int64_t wo_cols, int64_t head, int64_t hd) {
  std::vector<double> g(static_cast<size_t>(hd * hd), 0.0);
  for (int64_t r = 0; r < d_model; ++r) {
    const float* w = wo + r * wo_cols + head * hd;
    for (int64_t a = 0; a < hd; ++a)
      for (int64_t b = 0; b < hd; ++b) g[a * hd + b] += double(w[a]) * w[b];
  }
  return std::vector<float>(g.begin(), g.end());
}

double value_drain_gram(const float* values, int64_t T, int64_t hd, const float* gram) {
  if (T < 2) return 0.0;
  std::vector<double> norms(static_cast<size_t>(T));
  for (int64_t i = 0; i < T; ++i) {
    const float* v = values + i * hd;
    double s = 0.0;
    for (int64_t a = 0; a < hd; ++a) {
      float row = 0.0f;  // float inner loop vectorizes; the outer sum is double
      for (int64_t b = 0; b < hd; ++b) row += gram[a * hd + b] * v[b];
      s += double(v[a]) * row;
    }
    norms[i] = std::sqrt(std::max(s, 0.0));
  }
  const double sink = norms[0];
  norms.erase(norms.begin());
  const double med = stats::median(std::move(norms));
  return med > 0.0 ? sink / med : 0.0;
}

StatsObserver::StatsObserver(const qh::Model& model, const AuditOptions& options)
    : model_(model), options_(options) {
  const ArchSpec& a = model.spec;
  layers_.resize(a.num_layers + 1);
  heads_.assign(a.num_layers, std::vector<HeadAcc>(a.num_heads));
  sites_.assign(a.num_layers, std::vector<SiteAcc>(kNumSites));
  gram_.resize(a.num_layers);
  for (int l = 0; l < a.num_layers; ++l) {
    const Tensor& wo = model.layers[l].wo;
    for (int h = 0; h < a.num_heads; ++h)
      gram_[l].push_back(head_gram(wo.ptr(), wo.rows(), wo.cols(), h, a.head_dim));
  }
}

void StatsObserver::begin_window(int64_t sequence, int64_t start, const uint8_t* domain) {
  sequence_ = sequence;
  start_ = start;
  domain_ = domain;
}

void StatsObserver::on_residual(int layer, const float* h, int64_t T, int64_t d) {
  LayerAcc& acc = layers_.at(layer + 1);
  if (T >= 2) {
    std::vector<double> norms = stats::row_norms(h, T, d);
    const double sink = norms[0];
    norms.erase(norms.begin());
    const double med = stats::median(std::move(norms));
    acc.peak += med > 0.0 ? sink / med : 0.0;
    acc.sink_norm += sink;
    acc.median_norm += med;
    ++acc.windows;
  }
  acc.kurtosis_sum += stats::kurtosis(h, T, d) * T;
  acc.tokens += T;
  acc.max_abs = std::max(acc.max_abs, stats::max_abs(h, T, d));
  for (const stats::MassiveActivation& m : stats::massive_activations(h, T, d, 3))
    acc.massive.push_back({sequence_, start_ + m.token, m.channel, m.value, m.ratio});
  std::stable_sort(acc.massive.begin(), acc.massive.end(),
                   [](const MassiveEntry& a, const MassiveEntry& b) { return std::fabs(a.value) > std::fabs(b.value); });
  if (acc.massive.size() > 3) acc.massive.resize(3);
}

void StatsObserver::on_attention(int layer, int head, const float* probs, int64_t T) {
  HeadAcc& acc = heads_.at(layer).at(head);
  if (T < 2) return;
  acc.sink_sum += stats::sink_mass(probs, T, T) * double(T - 1);
  acc.queries += T - 1;
  if (static_cast<int64_t>(acc.column_sum.size()) < T) acc.column_sum.resize(T, 0.0);
  for (int64_t i = 1; i < T; ++i)
    for (int64_t j = 0; j <= i; ++j) acc.column_sum[j] += probs[i * T + j];
  acc.dormant.merge(stats::dormant_counts(probs, T, T, domain_, options_.dormant_threshold));
}

void StatsObserver::on_virtual_sink(int layer, int head, const float* mass, int64_t T) {
  HeadAcc& acc = heads_.at(layer).at(head);
  for (int64_t i = 1; i < T; ++i) acc.virtual_sum += mass[i];
  acc.virtual_queries += std::max<int64_t>(T - 1, 0);
}

void StatsObserver::on_values(int layer, int head, const float* v, int64_t T, int64_t hd) {
  if (T < 2) return;
  HeadAcc& acc = heads_.at(layer).at(head);
  acc.drain_sum += value_drain_gram(v, T, hd, gram_.at(layer).at(head).data());
  ++acc.drain_windows;
}

void StatsObserver::on_site_input(int layer, Site site, const float* x, int64_t T, int64_t K) {
  if (!tracked(site)) return;
  SiteAcc& acc = sites_.at(layer).at(static_cast<int>(site));
  stats::accumulate_channel_max(x, T, K, &acc.chan_max);
  stats::accumulate_persistence(x, T, K, options_.tau_persistence, &acc.hits, &acc.tokens);
  acc.kurtosis_sum += stats::kurtosis(x, T, K) * T;
  acc.max_abs = std::max(acc.max_abs, stats::max_abs(x, T, K));
}

void StatsObserver::finish(AuditResult* out) const {
  const ArchSpec& a = model_.spec;
  out->layers.clear();
  for (int l = -1; l < a.num_layers; ++l) {
    const LayerAcc& acc = layers_[l + 1];
    LayerStats s;
    s.layer = l;
    if (acc.windows) {
      s.residual_peak = acc.peak / acc.windows;
      s.sink_norm = acc.sink_norm / acc.windows;
      s.median_norm = acc.median_norm / acc.windows;
    }
    if (acc.tokens) s.kurtosis = acc.kurtosis_sum / acc.tokens;
    s.max_abs = acc.max_abs;
    s.massive = acc.massive;
    out->layers.push_back(std::move(s));
  }
  out->heads.clear();
  for (int l = 0; l < a.num_layers; ++l)
    for (int h = 0; h < a.num_heads; ++h) {
      const HeadAcc& acc = heads_[l][h];
      HeadStats s;
      s.layer = l;
      s.head = h;
      if (acc.queries) {
        s.sink_mass = acc.sink_sum / acc.queries;
        const auto top = std::max_element(acc.column_sum.begin(), acc.column_sum.end());
        s.sink_key = top - acc.column_sum.begin();
        s.sink_key_mass = *top / acc.queries;
      }
      s.dormant_frac = acc.dormant.fraction_all();
      for (int k = 0; k < 2; ++k) {
        s.dormant_frac_domain[k] = acc.dormant.fraction(k);
        s.domain_queries[k] = acc.dormant.total[k];
      }
      if (acc.drain_windows) s.value_drain = acc.drain_sum / acc.drain_windows;
      if (acc.virtual_queries) s.virtual_sink_mass = acc.virtual_sum / acc.virtual_queries;
      out->heads.push_back(s);
    }
  out->sites.clear();
  for (int l = 0; l < a.num_layers; ++l)
    for (int si = 0; si < kNumSites; ++si) {
      const SiteAcc& acc = sites_[l][si];
      if (acc.tokens == 0) continue;
      SiteStats s;
      s.layer = l;
      s.site = static_cast<Site>(si);
      s.kurtosis = acc.kurtosis_sum / acc.tokens;
      s.max_abs = acc.max_abs;
      s.chan_max_median = stats::median(std::vector<double>(acc.chan_max.begin(), acc.chan_max.end()));
      s.outlier_channels = stats::outlier_channels(acc.chan_max, options_.tau_channels);
      for (int c : s.outlier_channels) {
        s.outlier_chan_max.push_back(acc.chan_max[c]);
        s.outlier_persistence.push_back(double(acc.hits[c]) / acc.tokens);
      }
      s.top_channels = stats::outlier_channels(acc.chan_max, options_.tau_channels, 2);
      out->sites.push_back(std::move(s));
    }
}

}  // namespace qh::audit
