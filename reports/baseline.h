// Regression checks of a run against a baseline run (a committed results.json): for every case present in
// the baseline and every checked metric, the new value may be worse by at most abs + rel * |baseline value|.
// Used by `qharness run --baseline` (verdicts of kind "baseline") and `qharness compare OLD NEW`.
#pragma once

#include <string>
#include <vector>

#include "reports/results.h"

namespace qh::reports {

struct Tolerance {
  double abs = 0;  // absolute slack in the metric's unit
  double rel = 0;  // relative slack, a fraction of |baseline value|
  double slack(double reference) const;
};

struct BaselineOptions {
  std::vector<std::string> metrics = {"kld_mean", "delta_ppl", "top1_agree"};  // checked when present
  Tolerance tolerance{1e-3, 0.05};                                               // default for every metric
  std::vector<std::pair<std::string, Tolerance>> per_metric;                   // overrides
  bool require_all_cases = true;  // a baseline case missing from the run is a failed check
  const Tolerance& tolerance_for(const std::string& metric) const;
};

// One verdict per (baseline case, metric), plus one per missing case when require_all_cases.
// Cases of the run that the baseline does not have are not checked (new cases are not regressions).
std::vector<Verdict> check_against_baseline(const Results& baseline, const Results& current,
                                            const BaselineOptions& options);

// A metric of one case in both runs, for the reports' delta tables.
struct MetricDelta {
  std::string case_key, model, scheme, protection, metric;
  double old_value = 0, new_value = 0;
  double delta() const { return new_value - old_value; }
};
std::vector<MetricDelta> metric_deltas(const Results& old_run, const Results& new_run,
                                       const std::vector<std::string>& metrics);

}  // namespace qh::reports
