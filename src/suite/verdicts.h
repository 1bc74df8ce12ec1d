// The checks of a suite on a finished run: thresholds per scheme, expectations between models, and the
// baseline comparison. Pure functions of the suite and the results, so they are tested on hand-made results.
#pragma once

#include <vector>

#include "reports/results.h"
#include "src/suite/suite.h"

namespace qh::suite {

// One verdict per (threshold, matching unprotected case). A threshold whose metric a case lacks fails
// (a check that silently does not run is worse than a failed one).
std::vector<reports::Verdict> check_thresholds(const SuiteSpec& suite, const reports::Results& results);

// One verdict per (expectation, data spec).
std::vector<reports::Verdict> check_expectations(const SuiteSpec& suite, const reports::Results& results);

// Thresholds + expectations (+ baseline checks when `baseline` is given), in that order.
std::vector<reports::Verdict> all_verdicts(const SuiteSpec& suite, const reports::Results& results,
                                           const reports::Results* baseline,
                                           const reports::BaselineOptions& baseline_options);

}  // namespace qh::suite
