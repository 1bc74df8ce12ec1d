// Random-weight models for the benchmarks: the speed of a forward pass depends on the shapes, not on training,
// and a benchmark must run where no checkpoint exists. Weights are drawn from a normal distribution in a
// fixed order, so a shape and a generator state give the same model on every machine.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "models/model.h"

namespace qh::bench {

// offset + scale * N(0, 1) in every entry.
Tensor random_tensor(std::vector<int64_t> shape, std::mt19937& rng, float scale, float offset = 0.0f);

// A Llama-shaped model (RMSNorm, RoPE, SwiGLU, heads of 64, no biases): num_heads = d_model / 64 query heads
// over kv_heads key/value heads. Projections are scaled by 1/sqrt(fan-in), norm weights are 1 + 0.1 N(0, 1).
struct LlamaShape {
  int64_t d_model = 512, num_layers = 6, kv_heads = 8, d_ff = 1536, vocab_size = 4096, context = 512;
};
Model random_llama(const LlamaShape& shape, std::mt19937& rng);

}  // namespace qh::bench
