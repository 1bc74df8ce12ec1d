// ArchSpec: the one description of a decoder-only transformer that every architecture (Llama, Mistral, Qwen2,
// Qwen3, OLMo-2, GPT-2, GPT-NeoX, Gemma, Gemma-2, Phi-3, the project's own models) is mapped into. The engine
// and the trainer read only this, never config.json.
//
// One block, in the order the engine runs it (every step named by the field that switches it on):
//   a   = pre_norm ? input_layernorm(h) : h                     (attn_norm_w / attn_norm_b)
//   q,k,v = a Wq, a Wk, a Wv (+ biases); qk_norm on q and k; RoPE on the first rotary_dim of each head
//   o   = attention(q, k, v) (scale attn_scale, soft-cap attn_softcap, window window_of(layer)) [* sigmoid(g)]
//   o   = o Wo (+ bias); post_norm ? attn_output_norm(o) : o   (attn_out_norm_w)
//   parallel_residual:  m_in = mlp_norm(h);       h = h + o + mlp(m_in)
//   otherwise:          h = h + o; m_in = pre_norm ? mlp_norm(h) : h; h = h + mlp_out
//   mlp_out = post_norm ? mlp_output_norm(mlp(m_in)) : mlp(m_in)   (mlp_out_norm_w)
// then h_final = final_norm(h) (after scaling the embeddings by embed_scale at the start), logits = h_final
// lm_head^T, soft-capped by final_softcap. So a linear's input is normalised by attn_norm (q, k, v, and g) or
// mlp_norm (gate, up) exactly when pre_norm; without pre_norm (OLMo-2) no norm precedes them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qh {

enum class NormKind { kLayerNorm, kRMSNorm };
enum class PosKind { kLearned, kRope, kNone };
// kGelu is the tanh approximation (GPT-2's gelu_new); kGeluExact is erf-based (HF "gelu").
// kSwiGLU: silu(x W_gate) * (x W_up); kGeGLU: gelu_tanh(x W_gate) * (x W_up) (Gemma's gelu_pytorch_tanh).
enum class MlpKind { kRelu, kGelu, kGeluExact, kSwiGLU, kGeGLU };
inline bool is_glu(MlpKind k) { return k == MlpKind::kSwiGLU || k == MlpKind::kGeGLU; }
// RMSNorm (no bias) on q and k before RoPE: kPerHead over each head's head_dim (weight [head_dim], Qwen3);
// kFull over the whole projection (weights [H*hd] and [KV*hd], OLMo-2).
enum class QkNorm { kNone, kPerHead, kFull };
// ARCHITECTURE.md 1.3. kSoftmax: softmax(QK^T/sqrt(d) + causal). kRelu: ReLU(QK^T/sqrt(d)) / i for the 1-based query
// position i. kSink: a learnable logit s_h per head joins the softmax denominator. kGated: sigmoid(x W_g)
// multiplies the attention output (elementwise per channel, or one gate per head). kClipped:
// clip((zeta - gamma) * softmax + gamma, 0, 1).
enum class AttnKind { kSoftmax, kRelu, kSink, kGated, kClipped };
enum class GateKind { kElementwise, kPerHead };

struct AttnSpec {
  AttnKind kind = AttnKind::kSoftmax;
  GateKind gate = GateKind::kElementwise;  // kGated only
  float clip_zeta = 1.0f;                  // kClipped only; zeta >= 1
  float clip_gamma = 0.0f;                 // kClipped only; gamma <= 0
};

