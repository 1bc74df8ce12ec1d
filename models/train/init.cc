#include "models/train/init.h"

#include <cmath>
#include <string>

#include "src/core/rng.h"
#include "src/core/error.h"

namespace qh::train {
namespace {

void check_positive(int v, const char* field) {
  if (v <= 0) throw InputError(std::string("train: ") + field + " must be positive, got " + std::to_string(v));
}

Tensor normal_tensor(std::vector<int64_t> shape, double stddev, Rng& rng) {
  Tensor t(std::move(shape));
  for (float& x : t.data) x = static_cast<float>(stddev * rng.normal());
  return t;
}

Tensor filled(std::vector<int64_t> shape, float value) {
  Tensor t(std::move(shape));
  for (float& x : t.data) x = value;
  return t;
}

}  // namespace

Model init_model(const ArchSpec& s, uint64_t seed) {
  check_positive(s.num_layers, "layers");
  check_positive(s.d_model, "d_model");
  check_positive(s.num_heads, "heads");
  check_positive(s.head_dim, "head_dim");
  check_positive(s.d_ff, "d_ff");
  check_positive(s.vocab_size, "vocab_size");
  check_positive(s.context, "context");
  if (s.num_kv_heads != s.num_heads)
    throw InputError("train: grouped-query attention is not supported by the trainer (num_kv_heads must equal "
                     "num_heads)");
  if (s.positions == PosKind::kRope && s.head_dim % 2 != 0)
    throw InputError("train: RoPE needs an even head_dim, got " + std::to_string(s.head_dim));
  if (s.attn.kind == AttnKind::kClipped && (s.attn.clip_zeta < 1.0f || s.attn.clip_gamma > 0.0f))
    throw InputError("train: clipped attention needs zeta >= 1 and gamma <= 0");

  Rng rng(seed);
  const int64_t d = s.d_model, ld = int64_t{s.num_heads} * s.head_dim, ff = s.d_ff, V = s.vocab_size;
  const double std0 = 0.02, std_out = 0.02 / std::sqrt(2.0 * s.num_layers);
  const bool ln_bias = s.norm == NormKind::kLayerNorm && s.norm_bias;
  Model m;
  m.spec = s;
  m.tok_emb = normal_tensor({V, d}, std0, rng);
  if (s.positions == PosKind::kLearned) m.pos_emb = normal_tensor({s.context, d}, std0, rng);
  for (int l = 0; l < s.num_layers; ++l) {
    LayerWeights w;
    w.attn_norm_w = filled({d}, 1.0f);
    if (ln_bias) w.attn_norm_b = filled({d}, 0.0f);
    w.wq = normal_tensor({ld, d}, std0, rng);
    w.wk = normal_tensor({ld, d}, std0, rng);
    w.wv = normal_tensor({ld, d}, std0, rng);
    if (s.qkv_bias) {
      w.bq = filled({ld}, 0.0f);
      w.bk = filled({ld}, 0.0f);
      w.bv = filled({ld}, 0.0f);
    }
    w.wo = normal_tensor({d, ld}, std_out, rng);
    if (s.o_bias) w.bo = filled({d}, 0.0f);
    if (s.attn.kind == AttnKind::kSink) w.sink = filled({s.num_heads}, 0.0f);
    if (s.attn.kind == AttnKind::kGated)
      w.wg = normal_tensor({s.attn.gate == GateKind::kElementwise ? ld : int64_t{s.num_heads}, d}, std0, rng);
    w.mlp_norm_w = filled({d}, 1.0f);
    if (ln_bias) w.mlp_norm_b = filled({d}, 0.0f);
    if (s.mlp == MlpKind::kSwiGLU) w.w_gate = normal_tensor({ff, d}, std0, rng);
    w.w_up = normal_tensor({ff, d}, std0, rng);
    if (s.mlp_bias) w.b_up = filled({ff}, 0.0f);
    w.w_down = normal_tensor({d, ff}, std_out, rng);
    if (s.mlp_bias) w.b_down = filled({d}, 0.0f);
    m.layers.push_back(std::move(w));
  }
  m.final_norm_w = filled({d}, 1.0f);
  if (ln_bias) m.final_norm_b = filled({d}, 0.0f);
  if (!s.tied_embeddings) m.lm_head = normal_tensor({V, d}, std0, rng);
  return m;
}

}  // namespace qh::train
