// Optimisers of the trainer: AdamW (decoupled weight decay, Loshchilov & Hutter) and SGD with momentum,
// global-norm gradient clipping, and the learning-rate schedule (linear warm-up, then cosine decay to
// min_lr_ratio * lr, or constant). Weight decay applies to matrices only (not to norms, biases, sink logits),
// as is usual. Updates run tensor by tensor in a fixed order: deterministic.
#pragma once

#include <string>
#include <vector>

#include "models/model.h"

namespace qh::train {

struct OptimConfig {
  std::string kind = "adamw";     // "adamw" | "sgd"
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.99, eps = 1e-8;  // AdamW
  double momentum = 0.9;                         // SGD
  double weight_decay = 1e-4;
  double grad_clip = 1.0;          // max global L2 norm; <= 0 disables clipping
  std::string schedule = "cosine";  // "cosine" | "constant"
  int warmup_steps = 0;
  double min_lr_ratio = 0.1;        // cosine floor as a fraction of lr
};

// Learning rate at step (0-based) of total_steps.
double learning_rate(const OptimConfig& c, int step, int total_steps);

// Global L2 norm of all gradients (double accumulation); scales them down to max_norm when larger and
// max_norm > 0. Returns the norm before clipping.
double clip_grad_norm(Model& grads, double max_norm);

class Optimizer {
 public:
  Optimizer(const OptimConfig& c, const Model& m);
  // One update of m from grads with learning rate lr.
  void step(Model& m, Model& grads, double lr);

 private:
  OptimConfig c_;
  int64_t t_ = 0;
  std::vector<std::vector<float>> m1_, m2_;  // Adam moments, or SGD momentum in m1_
};

}  // namespace qh::train
