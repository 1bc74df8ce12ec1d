#include "models/train/probes.h"

#include <algorithm>

#include "models/stats/sinks.h"

namespace qh::train {

nlohmann::json ProbeStats::to_json() const {
  nlohmann::json j;
  j["residual_peak"] = residual_peak;
  nlohmann::json heads = nlohmann::json::array();
  for (size_t l = 0; l < head.size(); ++l)
    for (size_t h = 0; h < head[l].size(); ++h) {
      const HeadProbe& p = head[l][h];
      heads.push_back({{"layer", l},
                       {"head", h},
                       {"sink_mass", p.sink_mass},
                       {"sink_mass_nontrigger", p.sink_mass_nontrigger},
                       {"sink_mass_trigger", p.sink_mass_trigger},
                       {"dormant_frac", p.dormant_frac},
                       {"value_drain", p.value_drain},
                       {"virtual_sink_mass", p.virtual_sink_mass}});
    }
  j["heads"] = heads;
  return j;
}

double ProbeStats::max_sink_mass_nontrigger() const {
  double best = 0;
  for (const auto& layer : head)
    for (const auto& p : layer) best = std::max(best, p.sink_mass_nontrigger);
  return best;
}

double ProbeStats::max_residual_peak() const {
  double best = 0;
  for (double r : residual_peak) best = std::max(best, r);
  return best;
}

ProbeStats probe_stats(const Model& m, const Activations& acts, const std::vector<uint8_t>& trigger) {
  const int64_t B = acts.B, T = acts.T, d = m.spec.d_model, H = m.spec.num_heads, hd = m.spec.head_dim,
                ld = H * hd, L = static_cast<int64_t>(m.layers.size());
  ProbeStats out;
  out.residual_peak.assign(L, 0.0);
  out.head.assign(L, std::vector<HeadProbe>(H));
  std::vector<float> values(T * hd);
  for (int64_t l = 0; l < L; ++l) {
    const std::vector<float>& resid = l + 1 < L ? acts.layers[l + 1].x_in : acts.x_final;
    const LayerCache& c = acts.layers[l];
    for (int64_t b = 0; b < B; ++b) {
      out.residual_peak[l] += stats::residual_peak(resid.data() + b * T * d, T, d) / B;
      const uint8_t* dom = trigger.empty() ? nullptr : trigger.data() + b * T;
      for (int64_t h = 0; h < H; ++h) {
        const float* probs = c.probs.data() + (b * H + h) * T * T;
        HeadProbe& p = out.head[l][h];
        p.sink_mass += stats::sink_mass(probs, T, T) / B;
        const stats::DormantCounts dc = stats::dormant_counts(probs, T, T, dom);
        p.dormant_frac += dc.fraction_all() / B;
        for (int64_t i = 0; i < T; ++i)
          for (int64_t k = 0; k < hd; ++k) values[i * hd + k] = c.v[(b * T + i) * ld + h * hd + k];
        p.value_drain += stats::value_drain(values.data(), T, hd, m.layers[l].wo.ptr(), d, ld, h) / B;
      }
    }
    // Sink mass split by query domain, pooled over all sequences; and the mass on the learnable sink.
    for (int64_t h = 0; h < H; ++h) {
      double sum[2] = {0, 0}, virt = 0;
      int64_t n[2] = {0, 0}, nall = 0;
      for (int64_t b = 0; b < B; ++b) {
        const float* probs = c.probs.data() + (b * H + h) * T * T;
        for (int64_t i = 1; i < T; ++i) {
          const int dom = trigger.empty() ? 0 : trigger[b * T + i];
          sum[dom] += probs[i * T];
          ++n[dom];
          double row = 0;
          for (int64_t j = 0; j <= i; ++j) row += probs[i * T + j];
          virt += 1.0 - row;
          ++nall;
        }
      }
      HeadProbe& p = out.head[l][h];
      p.sink_mass_nontrigger = n[0] ? sum[0] / n[0] : 0.0;
      p.sink_mass_trigger = n[1] ? sum[1] / n[1] : 0.0;
      if (m.spec.attn.kind == AttnKind::kSink) p.virtual_sink_mass = nall ? virt / nall : 0.0;
    }
  }
  return out;
}

}  // namespace qh::train
