// Step 3 of `qharness run --jobs N` (N > 1): the (model, data) groups are evaluated by N worker processes of
// the same binary, `BINARY run SUITE --shard i/N --worker` with OMP_NUM_THREADS = threads / N, each filling
// OUT/.cache with its shard's cases and the audits it owns; the parent shows progress from the cache and, when
// all are done, collects every case from it exactly as after an evaluation in its own process (runner.cc).
// Processes rather than threads keep the engine's oneDNN primitive caches and OpenMP pools private to each
// worker. Each worker's command is printed with --verbose and named when it fails, so that it can be rerun
// alone (under a debugger: `run SUITE --jobs 1` evaluates in one process).
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "src/suite/run_context.h"

namespace qh::suite {

// How many worker processes step 3 uses: min(options.workers, groups of the plan with uncached cases); fewer
// than 2 means the evaluation runs in this process.
int worker_processes(const RunContext& ctx);

// The command line of worker i of count (its environment first: OMP_NUM_THREADS=T), shell-quoted.
std::string worker_command(const RunContext& ctx, int index, int count, int threads);

// A worker process that failed other than on bad input (exit code 1 of `run`: the run did not finish).
class WorkerFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Runs `count` workers and waits for them. Throws InputError when a worker rejected its input, WorkerFailed
// when one failed otherwise; finished cases stay cached.
void evaluate_in_workers(const RunContext& ctx, int count);

}  // namespace qh::suite
