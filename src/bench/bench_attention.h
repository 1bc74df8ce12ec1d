// `qharness bench attention`: GFLOP/s of the tiled causal attention kernel on the bench model's attention shape
// against the same-run oneDNN f32 GEMM of the same flop count (bench_attention.cc).
#pragma once

#include <vector>

#include "src/bench/bench.h"

namespace qh::bench {

std::vector<BenchRow> bench_attention(const BenchOptions& options);

}  // namespace qh::bench
