// `qharness bench eval --params 1.1B`: the engine at the size of a real model. A random checkpoint of
// TinyLlama-1.1B's shape (Llama layout: 22 layers, hidden 2048, intermediate 5632, 32 heads over 4 key/value
// heads, vocabulary 32000, context 2048) is written once in BF16 shards with model.safetensors.index.json into
// the cache (<cache>/bench/<shape and seed>/, made in a temporary folder and renamed into place), then loaded
// as a user's checkpoint would be. Rows: the load time, tokens/s of fp32, W8A8 and W4A4 on one window of 2048
// tokens (each engine built, timed and freed in turn), and the peak resident memory of loading and evaluating
// against the F32 size of the weights (goal: at most 1.6x).
#pragma once

#include <vector>

#include "src/bench/bench.h"

namespace qh::bench {

// InputError for sizes other than "1.1B".
std::vector<BenchRow> bench_eval_scale(const BenchOptions& options);

}  // namespace qh::bench
