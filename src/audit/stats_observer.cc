#include "src/audit/stats_observer.h"

#include <algorithm>
#include <cmath>

#include "models/stats/activations.h"
#include "src/core/median.h"

namespace qh::audit {

std::vector<float> head_factor(const float* wo, int64_t d_model, int64_t wo_cols, int64_t head, int64_t hd,
                               int64_t* rank) {
  const int64_t m = d_model, n = hd, r = std::min(m, n);
  std::vector<double> a(static_cast<size_t>(m * n));  // the slice, row-major [m, n]
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) a[i * n + j] = wo[i * wo_cols + head * hd + j];
  std::vector<double> v(static_cast<size_t>(m));
  for (int64_t j = 0; j < r; ++j) {
    // Householder reflection H = I - 2 u u^T / (u^T u) mapping column j below the diagonal to alpha e_j.
    double norm2 = 0;
    for (int64_t i = j; i < m; ++i) norm2 += a[i * n + j] * a[i * n + j];
    const double norm = std::sqrt(norm2);
    if (norm == 0.0) continue;  // the column is already zero below the diagonal
    const double alpha = a[j * n + j] > 0 ? -norm : norm;
    for (int64_t i = j; i < m; ++i) v[i] = a[i * n + j];
    v[j] -= alpha;
    double vv = 0;
    for (int64_t i = j; i < m; ++i) vv += v[i] * v[i];
    if (vv == 0.0) continue;
    for (int64_t k = j; k < n; ++k) {
      double dot = 0;
      for (int64_t i = j; i < m; ++i) dot += v[i] * a[i * n + k];
      const double f = 2.0 * dot / vv;
      for (int64_t i = j; i < m; ++i) a[i * n + k] -= f * v[i];
    }
  }
  std::vector<float> out(static_cast<size_t>(r * n), 0.0f);
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = i; j < n; ++j) out[i * n + j] = static_cast<float>(a[i * n + j]);
  *rank = r;
  return out;
}

StatsObserver::StatsObserver(const qh::Model& model, const AuditOptions& options)
    : model_(model), options_(options) {
  const ArchSpec& a = model.spec;
  layers_.resize(a.num_layers + 1);
  heads_.assign(a.num_layers, std::vector<HeadAcc>(a.num_heads));
  sites_.assign(a.num_layers, std::vector<stats::ChannelStats>(kNumSites));
  drain_.resize(a.num_layers);
  for (int l = 0; l < a.num_layers; ++l) {
    const Tensor& wo = model.layers[l].wo;
    drain_[l].resize(a.num_heads);
    for (int h = 0; h < a.num_heads; ++h) {
      int64_t rank = 0;
      const std::vector<float> r = head_factor(wo.ptr(), wo.rows(), wo.cols(), h, a.head_dim, &rank);
      drain_[l][h] = stats::ProjectedNorms(r.data(), rank, a.head_dim);
    }
  }
}

StatsObserver::~StatsObserver() = default;

void StatsObserver::begin_window(int64_t sequence, int64_t start, const uint8_t* domain) {
  sequence_ = sequence;
  start_ = start;
  domain_ = domain;
}

void StatsObserver::reserve(int64_t window) {
  for (auto& layer : heads_)
    for (HeadAcc& h : layer) h.column_sum.reserve(static_cast<size_t>(std::max<int64_t>(window, 0)));
}

namespace {
template <class T>
size_t held(const std::vector<T>& v) { return v.capacity() * sizeof(T); }
}  // namespace

size_t StatsObserver::bytes_held() const {
  size_t n = held(layers_) + held(heads_) + held(sites_) + held(drain_) + held(norms_);
  for (const LayerAcc& l : layers_) n += held(l.massive);
  for (const auto& layer : heads_) {
    n += held(layer);
    for (const HeadAcc& h : layer) n += held(h.column_sum);
  }
  for (const auto& layer : sites_) {
    n += held(layer);
    for (const stats::ChannelStats& s : layer) n += held(s.chan_max) + held(s.hits);
  }
  for (const auto& layer : drain_) {
    n += held(layer);
    for (const stats::ProjectedNorms& p : layer) n += p.bytes_held();
  }
  n += held(scratch_.abs) + held(scratch_.chan_max) + held(scratch_.hits) + held(scratch_.rows) +
       held(scratch_.top) + held(scratch_.top_sizes);
  return n + held(residual_.norms) + held(residual_.massive);
}

void StatsObserver::merge_massive(LayerAcc* acc, const float* h, int64_t T, int64_t d) {
  // Insert this window's candidates (already in massive order) after every kept entry with |value| >= theirs,
  // so ties keep the earlier window: the same as appending and stable-sorting. The window's median |x|, the
  // ratio's denominator, is computed only when one of its entries is kept.
  std::vector<MassiveEntry>& kept = acc->massive;
  bool entered = false;
  for (const stats::MassiveActivation& m : residual_.massive) {
    size_t pos = 0;
    while (pos < kept.size() && std::fabs(kept[pos].value) >= std::fabs(m.value)) ++pos;
    if (pos >= 3) break;  // the later candidates are no larger
    kept.insert(kept.begin() + pos, MassiveEntry{sequence_, start_ + m.token, m.channel, m.value, -1.0});
    if (kept.size() > 3) kept.pop_back();
    entered = true;
  }
  if (!entered) return;
  const double med = stats::median_abs(h, T * d, &scratch_);
  for (MassiveEntry& e : kept)
    if (e.ratio < 0) e.ratio = med > 0.0 ? std::fabs(e.value) / med : 0.0;
}

