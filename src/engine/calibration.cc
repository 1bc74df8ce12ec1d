// Protections (ARCHITECTURE.md 1.6) and the calibration statistics they and static activation scales need.
// The outlier-channel rule itself is the audit's (models/stats/activations.h), so that the channels a report
// lists and the channels a protection keeps follow one definition.
#include <algorithm>
#include <cmath>

#include "models/stats/activations.h"
#include "src/core/error.h"
#include "src/core/median.h"
#include "src/engine/engine.h"

namespace qh::engine {

std::string Protection::name() const {
  if (tokens && channels) return "both";
  if (tokens) return "tokens";
  if (channels) return "channels";
  return "none";
}

Protection parse_protection(const std::string& text) {
  Protection p;
  if (text == "none" || text.empty()) return p;
  if (text == "tokens" || text == "T") {
    p.tokens = true;
  } else if (text == "channels" || text == "C") {
    p.channels = true;
  } else if (text == "both" || text == "TC") {
    p.tokens = p.channels = true;
  } else {
    throw InputError("protection '" + text + "': expected none, tokens, channels or both");
  }
  return p;
}

CalibrationObserver::CalibrationObserver(int num_layers) {
  calib_.sites.assign(num_layers, std::vector<SiteCalibration>(kNumSites));
  calib_.kv.assign(num_layers, KvCalibration{});
}

void CalibrationObserver::on_kv(int layer, const float* k, const float* v, int64_t kv_heads, int64_t T,
                                int64_t hd) {
  KvCalibration& c = calib_.kv.at(layer);
  if (c.k_min.empty()) {
    for (auto* r : {&c.k_min, &c.k_max, &c.v_min, &c.v_max}) r->assign(kv_heads, 0.0f);
  }
  QH_CHECK(static_cast<int64_t>(c.k_min.size()) == kv_heads);
  for (int64_t h = 0; h < kv_heads; ++h)
    for (int64_t t = 0; t < T; ++t) {
      if (mask_ && mask_[t]) continue;  // protected tokens keep their K/V in full precision
      for (int64_t i = 0; i < hd; ++i) {
        const float kv_k = k[(h * T + t) * hd + i], kv_v = v[(h * T + t) * hd + i];
        c.k_min[h] = std::min(c.k_min[h], kv_k);
        c.k_max[h] = std::max(c.k_max[h], kv_k);
        c.v_min[h] = std::min(c.v_min[h], kv_v);
        c.v_max[h] = std::max(c.v_max[h], kv_v);
      }
    }
}

bool needs_calibration(const Scheme& scheme, const Protection& protection) {
  const bool static_acts = scheme.activations.enabled() && scheme.activations.granularity == Granularity::kPerTensor;
  const bool static_kv = scheme.kv.enabled() && scheme.kv.granularity == Granularity::kPerTensor;
  return protection.channels || static_acts || static_kv;
}

void CalibrationObserver::on_site_input(int layer, Site site, const float* x, int64_t T, int64_t K) {
  SiteCalibration& c = calib_.sites.at(layer).at(static_cast<int>(site));
  if (c.col_absmax.empty()) {
    c.col_absmax.assign(K, 0.0f);
    c.col_min.assign(K, 0.0f);
    c.col_max.assign(K, 0.0f);
  }
  QH_CHECK(static_cast<int64_t>(c.col_absmax.size()) == K);
  for (int64_t t = 0; t < T; ++t) {
    const float* r = x + t * K;
    const bool unprotected = !(mask_ && mask_[t]);
    for (int64_t k = 0; k < K; ++k) {
      c.col_absmax[k] = std::max(c.col_absmax[k], std::fabs(r[k]));
      if (unprotected) {
        c.col_min[k] = std::min(c.col_min[k], r[k]);
        c.col_max[k] = std::max(c.col_max[k], r[k]);
      }
    }
  }
  if (layer == 0 && site == Site::kQ) calib_.rows += T;
}

void ResidualNormObserver::on_residual(int layer, const float* h, int64_t T, int64_t d) {
  // Eight partial sums per token in double, added pairwise at the end: independent adds the compiler can put
  // in vector lanes (the order differs from one running sum by rounding only: float norms agree to an ulp).
  constexpr int64_t kLanes = 8;
  std::vector<float> n(T);
  for (int64_t t = 0; t < T; ++t) {
    const float* r = h + t * d;
    double s[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= d; i += kLanes)
      for (int64_t k = 0; k < kLanes; ++k) s[k] += static_cast<double>(r[i + k]) * r[i + k];
    for (; i < d; ++i) s[0] += static_cast<double>(r[i]) * r[i];
    const double total = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    n[t] = static_cast<float>(std::sqrt(total));
  }
  norms_.push_back(std::move(n));
}

std::vector<uint8_t> ResidualNormObserver::sink_tokens(float tau) const {
  if (norms_.empty()) return {};
  const int64_t T = static_cast<int64_t>(norms_[0].size());
  std::vector<uint8_t> mask(T, 0);
  mask[0] = 1;
  for (const auto& n : norms_) {
    const double limit = static_cast<double>(tau) * qh::median(n);
    for (int64_t t = 1; t < T; ++t)
      if (n[t] > limit) mask[t] = 1;
  }
  return mask;
}

std::vector<int> protected_channels(const std::vector<float>& col_absmax, const OutlierSettings& o) {
  std::vector<int> out;
  if (o.tau_channels > 0) {
    out = stats::outlier_channels(col_absmax, o.tau_channels);
  } else if (o.top_k_channels > 0) {
    out = stats::outlier_channels(col_absmax, 0.0, o.top_k_channels);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Calibration calibrate(Engine& fp, const std::vector<std::vector<int32_t>>& sequences, size_t count, int64_t window,
                      const OutlierSettings& o) {
  const ArchSpec& a = fp.model().spec;
  CalibrationObserver cal(a.num_layers);
  const size_t n = std::min({count, sequences.size(), static_cast<size_t>(std::max(o.calib_sequences, 1))});
  std::vector<float> logits;
  for (size_t s = 0; s < n; ++s) {
    const std::vector<int32_t>& seq = sequences[s];
    const int64_t T = std::min<int64_t>(window, static_cast<int64_t>(seq.size()));
    if (T <= 0) continue;
    logits.resize(static_cast<size_t>(T * a.vocab_size));
    ResidualNormObserver norms;
    fp.forward(seq.data(), T, logits.data(), &norms);
    const std::vector<uint8_t> mask = norms.sink_tokens(o.tau_tokens);
    cal.set_protected_rows(mask.data());
    fp.forward(seq.data(), T, logits.data(), &cal);
    cal.set_protected_rows(nullptr);
  }
  return cal.result();
}

}  // namespace qh::engine