struct ArchSpec {
  std::string architecture;  // "LlamaForCausalLM", "GPT2LMHeadModel", "Qwen2ForCausalLM", "QHarnessForCausalLM"
  int num_layers = 0;
  int d_model = 0;
  int num_heads = 0;
  int num_kv_heads = 0;  // == num_heads without GQA
  int head_dim = 0;
  int d_ff = 0;          // MLP hidden width
  int vocab_size = 0;
  int context = 0;       // maximum sequence length (max_position_embeddings / n_positions)
  NormKind norm = NormKind::kRMSNorm;
  float norm_eps = 1e-5f;
  bool norm_bias = false;  // LayerNorm with a bias (GPT-2)
  PosKind positions = PosKind::kRope;
  float rope_theta = 10000.0f;
  MlpKind mlp = MlpKind::kSwiGLU;
  AttnSpec attn;
  bool qkv_bias = false;  // Qwen2, GPT-2
  bool o_bias = false;    // GPT-2
  bool mlp_bias = false;  // GPT-2
  bool tied_embeddings = false;
  int bos_token_id = -1;  // -1: unknown

  // Block structure (see the top of this file). Post-norms are RMSNorm / LayerNorm of kind `norm`, no bias.
  bool pre_norm = true;            // norms before attention and MLP (false: OLMo-2)
  bool post_norm = false;          // norms on the attention and MLP outputs (OLMo-2, Gemma-2)
  bool parallel_residual = false;  // GPT-NeoX use_parallel_residual
  QkNorm qk_norm = QkNorm::kNone;
  int rotary_dim = 0;              // leading dims of each head rotated by RoPE (partial rotary); 0: head_dim
  float attn_scale = 0.0f;         // score scale; 0: 1/sqrt(head_dim) (Gemma-2: query_pre_attn_scalar^-1/2)
  float attn_softcap = 0.0f;       // > 0: scores -> cap * tanh(scores / cap) before the mask (Gemma-2)
  float final_softcap = 0.0f;      // > 0: logits -> cap * tanh(logits / cap) (Gemma-2)
  float embed_scale = 1.0f;        // token embeddings times this (Gemma: sqrt(hidden) rounded to f32)
  // Banded causal mask: query i sees keys j with i - j < sliding_window (0: none) in the layers flagged in
  // sliding_layers ([num_layers], 1 = sliding), or in every layer when sliding_layers is empty.
  int sliding_window = 0;
  std::vector<uint8_t> sliding_layers;
  // Stored norm weights are w with the effective multiplier w + norm_weight_offset (Gemma's 1 + w). The
  // loader adds the offset, so a loaded Model always holds the effective multiplier and this is 0 there.
  float norm_weight_offset = 0.0f;

  int window_of(int layer) const {
    if (sliding_window <= 0) return 0;
    return sliding_layers.empty() || sliding_layers.at(layer) ? sliding_window : 0;
  }
  int rotary_dims() const { return rotary_dim > 0 ? rotary_dim : head_dim; }
  // Which norm's output each linear reads (for weight transforms that fold a norm into the linears after it):
  // q, k, v (and g_proj) read attn_norm's output exactly when this is true, the raw residual otherwise;
  bool attn_norm_feeds_qkv() const { return pre_norm; }
  // gate / up read mlp_norm's output exactly when this is true (mlp_norm reads the residual after attention,
  // or the block input with parallel_residual). o and down read attention / MLP outputs, never a norm; the
  // post-norms (post_norm) and q/k norms (qk_norm) follow a linear and feed no linear.
  bool mlp_norm_feeds_gate_up() const { return pre_norm || parallel_residual; }
  float score_scale() const;  // attn_scale, or 1/sqrt(head_dim)
  std::string recipe_json = "{}";  // the qharness recipe block (training task, optimiser, seed, ...) verbatim
};

const char* to_string(NormKind k);  // "layernorm" | "rmsnorm"
const char* to_string(PosKind k);   // "learned" | "rope" | "none"
const char* to_string(MlpKind k);   // "relu" | "gelu" | "gelu_exact" | "swiglu" | "geglu"
const char* to_string(QkNorm k);    // "none" | "head" | "full"
const char* to_string(AttnKind k);  // "softmax" | "relu" | "sink" | "gated" | "clipped"
const char* to_string(GateKind k);  // "elementwise" | "head"

}  // namespace qh
