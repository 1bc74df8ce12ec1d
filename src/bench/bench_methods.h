// `qharness bench methods`: the post-training methods on the Llama-shaped bench model (about 25M parameters,
// random weights, `qharness bench eval`'s shape) with random-token windows of 512: the one-time cost of each
// method (calibration passes, Hessians, GPTQ) with 128 calibration sequences, the W4A4 evaluation speed with
// and without rotation (the online Hadamards are its only run-time cost), and the KL divergence each method
// reaches against round-to-nearest (W4A4: rtn, rotate, rotate+gptq; W4A16: rtn, gptq).
#pragma once

#include <vector>

#include "src/bench/bench.h"

namespace qh::bench {

std::vector<BenchRow> bench_methods(const BenchOptions& options);

}  // namespace qh::bench
