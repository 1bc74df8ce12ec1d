// The task-accuracy tables of the reports, as papers print them: one row per model x scheme (and the model's
// fp row first), one column per task, and the average over the tasks. Computed once here, rendered by the
// Markdown and HTML writers; also the header lines saying how the numbers were measured.
#pragma once

#include <string>
#include <vector>

#include "reports/results.h"

namespace qh::reports {

struct TaskTable {
  std::vector<std::string> tasks;  // task names (file stems), in first-seen order
  struct Row {
    std::string model, scheme;       // scheme "fp" for the full-precision row
    std::vector<double> values;      // per task; NaN when not measured
    std::vector<double> lo, hi;      // per task: the 95% interval of a drop (NaN elsewhere)
    double average = 0;              // mean over the tasks; NaN unless every task has a value
  };
  std::vector<Row> rows;
  bool empty() const { return tasks.empty(); }
};

// metric: "acc" or "acc_norm" (values x 100, fp rows from <metric>_fp), or "acc_drop" / "acc_norm_drop"
// (points, with their intervals; no fp row). Cases with protection "none" only. Empty without task cases.
TaskTable task_table(const Results& r, const std::string& metric);

// Whether every case is a task case (then the perplexity tables are left out). False without cases.
bool only_task_cases(const Results& r);

// The task name of a "task:<file>" data entry: the file's stem.
std::string task_name(const std::string& data);

// One line per distinct (data, tokenizer, protocol) of the cases: "<data>: tokenizer <t>, protocol <p>".
std::vector<std::string> measurement_lines(const Results& r);

}  // namespace qh::reports
