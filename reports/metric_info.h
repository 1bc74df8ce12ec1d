// What a metric name means for a verdict: whether a larger value is worse (kld_mean, delta_ppl) or better
// (top1_agree, sqnr_db), and how it is labelled in tables. One table, shared by thresholds, expectations,
// baseline checks and the report writers.
#pragma once

#include <string>
#include <vector>

namespace qh::reports {

enum class Direction { kLowerIsBetter, kHigherIsBetter };

// Direction of a ARCHITECTURE.md 2.7 metric. Unknown names are treated as lower-is-better (a degradation measure).
Direction metric_direction(const std::string& metric);

// Whether `metric` is one of the names the evaluator produces (ARCHITECTURE.md 2.7). Used to reject typos in suites.
bool is_known_metric(const std::string& metric);
const std::vector<std::string>& known_metrics();

// The metrics the summary tables show, in order, when present in the results.
const std::vector<std::string>& headline_metrics();

// Task accuracy (src/tasks): cases whose data is "task:<file>" carry the task metrics (acc, acc_norm, their
// standard errors, acc_fp / acc_norm_fp of the fp pass, acc_drop / acc_norm_drop in points with their paired
// 95% interval _lo / _hi and McNemar p-value _p, n_items) instead of the perplexity ones.
inline constexpr const char* kTaskDataPrefix = "task:";
bool is_task_data(const std::string& data);
bool is_task_metric(const std::string& metric);
const std::vector<std::string>& task_metrics();

// Short column title: "Δppl", "KLD mean", "top-1 agree", ...
std::string metric_label(const std::string& metric);

// True when `value` is worse than `reference` by more than the allowed slack (slack >= 0).
bool is_worse(const std::string& metric, double value, double reference, double slack);

}  // namespace qh::reports
