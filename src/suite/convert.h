// Conversion of the evaluator's and the audit's results into the plain report structs (reports/results.h),
// and the attribution of each scheme's degradation from its four protection cases.
#pragma once

#include <string>
#include <vector>

#include "reports/results.h"
#include "src/audit/audit.h"
#include "src/eval/evaluator.h"
#include "src/tasks/task_eval.h"

namespace qh::suite {

// The full-precision model must give finite log-probabilities: weights that are finite but huge (3e38) overflow
// float32 in the fp pass, and every number derived from it would be NaN. InputError naming the model and data.
// (A quantized case that overflows while the fp pass does not is a finding: its metrics stay NaN and every
// check on them fails.) check_fp_is_finite runs one fp window (the first `window` tokens of the first
// sequence; 0: the context) before the evaluation; require_finite_fp checks the evaluation's fp NLL after it.
void check_fp_is_finite(const Model& model, const data::Dataset& data, int64_t window, const std::string& name);
void require_finite_fp(double nll_fp, const std::string& model, const std::string& data);

// The metric table's rows (reports/metric_info.h), in its order, read from the case's evaluator JSON by their
// field paths: the perplexity metrics of an evaluated case (the oracle's only on bb: data), the task metrics of
// one case on one task. Undefined numbers (null in that JSON, a position class without tokens) are NaN.
reports::MetricMap metrics_from_eval(const eval::CaseResult& c);
reports::MetricMap metrics_from_task(const tasks::TaskCaseResult& c);
std::vector<std::pair<std::string, double>> site_sqnr_from_eval(const eval::CaseResult& c);
reports::AuditSummary audit_summary(const audit::AuditResult& a);

// The degradation D = metric(quant) - metric(fp) of one case: m - m_fp when the case has "<m>_fp" (ppl,
// backcopy_risk, ...), 1 - m for top1_agree, else m itself (kld_*, delta_ppl, which are already differences).
std::optional<double> degradation(const reports::CaseResult& c, const std::string& metric);

// For every protection "none" case whose tokens / channels / both siblings exist: the Shapley split per
// metric (metrics missing in any of the four are skipped). Replaces existing attributions.
void attach_attribution(reports::Results* r, const std::vector<std::string>& metrics);

}  // namespace qh::suite
