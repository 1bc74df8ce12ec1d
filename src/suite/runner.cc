#include "src/suite/runner.h"

#include <omp.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <hwy/highway.h>
#include <algorithm>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>

#include "src/core/error.h"
#include "src/core/limits.h"
#include "src/core/version.h"
#include "src/suite/case_cache.h"
#include "src/suite/convert.h"
#include "src/suite/evaluate_group.h"
#include "src/suite/parallel.h"
#include "src/suite/run_context.h"
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

namespace {

void check_options(const SuiteSpec& suite, const RunOptions& options) {
  checked_threads(options.threads, "--threads");
  if (options.jobs < 0) throw InputError("--jobs must be >= 0");
  // Fail on a missing baseline before hours of work, not after.
  const std::string baseline_file =
      !options.baseline_file.empty() ? options.baseline_file : (suite.baseline ? suite.baseline->file : "");
  if (!baseline_file.empty() && options.shard.all() && !options.worker) (void)reports::read_results(baseline_file);
}

// Step 3 in this process: the groups one after the other, progress counted in cases.
void evaluate_here(const RunContext& ctx, const std::vector<EvalGroup>& groups, int64_t cached) {
  const RunOptions& options = ctx.options;
  const auto total = static_cast<int64_t>(ctx.planned.size());
  int64_t done = cached;
  if (options.progress) options.progress(done, total, "cached");
  for (const EvalGroup& g : groups) {
    evaluate_group(ctx, g, [&](int64_t cases_done, const std::string& note) {
      if (options.progress) options.progress(done + cases_done, total, note);
    });
    done += static_cast<int64_t>(g.cases.size());
  }
}

// Step 4: every planned case from the cache, with its (model, data) pair's audit summary.
reports::Results collect(const RunContext& ctx) {
  const SuiteSpec& suite = ctx.suite;
  reports::Results r;
  r.suite = suite.name;
  r.suite_file = suite.path;
  r.suite_hash = suite.content_hash;
  r.created_utc = utc_now();
  r.environment = current_environment(ctx.options.threads);
  if (!ctx.options.shard.all()) r.shard = ctx.options.shard.to_string();
  std::map<std::pair<int, int>, std::optional<AuditRecord>> audits;
  for (size_t i = 0; i < ctx.planned.size(); ++i) {
    const PlannedCase& p = ctx.planned[i];
    std::optional<reports::CaseResult> c = ctx.load_case(i);
    if (!c) {
      throw std::runtime_error("run: case " + suite.models[p.model].name + " " + suite.data[p.data] + " " +
                               suite.schemes[p.scheme].label + " " + p.protection +
                               " is not in the cache after its evaluation (" + ctx.cache.path_of(ctx.case_key(p)) +
                               ")");
    }
    if (ctx.wants_audit(p.data)) {
      const auto pair = std::make_pair(p.model, p.data);
      if (!audits.count(pair)) audits[pair] = ctx.load_audit(p.model, p.data);
      if (audits[pair]) c->audit = audits[pair]->audit;
    }
    r.cases.push_back(std::move(*c));
  }
  for (const auto& c : r.cases) {
    if (!c.engine_impl.empty() && r.environment.onednn_isa.empty()) r.environment.onednn_isa = c.engine_impl;
  }
  return r;
}

}  // namespace

RunOutcome run_suite(const SuiteSpec& suite, const RunOptions& options) {
  check_options(suite, options);
  if (options.threads > 0) omp_set_num_threads(options.threads);
  const auto started = std::chrono::steady_clock::now();

  // 1. Plan: the shard's cases, the models' checkpoints, every cache key.
  RunContext ctx(suite, options);
  // 2. Ensure models: train the zoo models whose cases are not cached.
  ctx.ensure_models();
  // 3. Evaluate each (model, data) group with uncached cases (or a missing audit), here or in workers.
  const std::vector<EvalGroup> groups = ctx.groups_to_evaluate();
  int64_t to_compute = 0;
  for (const EvalGroup& g : groups) to_compute += static_cast<int64_t>(g.cases.size());
  const int64_t cached = static_cast<int64_t>(ctx.planned.size()) - to_compute;
  const int workers = worker_processes(ctx);
  if (workers >= 2) {
    evaluate_in_workers(ctx, workers);
  } else {
    evaluate_here(ctx, groups, cached);
  }
  if (options.worker) return {};  // the parent collects
  // 4. Collect every case from the cache, then attributions and verdicts.
  RunOutcome out;
  out.results = collect(ctx);
  if (options.shard.all()) {
    out.baseline = finalize_results(suite, options.baseline_file, &out.results);
  } else if (suite.attribution) {
    attach_attribution(&out.results, suite.attribution_metrics);  // whole groups live in one shard
  }
  if (!options.quiet) {
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::fprintf(stderr, "run: %zu cases (%lld from the cache) in %.1f s\n", out.results.cases.size(),
                 static_cast<long long>(cached), secs);
  }
  return out;
}

}  // namespace qh::suite
