// AuditResult -> JSON with the ARCHITECTURE.md 2.7 names (sink_mass, sink_key, dormant_frac, value_drain,
// residual_peak, kurtosis, max_abs, outlier_channels; phi_tokens, ...). Each head's dormant_frac_split /
// queries_split are keyed by the split's labels (dormant_split: e.g. {"trigger": .., "non_trigger": ..}). Non-finite numbers (an SQNR of a site
// that was not quantized) become null, since JSON has no infinity.
#include <cmath>

#include "reports/json_io.h"
#include "src/audit/audit.h"

namespace qh::audit {
namespace {

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

nlohmann::json grid(const std::vector<std::vector<double>>& g) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& row : g) {
    nlohmann::json r = nlohmann::json::array();
    for (double v : row) r.push_back(num(v));
    out.push_back(r);
  }
  return out;
}

nlohmann::json per_site(const std::array<double, kNumSites>& v) {
  nlohmann::json o = nlohmann::json::object();
  for (int s = 0; s < kNumSites; ++s) o[to_string(static_cast<Site>(s))] = num(v[s]);
  return o;
}

}  // namespace

nlohmann::json AuditResult::to_json() const {
  nlohmann::json j;
  reports::put_schema_header(&j, "audit");  // the versioned header every JSON file of the harness starts with
  j["model"] = {{"architecture", architecture}, {"attention", attention}, {"norm", norm},
                {"mlp", mlp},                   {"positions", positions}, {"num_layers", num_layers},
                {"num_heads", num_heads},       {"d_model", d_model}};
  j["data"] = {{"spec", data_spec}, {"windows", windows}, {"tokens", tokens}, {"window", window}};
  j["options"] = {{"dormant_threshold", options.dormant_threshold},
                  {"report_tau_channels", options.report_tau_channels},
                  {"tau_persistence", options.tau_persistence},
                  {"tau_tokens", options.outliers.tau_tokens},
                  {"top_k_channels", options.outliers.top_k_channels},
                  {"tau_channels", options.outliers.tau_channels},
                  {"calib_sequences", options.outliers.calib_sequences},
                  {"attention_rows", options.attention_rows}};
  j["timing"] = {{"stats_seconds", stats_seconds}, {"total_seconds", total_seconds}};
  // How dormant_frac splits the queries, and the names its per-head breakdown uses.
  j["dormant_split"] = {{"by", dormant_split}, {"labels", dormant_labels}};
  if (dormant_split == "position") j["dormant_split"]["early_positions"] = options.early_positions;
  if (dormant_split == "token_class") j["dormant_split"]["query_class"] = options.query_class;
  j["fp"] = fp.to_json();
  nlohmann::json layers_j = nlohmann::json::array();
  for (const LayerStats& l : layers) {
    nlohmann::json m = nlohmann::json::array();
    for (const MassiveEntry& e : l.massive)
      m.push_back({{"sequence", e.sequence}, {"position", e.position}, {"channel", e.channel}, {"value", e.value},
                   {"ratio", num(e.ratio)}});
    layers_j.push_back({{"layer", l.layer},           {"residual_peak", num(l.residual_peak)},
                        {"sink_norm", l.sink_norm},   {"median_norm", l.median_norm},
                        {"kurtosis", num(l.kurtosis)}, {"max_abs", l.max_abs},
                        {"massive_activations", m}});
  }
  j["layers"] = layers_j;
  nlohmann::json heads_j = nlohmann::json::array();
  for (const HeadStats& h : heads) {
    nlohmann::json o = {{"layer", h.layer},
                        {"head", h.head},
                        {"sink_mass", h.sink_mass},
                        {"sink_key", h.sink_key},
                        {"sink_key_mass", h.sink_key_mass},
                        {"dormant_frac", h.dormant_frac},
                        {"dormant_frac_split", {{dormant_labels[0], h.dormant_frac_domain[0]},
                                                {dormant_labels[1], h.dormant_frac_domain[1]}}},
                        {"queries_split", {{dormant_labels[0], h.domain_queries[0]},
                                           {dormant_labels[1], h.domain_queries[1]}}},
                        {"value_drain", num(h.value_drain)}};
    if (h.virtual_sink_mass >= 0) o["virtual_sink_mass"] = h.virtual_sink_mass;
    if (h.gate_mean >= 0) {
      o["gate_mean"] = h.gate_mean;
      o["gate_closed_frac"] = h.gate_closed_frac;
    }
    heads_j.push_back(o);
  }
  j["heads"] = heads_j;
  nlohmann::json sites_j = nlohmann::json::array();
  for (const SiteStats& s : sites)
    sites_j.push_back({{"layer", s.layer},
                       {"site", to_string(s.site)},
                       {"kurtosis", num(s.kurtosis)},
                       {"max_abs", s.max_abs},
                       {"chan_max_median", s.chan_max_median},
                       {"outlier_channels", s.outlier_channels},
                       {"outlier_chan_max", s.outlier_chan_max},
                       {"outlier_persistence", s.outlier_persistence},
                       {"top_channels", s.top_channels}});
  j["sites"] = sites_j;
  nlohmann::json weights_j = nlohmann::json::array();
  for (const WeightStats& w : weights)
    weights_j.push_back({{"layer", w.layer},
                         {"site", to_string(w.site)},
                         {"max_abs", w.max_abs},
                         {"kurtosis", num(w.kurtosis)},
                         {"max_to_median", num(w.max_to_median)},
                         {"outlier_channels", w.outlier_in_channels}});
  j["weights"] = weights_j;
  nlohmann::json schemes_j = nlohmann::json::array();
  for (const SchemeAudit& s : schemes) {
    nlohmann::json o = {{"scheme", s.scheme}, {"metrics", s.metrics.to_json()}};
    o["sqnr_db"] = per_site(s.site_sqnr_total);
    nlohmann::json per_layer = nlohmann::json::array();
    for (const auto& l : s.site_sqnr_db) per_layer.push_back(per_site(l));
    o["sqnr_db_by_layer"] = per_layer;
    o["attn_kl"] = grid(s.attn_kl);
    o["sink_mass_quant"] = grid(s.sink_mass_quant);
    if (s.has_attribution) {
      static const char* kNames[4] = {"none", "tokens", "channels", "both"};
      nlohmann::json prot = nlohmann::json::object();
      for (int p = 0; p < 4; ++p) prot[kNames[p]] = s.protected_metrics[p].to_json();
      o["attribution"] = {{"protections", prot}, {"kld", s.kld.to_json()}, {"delta_ppl", s.delta_ppl.to_json()}};
      if (fp.has_oracle) o["attribution"]["excess_risk"] = s.excess_risk.to_json();
    }
    if (!s.layer_kld.empty())
      o["layer_sensitivity"] = {{"kld_mean", s.layer_kld}, {"delta_ppl", s.layer_delta_ppl}};
    if (s.has_site_sensitivity) o["site_sensitivity"] = {{"kld_mean", per_site(s.site_kld)}, {"delta_ppl", per_site(s.site_delta_ppl)}};
    schemes_j.push_back(o);
  }
  j["schemes"] = schemes_j;
  return j;
}

}  // namespace qh::audit
