// Model: an ArchSpec plus its weights as f32 tensors in one canonical layout, whatever the checkpoint's
// architecture. Linear weights are [out, in] (y = x W^T). Optional tensors are empty when absent.
#pragma once

#include <vector>

#include "models/arch.h"
#include "src/core/tensor.h"

namespace qh {

struct LayerWeights {
  Tensor attn_norm_w, attn_norm_b;  // [d]; bias only with norm_bias
  Tensor wq, wk, wv;                // [H*hd, d], [KV*hd, d], [KV*hd, d]
  Tensor bq, bk, bv;                // with qkv_bias
  Tensor wo, bo;                    // [d, H*hd], [d] with o_bias
  Tensor sink;                      // [H]            attention kSink: learnable sink logits
  Tensor wg;                        // [H*hd, d] (elementwise) or [H, d] (per head); attention kGated
  Tensor mlp_norm_w, mlp_norm_b;    // [d]
  Tensor w_gate;                    // [ff, d] SwiGLU only
  Tensor w_up, b_up;                // [ff, d], [ff]
  Tensor w_down, b_down;            // [d, ff], [d]
};

struct Model {
  ArchSpec spec;
  Tensor tok_emb;  // [V, d]
  Tensor pos_emb;  // [context, d] with learned positions
  std::vector<LayerWeights> layers;
  Tensor final_norm_w, final_norm_b;  // [d]
  Tensor lm_head;  // [V, d]; a copy of tok_emb when the embeddings are tied
};

}  // namespace qh
