// `qharness bench audit`: the cost of the audit's statistics pass (ARCHITECTURE.md 1.1-1.2; issue target: at most 1.5x one
// full-precision evaluation pass over the same data). Times the fp forward over a set of windows with no observer
// and the same forward with the audit's observers attached, alternating the two in one run, on (a) the trained
// 1-layer zoo model bb1-softmax-adamw (from the zoo cache, trained on first use when models/zoo.yaml is found in
// the working directory; otherwise a random model of the same shape) and (b) a larger Llama-shaped random model.
#pragma once

#include <vector>

#include "src/bench/bench.h"

namespace qh::bench {

std::vector<BenchRow> bench_audit(const BenchOptions& options);

}  // namespace qh::bench
