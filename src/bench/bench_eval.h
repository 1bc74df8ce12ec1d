// `qharness bench eval`: end-to-end tokens/s of the engine (fp32, W8A8, W4A4) on a Llama-shaped model of about
// 25M parameters with random weights, windows of 512 tokens, and the achieved GFLOP/s of its linear layers
// next to a plain oneDNN f32 GEMM of the same shapes measured in the same run.
#pragma once

#include <vector>

#include "src/bench/bench.h"

namespace qh::bench {

std::vector<BenchRow> bench_eval(const BenchOptions& options);

}  // namespace qh::bench
