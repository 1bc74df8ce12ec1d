#include "src/suite/convert.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "reports/metric_info.h"
#include "src/audit/attribution.h"
#include "src/core/error.h"
#include "src/engine/engine.h"

namespace qh::suite {

void check_fp_is_finite(const Model& model, const data::Dataset& data, int64_t window, const std::string& name) {
  if (data.sequences.empty()) return;
  const auto& seq = data.sequences.front();
  const int64_t limit = window > 0 ? window : model.spec.context;
  const int64_t T = std::min<int64_t>(static_cast<int64_t>(seq.size()), limit);
  if (T < 1) return;
  engine::check_finite_weights(model);
  engine::Engine fp(model, parse_scheme("FP32"));
  std::vector<float> logits(static_cast<size_t>(T * model.spec.vocab_size));
  fp.forward(seq.data(), T, logits.data());
  for (float v : logits)
    if (!std::isfinite(v)) require_finite_fp(NAN, name, data.spec);
}

void require_finite_fp(double nll_fp, const std::string& model, const std::string& data) {
  if (std::isfinite(nll_fp)) return;
  throw InputError("model " + model + " on data " + data +
                   ": the full-precision pass gives non-finite log-probabilities (its weights or activations "
                   "overflow float32); no metric of it would be a number");
}

reports::MetricMap metrics_from_eval(const eval::CaseResult& c) {
  const eval::EvalMetrics& m = c.metrics;
  reports::MetricMap out;
  out.set("ppl", m.ppl);
  out.set("ppl_fp", m.ppl_fp);
  out.set("delta_ppl", m.delta_ppl);
  out.set("ppl_ratio", m.ppl_ratio);
  out.set("nll", m.nll);
  out.set("nll_fp", m.nll_fp);
  out.set("kld_mean", m.kld_mean);
  out.set("kld_mean_se", m.kld_mean_se);
  out.set("kld_median", m.kld_median);
  out.set("kld_p90", m.kld_p90);
  out.set("kld_p99", m.kld_p99);
  out.set("kld_max", m.kld_max);
  out.set("top1_agree", m.top1_agree);
  out.set("delta_p_mean", m.delta_p_mean);
  out.set("sqnr_db", c.sqnr_db);
  if (m.has_oracle) {
    out.set("backcopy_risk", m.backcopy_risk);
    out.set("backcopy_risk_fp", m.backcopy_risk_fp);
    out.set("bigram_risk", m.bigram_risk);
    out.set("bigram_risk_fp", m.bigram_risk_fp);
    out.set("backcopy_acc", m.backcopy_acc);
    out.set("backcopy_acc_fp", m.backcopy_acc_fp);
  }
  const char* names[eval::kNumPosClasses] = {"kld_mean_first", "kld_mean_sink", "kld_mean_rest"};
  for (int k = 0; k < eval::kNumPosClasses; ++k) {
    out.set(names[k], m.by_class[k].n > 0 ? m.by_class[k].kld_mean : NAN);
  }
  out.set("n_tokens", static_cast<double>(m.n_tokens));
  return out;
}

reports::MetricMap metrics_from_task(const tasks::TaskCaseResult& c) {
  const nlohmann::json j = c.metrics.to_json();  // the one list of task metric names and values
  reports::MetricMap out;
  for (const std::string& name : reports::task_metrics()) {
    const nlohmann::json& v = j.at(name);
    out.set(name, v.is_number() ? v.get<double>() : NAN);
  }
  return out;
}

std::vector<std::pair<std::string, double>> site_sqnr_from_eval(const eval::CaseResult& c) {
  std::vector<std::pair<std::string, double>> out;
  for (int s = 0; s < kNumSites; ++s) out.emplace_back(to_string(static_cast<Site>(s)), c.site_sqnr_db[s]);
  return out;
}

reports::AuditSummary audit_summary(const audit::AuditResult& a) {
  reports::AuditSummary s;
  for (const auto& l : a.layers) {
    if (l.layer < 0) continue;  // the embeddings: the profile is per block
    s.residual_peak.push_back(l.residual_peak);
    s.residual_norm_sink.push_back(l.sink_norm);
    s.residual_norm_median.push_back(l.median_norm);
    s.kurtosis.push_back(l.kurtosis);
    s.max_abs.push_back(l.max_abs);
  }
  const size_t layers = static_cast<size_t>(std::max(0, a.num_layers));
  s.sink_mass.assign(layers, {});
  s.sink_key.assign(layers, {});
  s.dormant_frac.assign(layers, {});
  s.value_drain.assign(layers, {});
  for (const auto& h : a.heads) {
    if (h.layer < 0 || static_cast<size_t>(h.layer) >= layers) continue;
    s.sink_mass[h.layer].push_back(h.sink_mass);
    s.sink_key[h.layer].push_back(static_cast<int>(h.sink_key));
    s.dormant_frac[h.layer].push_back(h.dormant_frac);
    s.value_drain[h.layer].push_back(h.value_drain);
  }
  s.outlier_channels.assign(layers, {});
  for (const auto& site : a.sites) {
    if (site.layer < 0 || static_cast<size_t>(site.layer) >= layers) continue;
    std::set<int> merged(s.outlier_channels[site.layer].begin(), s.outlier_channels[site.layer].end());
    merged.insert(site.outlier_channels.begin(), site.outlier_channels.end());
    s.outlier_channels[site.layer].assign(merged.begin(), merged.end());
  }
  return s;
}

std::optional<double> degradation(const reports::CaseResult& c, const std::string& metric) {
  const auto v = c.metric(metric);
  if (!v) return std::nullopt;
  if (const auto fp = c.metric(metric + "_fp")) return *v - *fp;
  if (metric == "top1_agree") return 1.0 - *v;
  return *v;
}

void attach_attribution(reports::Results* r, const std::vector<std::string>& metrics) {
  for (auto& c : r->cases) {
    if (c.protection != "none") continue;
    c.attribution.clear();
    const auto* t = r->find_case(c.model, c.data, c.scheme, "tokens");
    const auto* ch = r->find_case(c.model, c.data, c.scheme, "channels");
    const auto* both = r->find_case(c.model, c.data, c.scheme, "both");
    if (!t || !ch || !both) continue;
    for (const auto& m : metrics) {
      const auto d0 = degradation(c, m), dt = degradation(*t, m), dc = degradation(*ch, m),
                 dtc = degradation(*both, m);
      if (!d0 || !dt || !dc || !dtc) continue;
      const audit::Shapley s = audit::shapley2(*d0, *dt, *dc, *dtc);
      reports::Attribution a;
      a.metric = m;
      a.phi_tokens = s.phi_tokens;
      a.phi_channels = s.phi_channels;
      a.rest = s.rest;
      a.total = s.total;
      a.share_tokens = s.share_tokens;
      a.share_channels = s.share_channels;
      a.share_rest = s.share_rest;
      c.attribution.push_back(a);
    }
  }
}

}  // namespace qh::suite
