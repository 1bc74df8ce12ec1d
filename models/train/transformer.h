// The trainer's model-level forward and backward pass over a batch of B sequences of length T, on the
// canonical qh::Model weights (f32). Pre-norm decoder blocks:
//   x = tok_emb[x_t] (+ pos_emb[t]);  per block: a = norm1(x); x += W_O attn(a) [gated: sigmoid(a W_g) * attn];
//   b = norm2(x); x += W_down act(W_up b) [SwiGLU: W_down (silu(W_gate b) * W_up b)];  logits = head(norm_f(x)).
// Every intermediate the backward pass needs is kept in Activations (the explicit caches); they are also
// what the training log's probes read (attention probabilities, values, residual streams).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "models/model.h"

namespace qh::train {

struct LayerCache {
  std::vector<float> x_in;            // [N, d] residual stream entering the block
  std::vector<float> xhat1, rstd1;    // norm1 cache
  std::vector<float> a1;              // [N, d] norm1 output
  std::vector<float> q, k, v;         // [N, H*hd] (q, k after RoPE)
  std::vector<float> probs, aux;      // [B, H, T, T] attention probabilities; clipped: unclipped softmax
  std::vector<float> att;             // [N, H*hd] attention output before the gate
  std::vector<float> gate;            // gated: sigmoid(a1 W_g^T), [N, H*hd] or [N, H]
  std::vector<float> o_in;            // [N, H*hd] input of W_O
  std::vector<float> x_mid;           // [N, d] residual after attention
  std::vector<float> xhat2, rstd2;    // norm2 cache
  std::vector<float> a2;              // [N, d]
  std::vector<float> up, gate_pre;    // [N, ff] up projection; SwiGLU gate projection
  std::vector<float> hidden;          // [N, ff] activation output (input of W_down)
};

struct Activations {
  int64_t B = 0, T = 0;
  std::vector<int32_t> tokens;        // [N]
  std::vector<LayerCache> layers;
  std::vector<float> x_final;         // [N, d] residual after the last block
  std::vector<float> xhatf, rstdf, af;
  std::vector<float> logits;          // [N, V]
  std::vector<float> dlogits;         // [N, V] filled by the loss
  std::vector<float> row_loss;        // [N]
};

// Forward pass; tokens has B*T entries, each < vocab; T <= context for learned positions.
void forward(const Model& m, const int32_t* tokens, int64_t B, int64_t T, Activations& acts);

// Cross-entropy of acts.logits against targets[N] (< 0: not scored); fills acts.row_loss and acts.dlogits
// (gradient of the mean loss over scored rows). Returns that mean loss.
double loss_and_gradient(Activations& acts, const int32_t* targets, int64_t vocab);

// Backward pass from acts.dlogits; ACCUMULATES parameter gradients into grads (same shapes as m; see
// zeros_like). With tied embeddings the head gradient goes into grads.tok_emb.
void backward(const Model& m, Activations& acts, Model& grads);

// A model of the same spec and shapes with all parameters zero (the gradient buffer).
Model zeros_like(const Model& m);

// Calls fn(name, tensor) for every trainable parameter, in a fixed order, with the checkpoint's tensor
// names; empty tensors and the tied lm_head are skipped.
void for_each_param(Model& m, const std::function<void(const std::string&, Tensor&)>& fn);

// Number of trainable parameters.
int64_t count_params(const Model& m);

}  // namespace qh::train
