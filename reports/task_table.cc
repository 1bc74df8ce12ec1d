#include "reports/task_table.h"

#include <algorithm>
#include <cmath>

#include "reports/metric_info.h"

namespace qh::reports {

bool only_task_cases(const Results& r) {
  return !r.cases.empty() &&
         std::all_of(r.cases.begin(), r.cases.end(), [](const CaseResult& c) { return is_task_data(c.data); });
}

std::string task_name(const std::string& data) {
  std::string path = is_task_data(data) ? data.substr(std::string(kTaskDataPrefix).size()) : data;
  const size_t slash = path.find_last_of('/');
  if (slash != std::string::npos) path = path.substr(slash + 1);
  const size_t dot = path.find_last_of('.');
  return dot == std::string::npos || dot == 0 ? path : path.substr(0, dot);
}

TaskTable task_table(const Results& r, const std::string& metric) {
  TaskTable t;
  std::vector<std::string> data;  // task data entries, in first-seen order
  for (const auto& c : r.cases) {
    if (is_task_data(c.data) && std::find(data.begin(), data.end(), c.data) == data.end()) data.push_back(c.data);
  }
  for (const auto& d : data) t.tasks.push_back(task_name(d));
  if (data.empty()) return t;
  const bool drop = metric == "acc_drop" || metric == "acc_norm_drop";
  const double scale = drop ? 1.0 : 100.0;
  auto make_row = [&](const std::string& model, const std::string& scheme, const std::string& name) {
    TaskTable::Row row{model, scheme, {}, {}, {}, 0};
    double sum = 0;
    for (const auto& d : data) {
      double v = NAN, lo = NAN, hi = NAN;
      for (const auto& c : r.cases) {
        if (c.model != model || c.data != d || c.protection != "none") continue;
        if (scheme != "fp" && c.scheme != scheme) continue;
        if (const auto x = c.metric(name)) v = *x * scale;
        if (drop) {
          if (const auto x = c.metric(name + "_lo")) lo = *x;
          if (const auto x = c.metric(name + "_hi")) hi = *x;
        }
        break;
      }
      row.values.push_back(v);
      row.lo.push_back(lo);
      row.hi.push_back(hi);
      sum += v;
    }
    row.average = sum / static_cast<double>(data.size());  // NaN when any task lacks a value
    return row;
  };
  std::vector<std::string> models, schemes;
  for (const auto& c : r.cases) {
    if (!is_task_data(c.data)) continue;
    if (std::find(models.begin(), models.end(), c.model) == models.end()) models.push_back(c.model);
    if (std::find(schemes.begin(), schemes.end(), c.scheme) == schemes.end()) schemes.push_back(c.scheme);
  }
  for (const auto& m : models) {
    if (!drop) t.rows.push_back(make_row(m, "fp", metric + "_fp"));
    for (const auto& s : schemes) t.rows.push_back(make_row(m, s, metric));
  }
  return t;
}

std::vector<std::string> measurement_lines(const Results& r) {
  std::vector<std::string> lines;
  for (const auto& c : r.cases) {
    if (c.tokenizer.empty() && c.protocol.empty()) continue;
    const std::string line = c.data + ": tokenizer " + (c.tokenizer.empty() ? "n/a" : c.tokenizer) + ", protocol " +
                             (c.protocol.empty() ? "n/a" : c.protocol);
    if (std::find(lines.begin(), lines.end(), line) == lines.end()) lines.push_back(line);
  }
  return lines;
}

}  // namespace qh::reports
