// `qharness run --jobs N`: evaluation in N worker processes of the same binary. The parent trains the missing
// zoo models (N at a time), starts `BINARY run SUITE --shard i/N --worker` for i = 1..N with
// OMP_NUM_THREADS = threads / N, shows progress from the case cache the workers fill, and when all are done
// runs the suite itself, which then finds every case in the cache: the results (and every report) are those
// of a `--jobs 1` run, number for number. Processes rather than threads keep the engine's oneDNN primitive
// caches and OpenMP pools private to each worker.
#pragma once

#include <string>

#include "src/suite/runner.h"

namespace qh::suite {

struct ParallelOptions {
  std::string binary;      // the qharness executable the workers run
  int workers = 2;         // processes (>= 2; fewer uncached groups than workers start fewer)
  int threads_total = 1;   // OpenMP threads shared out between the workers (at least 1 each)
};

// Runs the suite with worker processes (options.shard must be the whole suite). Throws InputError when a
// worker rejected its input, std::runtime_error when one failed otherwise; finished cases stay cached.
RunOutcome run_suite_parallel(const SuiteSpec& suite, const RunOptions& options, const ParallelOptions& parallel);

}  // namespace qh::suite
