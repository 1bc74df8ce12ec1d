// `qharness run`: expands a suite into cases, gets the checkpoints (training uncached zoo models), evaluates
// each model x data once in full precision shared by all its schemes and protections, audits when asked,
// caches every finished case (OUT/.cache) so that a killed run resumes, then attaches attributions and the
// verdicts, and writes the report files atomically.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "reports/results.h"
#include "src/suite/plan.h"
#include "src/suite/suite.h"

namespace qh::suite {

struct RunOptions {
  std::string out_dir = "qharness-out";
  std::string baseline_file;  // overrides the suite's baseline file
  int jobs = 0;               // zoo models trained at once (0: the number of cores)
  int threads = 0;            // OpenMP threads for evaluation (0: all)
  Shard shard;
  bool quiet = false;
  // A worker of a parallel run (run_suite_parallel): fills OUT/.cache with its shard's cases and audits only
  // the (model, data) pairs it owns, so that no audit is computed twice. Its returned results are not used.
  bool worker = false;
  std::string zoo_cache_dir;  // empty: the zoo's default ($QH_CACHE or .cache/qharness)
  // Cases done of total, with a note on what runs now (the CLI draws a progress line with ETA from it).
  std::function<void(int64_t done, int64_t total, const std::string& note)> progress;
};

struct RunOutcome {
  reports::Results results;
  std::optional<reports::Results> baseline;
};

// Runs the suite (or one shard of it). A shard's part carries no verdicts: `qharness merge` computes them
// over all parts. Throws InputError on bad input.
RunOutcome run_suite(const SuiteSpec& suite, const RunOptions& options);

// Trains the zoo models that cases not yet in OUT/.cache need (o.jobs at a time).
void train_missing_models(const SuiteSpec& suite, const RunOptions& options);

// The cache keys of every planned case of the options' shard, and how many of them are in OUT/.cache now
// (the progress of a parallel run is read from the cache its workers fill).
std::vector<std::string> planned_case_keys(const SuiteSpec& suite, const RunOptions& options);
int64_t count_cached(const std::vector<std::string>& keys, const std::string& out_dir);

// Attribution and verdicts over complete results (after a full run or a merge). Reads the baseline file
// given in `baseline_file` (or the suite's) and returns it for the report's delta tables.
std::optional<reports::Results> finalize_results(const SuiteSpec& suite, const std::string& baseline_file,
                                                 reports::Results* results);

// The machine and library facts recorded in every result file.
reports::Environment current_environment(int threads);
std::string utc_now();

// Orders cases as the suite's plan does (merge output equals an unsharded run). Cases not in the plan go last.
void sort_cases_by_plan(const SuiteSpec& suite, reports::Results* results);

}  // namespace qh::suite
