// One number per model from the full-precision outlier audit, so that suites can state the BB paper's claims
// as checks: ReLU attention removes the attention sink (sink_mass), SGD removes the residual-state peak
// (residual_peak). These summarise AuditSummary (per layer / per head) and are the same for every case of a
// model and data, whatever the scheme. All are lower-is-better in the sense of "less extreme".
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "reports/results.h"

namespace qh::reports {

// sink_mass_max / sink_mass_mean: max / mean over layers and heads of sink_mass[l][h];
// residual_peak_max: max over layers of residual_peak[l]; dormant_frac_mean: mean of dormant_frac[l][h].
const std::vector<std::string>& audit_metric_names();
bool is_audit_metric(const std::string& name);

// The value, or nullopt when the audit was not run (or has no finite entry for it). NaN entries (undefined,
// e.g. a head that never scored a query) are skipped.
std::optional<double> audit_metric(const AuditSummary& audit, const std::string& name);

// A case's metric by name: the evaluator's metrics first, then the audit summaries above.
std::optional<double> case_value(const CaseResult& c, const std::string& name);

}  // namespace qh::reports
