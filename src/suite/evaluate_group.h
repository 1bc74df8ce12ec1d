// Step 3 of `qharness run` (src/suite/runner.cc) for one (model, data) pair, in this process: loads the
// checkpoint and the data once, computes the pair's audit when it is asked for (its own cache record), and
// evaluates the uncached cases with one full-precision pass shared by all of them (src/eval/evaluator.h, or
// the task scorer src/tasks/task_eval.h for task: data). Every finished case goes into OUT/.cache at once,
// so a killed run resumes; nothing is returned: step 4 collects every case from the cache.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "src/suite/run_context.h"

namespace qh::suite {

// cases_done: how many of the group's cases are finished; note: what runs now ("m bb:... window 3/8").
using GroupProgress = std::function<void(int64_t cases_done, const std::string& note)>;

void evaluate_group(const RunContext& ctx, const EvalGroup& group, const GroupProgress& progress);

}  // namespace qh::suite
