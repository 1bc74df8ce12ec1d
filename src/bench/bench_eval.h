// `qharness bench eval`: end-to-end tokens/s of the engine (fp32, W8A8, W4A4) on a Llama-shaped model of 25M
// parameters with random weights (d 512, 8 layers, ff 1376, vocab 4096), 8 windows of 512 tokens evaluated as
// the evaluator does (window-parallel when there are enough windows, src/engine/window_parallel.h). Each figure
// is compared with the GEMM bound measured in the same run with the same windows and threads: the model's
// linear layers (q|k|v, o, gate|up, down per layer, and the lm_head) as plain oneDNN GEMMs, int8 (the engine's
// per-token-scaled u8/s8 kernel; lm_head f32, as the schemes keep it) for the quantized schemes and f32 for
// fp32. For every thread count above 1 a second set of rows ("_busy") is measured while a competing
// single-threaded busy process, started and killed by the bench, takes one core.
#pragma once

#include <vector>

#include "src/bench/bench.h"

namespace qh::bench {

std::vector<BenchRow> bench_eval(const BenchOptions& options);

}  // namespace qh::bench
