// Every metric a case can carry, in one table (reports/metric_info.cc): its name, whether a larger value is
// worse (kld_mean, delta_ppl) or better (top1_agree, sqnr_db), its label in tables, its unit, and where the
// evaluator puts it (a field path in eval::CaseResult::to_json() or tasks::TaskCaseResult::to_json()).
// Suite validation, the conversion of evaluation results (src/suite/convert.cc), results.json, baseline
// checks and the report writers all read this table: adding a metric is adding one row.
// tests/suite/metric_table_test.cc checks that the evaluator produces every row.
#pragma once

#include <string>
#include <vector>

namespace qh::reports {

enum class Direction { kLowerIsBetter, kHigherIsBetter };

// Which evaluation produces a metric, and so which cases carry it.
enum class MetricSource {
  kEval,        // the perplexity evaluator (src/eval), every case on bb:/tokens:/text: data
  kEvalOracle,  // the same, only on bb: data (the BB oracle's excess risks and backcopy accuracy)
  kTask,        // the task scorer (src/tasks), cases on task: data
};

struct MetricInfo {
  const char* name;      // ARCHITECTURE.md 2.7 key in results.json
  Direction direction;
  const char* label;     // short column title: "Δppl", "KLD mean", "top-1 agree", ...
  const char* unit;      // "nats", "dB", "points", "fraction", ... ("" for plain ratios)
  MetricSource source;
  const char* path;      // field path (reports/json_path.h) in the evaluator's JSON of one case
  const char* defined_if = "";  // a count's field path: the metric is NaN when that count is 0 ("": always)
  int headline = 0;      // position in the summary tables (1, 2, ...); 0: not a headline metric
};

// The table, in the order cases carry their metrics (results.json, CSV columns).
const std::vector<MetricInfo>& metric_table();
// The row of `metric`, or nullptr for a name not in the table.
const MetricInfo* find_metric(const std::string& metric);

// Direction of a metric. Names not in the table are treated as lower-is-better (a degradation measure).
Direction metric_direction(const std::string& metric);

// Whether `metric` is in the table (suites naming anything else are rejected), and all names in table order.
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
// Whether a metric exists only on bb: data (the oracle's metrics).
bool needs_oracle(const std::string& metric);

// Short column title: "Δppl", "KLD mean", "top-1 agree", ...; the name itself for names not in the table.
std::string metric_label(const std::string& metric);

// True when `value` is worse than `reference` by more than the allowed slack (slack >= 0).
bool is_worse(const std::string& metric, double value, double reference, double slack);

}  // namespace qh::reports
