// Model: an ArchSpec plus its weights as f32 tensors in one canonical layout, whatever the checkpoint's
// architecture. Linear weights are [out, in] (y = x W^T). Optional tensors are empty when absent.
#pragma once

#include <vector>

#include "models/arch.h"
#include "src/core/tensor.h"

namespace qh {

struct LayerWeights {
  Tensor attn_norm_w, attn_norm_b;  // [d] with pre_norm; bias only with norm_bias
  Tensor wq, wk, wv;                // [H*hd, d], [KV*hd, d], [KV*hd, d]
  Tensor bq, bk, bv;                // with qkv_bias
  Tensor q_norm_w, k_norm_w;        // qk_norm: [hd], [hd] (per head) or [H*hd], [KV*hd] (full)
  Tensor wo, bo;                    // [d, H*hd], [d] with o_bias
  Tensor attn_out_norm_w;           // [d] with post_norm: norm of the attention output
  Tensor sink;                      // [H]            attention kSink: learnable sink logits
  Tensor wg;                        // [H*hd, d] (elementwise) or [H, d] (per head); attention kGated
  Tensor mlp_norm_w, mlp_norm_b;    // [d] with pre_norm or parallel_residual
  Tensor w_gate;                    // [ff, d] SwiGLU / GeGLU only
  Tensor w_up, b_up;                // [ff, d], [ff]
  Tensor w_down, b_down;            // [d, ff], [d]
  Tensor mlp_out_norm_w;            // [d] with post_norm: norm of the MLP output
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
