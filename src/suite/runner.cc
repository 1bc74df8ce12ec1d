// `qharness run` in four steps; read run_suite at the bottom first (the steps are described in runner.h).
#include "src/suite/runner.h"

#include <omp.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <stdexcept>

#include "src/core/error.h"
#include "src/core/limits.h"
#include "src/suite/case_cache.h"
#include "src/suite/convert.h"
#include "src/suite/evaluate_group.h"
#include "src/suite/parallel.h"
#include "src/suite/run_context.h"
#include "src/suite/verdicts.h"

namespace qh::suite {

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
