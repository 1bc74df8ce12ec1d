// Initial weights of a model to be trained: GPT-2 style normal(0, 0.02) for embeddings and linear layers,
// residual output projections (W_O, W_down) scaled by 1/sqrt(2 * layers), norm weights 1, biases 0, sink
// logits 0 (softmax off-by-one at start), gate weights normal(0, 0.02) (gates start near 1/2). Deterministic
// for a seed (the trainer's own PRNG).
#pragma once

#include <cstdint>

#include "models/model.h"

namespace qh::train {

// Validates the spec for training (throws InputError naming the field) and returns initialised weights.
Model init_model(const ArchSpec& spec, uint64_t seed);

}  // namespace qh::train
