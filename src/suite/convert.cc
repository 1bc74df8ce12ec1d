#include "src/suite/convert.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "reports/json_path.h"
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

namespace {

// The metrics of `source` read from one case's evaluator JSON through the metric table's field paths. A row
// the evaluator did not produce is an internal error (a metric suites may name but no case carries), except
// for the oracle's metrics, which exist only on bb: data, and null values (undefined numbers), which are NaN.
reports::MetricMap metrics_from_json(const nlohmann::json& j, bool task) {
  reports::MetricMap out;
  for (const reports::MetricInfo& m : reports::metric_table()) {
    if ((m.source == reports::MetricSource::kTask) != task) continue;
    const nlohmann::json* v = reports::find_path(j, m.path);
    if (!v && m.source == reports::MetricSource::kEvalOracle) continue;
    QH_CHECK(v != nullptr);  // a row whose field the evaluator does not write (tests/suite/metric_table_test.cc)
    QH_CHECK(v->is_number() || v->is_null());
    double value = v->is_number() ? v->get<double>() : NAN;
    if (*m.defined_if) {
      const nlohmann::json* n = reports::find_path(j, m.defined_if);
      QH_CHECK(n != nullptr && n->is_number());
      if (n->get<double>() <= 0) value = NAN;
    }
    out.set(m.name, value);
  }
  return out;
}

}  // namespace

reports::MetricMap metrics_from_eval(const eval::CaseResult& c) { return metrics_from_json(c.to_json(), false); }

reports::MetricMap metrics_from_task(const tasks::TaskCaseResult& c) { return metrics_from_json(c.to_json(), true); }

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