void StatsObserver::on_residual(int layer, const float* h, int64_t T, int64_t d) {
  LayerAcc& acc = layers_.at(layer + 1);
  stats::summarize_residual(h, T, d, 3, &residual_, &scratch_);
  if (T >= 2) {
    const double sink = residual_.norms[0];
    norms_.assign(residual_.norms.begin() + 1, residual_.norms.end());
    const double med = stats::median_in_place(norms_.data(), T - 1);
    acc.peak += med > 0.0 ? sink / med : 0.0;
    acc.sink_norm += sink;
    acc.median_norm += med;
    ++acc.windows;
  }
  acc.kurtosis_sum += residual_.kurtosis_sum;
  acc.tokens += T;
  acc.max_abs = std::max(acc.max_abs, residual_.max_abs);
  merge_massive(&acc, h, T, d);
}

void StatsObserver::on_attention(int layer, int head, const float* probs, int64_t T) {
  HeadAcc& acc = heads_.at(layer).at(head);
  if (T < 2) return;
  if (static_cast<int64_t>(acc.column_sum.size()) < T) acc.column_sum.resize(T, 0.0);
  double* cs = acc.column_sum.data();
  double sink = 0.0;
  const double threshold = options_.dormant_threshold;
  for (int64_t i = 1; i < T; ++i) {
    const float* row = probs + i * T;
    for (int64_t j = 0; j <= i; ++j) cs[j] += row[j];  // causal: keys j > i carry nothing
    sink += row[0];
    const int dom = domain_ && domain_[i] ? 1 : 0;
    ++acc.dormant.total[dom];
    acc.dormant.dormant[dom] += row[0] >= threshold;
  }
  acc.sink_sum += sink;
  acc.queries += T - 1;
}

void StatsObserver::on_virtual_sink(int layer, int head, const float* mass, int64_t T) {
  HeadAcc& acc = heads_.at(layer).at(head);
  for (int64_t i = 1; i < T; ++i) acc.virtual_sum += mass[i];
  acc.virtual_queries += std::max<int64_t>(T - 1, 0);
}

void StatsObserver::on_gate(int layer, int head, const float* gate, int64_t T, int64_t n, int64_t ld) {
  HeadAcc& acc = heads_.at(layer).at(head);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t c = 0; c < n; ++c) {
      const float g = gate[t * ld + c];
      acc.gate_sum += g;
      acc.gate_closed += g < kGateClosed;
    }
  acc.gate_count += T * n;
}

void StatsObserver::on_values(int layer, int head, const float* v, int64_t T, int64_t hd) {
  if (T < 2) return;
  HeadAcc& acc = heads_.at(layer).at(head);
  norms_.resize(static_cast<size_t>(T));
  drain_.at(layer).at(head).run(v, T, norms_.data());
  const double sink = norms_[0];
  const double med = stats::median_in_place(norms_.data() + 1, T - 1);
  acc.drain_sum += med > 0.0 ? sink / med : 0.0;
  ++acc.drain_windows;
}

void StatsObserver::on_site_input(int layer, Site site, const float* x, int64_t T, int64_t K) {
  if (!tracked(site)) return;
  sites_.at(layer).at(static_cast<int>(site)).add(x, T, K, options_.tau_persistence, &scratch_);
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
      if (acc.gate_count) {
        s.gate_mean = acc.gate_sum / acc.gate_count;
        s.gate_closed_frac = acc.gate_closed / acc.gate_count;
      }
      out->heads.push_back(s);
    }
  out->sites.clear();
  for (int l = 0; l < a.num_layers; ++l)
    for (int si = 0; si < kNumSites; ++si) {
      const stats::ChannelStats& acc = sites_[l][si];
      if (acc.tokens == 0) continue;
      SiteStats s;
      s.layer = l;
      s.site = static_cast<Site>(si);
      s.kurtosis = acc.kurtosis_sum / acc.tokens;
      s.max_abs = acc.max_abs;
      s.chan_max_median = qh::median(acc.chan_max);
      s.outlier_channels = stats::outlier_channels(acc.chan_max, options_.report_tau_channels);
      for (int c : s.outlier_channels) {
        s.outlier_chan_max.push_back(acc.chan_max[c]);
        s.outlier_persistence.push_back(double(acc.hits[c]) / acc.tokens);
      }
      s.top_channels = engine::protected_channels(acc.chan_max, options_.outliers);
      out->sites.push_back(std::move(s));
    }
}

}  // namespace qh::audit
