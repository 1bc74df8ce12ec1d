// The report files of a run (ARCHITECTURE.md 2.6): results.json, report.md (tables fit for a PR comment), report.html
// (self-contained: inline CSS and SVG, no external URL), junit.xml (one testcase per check) and cases.csv.
// With a baseline (a previous run), the reports add old -> new deltas; `qharness compare` is exactly that.
#pragma once

#include <string>
#include <vector>

#include "reports/results.h"

namespace qh::reports {

std::string render_markdown(const Results& r, const Results* baseline = nullptr);
std::string render_html(const Results& r, const Results* baseline = nullptr);
std::string render_junit(const Results& r);
std::string render_csv(const Results& r);

// Writes all five files into `dir` (created if needed), each atomically. Returns the paths written.
std::vector<std::string> write_report_dir(const std::string& dir, const Results& r, const Results* baseline = nullptr);

// Table helpers shared by the writers.
// The metrics among headline_metrics() that at least one case has, in headline order.
std::vector<std::string> present_headline_metrics(const Results& r);
// Distinct values in first-seen order.
std::vector<std::string> distinct_models(const Results& r);
std::vector<std::string> distinct_schemes(const Results& r);
std::vector<std::string> distinct_methods(const Results& r);  // "rtn", "rotate", ...

}  // namespace qh::reports
