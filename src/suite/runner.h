// `qharness run`, in four steps (run_suite, src/suite/runner.cc, reads top to bottom):
//   1. plan: the suite's cases of this shard, each model's checkpoint and every cache key (RunContext,
//      src/suite/run_context.h, built once);
//   2. ensure models: train the zoo models that uncached cases need (models/train/zoo.h);
//   3. evaluate each (model, data) group with uncached cases: in this process (src/suite/evaluate_group.h), or
//      with --jobs N > 1 in N worker processes (src/suite/parallel.h); every finished case and audit goes into
//      OUT/.cache, so that a killed run resumes;
//   4. collect: every case (and its pair's audit) read back from the cache, so that an in-process run and a run
//      with workers give the same results bit for bit; then attributions and verdicts.
// The report files are written by the caller (src/cli/cmd_run.cc -> reports/writers.h).
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
  bool verbose = false;       // print each worker process's command line
  // Step 3 in worker processes (src/suite/parallel.h) when workers > 1: at most this many, running
  // worker_binary, sharing threads_total OpenMP threads. 1: in this process.
  int workers = 1;
  std::string worker_binary;
  int threads_total = 1;
  // This process is a worker of a parallel run: it fills OUT/.cache with its shard's cases and audits only
  // the (model, data) pairs it owns, so that no audit is computed twice; it collects nothing.
  bool worker = false;
  std::string zoo_cache_dir;  // empty: the zoo's default ($QH_CACHE or .cache/qharness)
  // The memory each group's evaluation and audit may use (--max-memory); 0: what the machine has available.
  uint64_t max_memory = 0;
  // Cases done of total, with a note on what runs now (the CLI draws a progress line with ETA from it).
  std::function<void(int64_t done, int64_t total, const std::string& note)> progress;
};

struct RunOutcome {
  reports::Results results;
  std::optional<reports::Results> baseline;
};

// Runs the suite (or one shard of it). A shard's part carries no verdicts: `qharness merge` computes them
// over all parts. A worker's outcome is empty (its cases are in the cache). Throws InputError on bad input;
// suite::WorkerFailed (parallel.h) when a worker process failed.
RunOutcome run_suite(const SuiteSpec& suite, const RunOptions& options);

// For tests: the cache keys of every planned case of the options' shard, and how many of them are in
// OUT/.cache now.
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
