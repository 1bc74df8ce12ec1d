#include "src/suite/verdicts.h"

#include <cmath>
#include <fmt/format.h>

#include "reports/baseline.h"
#include "reports/metric_info.h"

namespace qh::suite {

using reports::Verdict;
using reports::VerdictKind;

namespace {

std::string num(double v) { return fmt::format("{:.6g}", v); }

}  // namespace

std::vector<Verdict> check_thresholds(const SuiteSpec& suite, const reports::Results& results) {
  std::vector<Verdict> out;
  for (const auto& t : suite.thresholds) {
    for (const auto& c : results.cases) {
      if (c.protection != "none" || (t.scheme != "*" && c.scheme != t.scheme)) continue;
      Verdict v;
      v.kind = VerdictKind::kThreshold;
      v.name = fmt::format("threshold {} {} {} {} {}", c.scheme, c.model, t.metric, t.is_max ? "<=" : ">=", num(t.limit));
      if (suite.data.size() > 1) v.name += " [" + c.data + "]";
      v.limit = t.limit;
      const auto value = c.metric(t.metric);
      if (!value) {
        v.passed = false;
        v.value = NAN;
        v.message = fmt::format("{} was not measured for {} under {} (required by {})", t.metric, c.model, c.scheme,
                                t.where);
      } else {
        v.value = *value;
        v.passed = !std::isnan(*value) && (t.is_max ? *value <= t.limit : *value >= t.limit);
        v.message = fmt::format("{} {} under {}: {} = {} {} {}", c.model, c.data, c.scheme, t.metric, num(*value),
                                v.passed ? (t.is_max ? "<=" : ">=") : (t.is_max ? ">" : "<"), num(t.limit));
      }
      out.push_back(v);
    }
  }
  return out;
}

std::vector<Verdict> check_expectations(const SuiteSpec& suite, const reports::Results& results) {
  std::vector<Verdict> out;
  for (const auto& e : suite.expectations) {
    const bool lower_better = reports::metric_direction(e.metric) == reports::Direction::kLowerIsBetter;
    for (const auto& data : suite.data) {
      Verdict v;
      v.kind = VerdictKind::kExpectation;
      v.name = e.name.empty() ? fmt::format("expect {} {} than {} under {}{} ({})", e.better,
                                            lower_better ? "loses less" : "keeps more", e.worse, e.scheme,
                                            e.protection == "none" ? "" : " protect=" + e.protection, e.metric)
                              : e.name;
      if (suite.data.size() > 1) v.name += " [" + data + "]";
      const auto* better = results.find_case(e.better, data, e.scheme, e.protection);
      const auto* worse = results.find_case(e.worse, data, e.scheme, e.protection);
      const auto b = better ? better->metric(e.metric) : std::nullopt;
      const auto w = worse ? worse->metric(e.metric) : std::nullopt;
      if (!b || !w) {
        // Under sharding a part may hold only one side; the merged run decides. A full run lacking it fails.
        v.passed = false;
        v.value = b ? *b : NAN;
        v.limit = w ? *w : NAN;
        v.message = fmt::format("{} of {} and {} under {} not both measured ({})", e.metric, e.better, e.worse,
                                e.scheme, e.where);
        out.push_back(v);
        continue;
      }
      v.value = *b;
      v.limit = lower_better ? *w - e.margin : *w + e.margin;
      v.passed = lower_better ? *b < v.limit : *b > v.limit;
      v.message = fmt::format("{}: {} = {} {} {} = {}{}", e.metric, e.better, num(*b),
                              v.passed ? (lower_better ? "<" : ">") : (lower_better ? ">=" : "<="), e.worse, num(*w),
                              e.margin != 0 ? fmt::format(" (required margin {})", num(e.margin)) : std::string());
      out.push_back(v);
    }
  }
  return out;
}

std::vector<Verdict> all_verdicts(const SuiteSpec& suite, const reports::Results& results,
                                  const reports::Results* baseline, const reports::BaselineOptions& baseline_options) {
  std::vector<Verdict> out = check_thresholds(suite, results);
  for (auto& v : check_expectations(suite, results)) out.push_back(std::move(v));
  if (baseline) {
    for (auto& v : reports::check_against_baseline(*baseline, results, baseline_options)) out.push_back(std::move(v));
  }
  return out;
}

}  // namespace qh::suite
