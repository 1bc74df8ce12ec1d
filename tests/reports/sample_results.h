// A small hand-made Results used by the report tests: two models, two schemes, one protected case, an
// attribution, an audit and three verdicts (one failed).
#pragma once

#include "reports/results.h"

namespace qh::reports::testing {

inline CaseResult make_case(const std::string& model, const std::string& scheme, const std::string& protection,
                            double kld, double dppl, double top1) {
  CaseResult c;
  c.model = model;
  c.data = "bb:seed=7,seqs=4,len=32";
  c.scheme = scheme;
  c.protection = protection;
  c.metrics.set("ppl_fp", 4.0);
  c.metrics.set("ppl", 4.0 + dppl);
  c.metrics.set("delta_ppl", dppl);
  c.metrics.set("kld_mean", kld);
  c.metrics.set("top1_agree", top1);
  c.site_sqnr_db = {{"q", 30.5}, {"down", 12.25}};
  return c;
}

inline Results sample_results() {
  Results r;
  r.suite = "sample";
  r.created_utc = "2026-01-01T00:00:00Z";
  r.environment.git_revision = "abc123";
  r.environment.cpu = "Test CPU";
  r.environment.onednn_isa = "avx512_core_vnni";
  r.environment.threads = 2;
  r.environment.versions = {{"onednn", "2.6.3"}};
  r.cases.push_back(make_case("bb-softmax", "W8A8", "none", 0.01, 0.05, 0.99));
  r.cases.push_back(make_case("bb-softmax", "W4A4", "none", 0.5, 1.5, 0.8));
  r.cases.push_back(make_case("bb-relu", "W8A8", "none", 0.005, 0.02, 0.995));
  r.cases.push_back(make_case("bb-relu", "W4A4", "none", 0.2, 0.6, 0.9));
  r.cases.push_back(make_case("bb-softmax", "W4A4", "both", 0.1, 0.3, 0.95));
  Attribution a;
  a.metric = "kld_mean";
  a.phi_tokens = 0.3;
  a.phi_channels = 0.1;
  a.rest = 0.1;
  a.total = 0.5;
  a.share_tokens = 0.6;
  a.share_channels = 0.2;
  a.share_rest = 0.2;
  r.cases[1].attribution.push_back(a);
  r.cases[1].audit.residual_peak = {2.0, 40.0};
  r.cases[1].audit.sink_mass = {{0.5, 0.25}, {0.9, 0.75}};
  r.cases[1].audit.sink_key = {{0, 0}, {0, 3}};
  r.cases[1].audit.kurtosis = {3.5, 120.0};
  r.cases[1].audit.max_abs = {5.0, 80.0};
  r.cases[1].audit.outlier_channels = {{}, {7, 11}};
  r.verdicts.push_back({"threshold W8A8 bb-softmax kld_mean <= 0.05", VerdictKind::kThreshold, true,
                        "kld_mean = 0.01 <= 0.05", 0.01, 0.05});
  r.verdicts.push_back({"threshold W4A4 bb-softmax kld_mean <= 0.3", VerdictKind::kThreshold, false,
                        "kld_mean = 0.5 > 0.3", 0.5, 0.3});
  r.verdicts.push_back({"expect bb-relu better than bb-softmax under W4A4 (kld_mean)", VerdictKind::kExpectation, true,
                        "bb-relu 0.2 < bb-softmax 0.5", 0.2, 0.5});
  return r;
}

}  // namespace qh::reports::testing
