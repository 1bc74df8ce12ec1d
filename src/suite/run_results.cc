// What every result file records besides the cases (the environment, the time), the plan's case order,
// and the attribution and verdicts over complete results: shared by `run` (runner.cc) and `merge` (merge.cc).
#include <omp.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <hwy/highway.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "src/core/version.h"
#include "src/suite/case_cache.h"
#include "src/suite/convert.h"
#include "src/suite/run_context.h"
#include "src/suite/runner.h"
#include "src/suite/verdicts.h"

namespace qh::suite {

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown";
}

}  // namespace

reports::Environment current_environment(int threads) {
  reports::Environment env;
  env.git_revision = git_revision();
  env.cpu = cpu_model();
  env.threads = threads > 0 ? threads : omp_get_max_threads();
  const dnnl_version_t* v = dnnl_version();
  env.versions["onednn"] = fmt::format("{}.{}.{}", v->major, v->minor, v->patch);
  env.versions["highway"] = fmt::format("{}.{}", HWY_MAJOR, HWY_MINOR);
  env.versions["fmt"] = fmt::format("{}.{}.{}", FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100);
  env.versions["nlohmann_json"] = fmt::format("{}.{}.{}", NLOHMANN_JSON_VERSION_MAJOR, NLOHMANN_JSON_VERSION_MINOR,
                                              NLOHMANN_JSON_VERSION_PATCH);
  env.versions["openmp"] = std::to_string(_OPENMP);  // the spec date, e.g. 201511 for OpenMP 4.5
  env.versions["compiler"] = __VERSION__;
  return env;
}

void sort_cases_by_plan(const SuiteSpec& suite, reports::Results* results) {
  std::map<std::string, size_t> order;
  size_t i = 0;
  for (const auto& p : plan_cases(suite)) {
    reports::CaseResult c;
    c.model = suite.models[p.model].name;
    c.data = suite.data[p.data];
    c.scheme = suite.schemes[p.scheme].label;
    c.protection = p.protection;
    c.method = suite.methods[p.method].label;
    order.emplace(c.key(), i++);
  }
  std::stable_sort(results->cases.begin(), results->cases.end(),
                   [&](const reports::CaseResult& a, const reports::CaseResult& b) {
                     const auto ia = order.find(a.key()), ib = order.find(b.key());
                     const size_t ka = ia == order.end() ? order.size() : ia->second;
                     const size_t kb = ib == order.end() ? order.size() : ib->second;
                     return ka < kb;
                   });
}

std::optional<reports::Results> finalize_results(const SuiteSpec& suite, const std::string& baseline_file,
                                                 reports::Results* results) {
  if (suite.attribution) attach_attribution(results, suite.attribution_metrics);
  std::optional<reports::Results> baseline;
  reports::BaselineOptions options = suite.baseline ? suite.baseline->options : reports::BaselineOptions{};
  const std::string file = !baseline_file.empty() ? baseline_file : (suite.baseline ? suite.baseline->file : "");
  if (!file.empty()) baseline = reports::read_results(file);
  results->verdicts = all_verdicts(suite, *results, baseline ? &*baseline : nullptr, options);
  return baseline;
}

std::vector<std::string> planned_case_keys(const SuiteSpec& suite, const RunOptions& options) {
  const RunContext ctx(suite, options);
  std::vector<std::string> keys;
  for (const auto& p : ctx.planned) keys.push_back(ctx.case_key(p));  // "" for a zoo model not trained yet
  return keys;
}

int64_t count_cached(const std::vector<std::string>& keys, const std::string& out_dir) {
  const CaseCache cache(out_dir + "/.cache");
  int64_t n = 0;
  for (const auto& k : keys) n += cache.has(k) ? 1 : 0;
  return n;
}

}  // namespace qh::suite
