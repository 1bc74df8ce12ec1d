// ArchSpec: the one description of a decoder-only transformer that every architecture (Llama, GPT-2, Qwen2,
// the project's own models) is mapped into. The engine and the trainer read only this, never config.json.
#pragma once

#include <cstdint>
#include <string>

namespace qh {

enum class NormKind { kLayerNorm, kRMSNorm };
enum class PosKind { kLearned, kRope, kNone };
// kGelu is the tanh approximation (GPT-2's gelu_new); kGeluExact is erf-based (HF "gelu").
enum class MlpKind { kRelu, kGelu, kGeluExact, kSwiGLU };
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
  std::string recipe_json = "{}";  // the qharness recipe block (training task, optimiser, seed, ...) verbatim
};

const char* to_string(NormKind k);  // "layernorm" | "rmsnorm"
const char* to_string(PosKind k);   // "learned" | "rope" | "none"
const char* to_string(MlpKind k);   // "relu" | "gelu" | "gelu_exact" | "swiglu"
const char* to_string(AttnKind k);  // "softmax" | "relu" | "sink" | "gated" | "clipped"
const char* to_string(GateKind k);  // "elementwise" | "head"

}  // namespace qh
