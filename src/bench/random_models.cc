#include "src/bench/random_models.h"

#include <cmath>
#include <utility>

namespace qh::bench {

Tensor random_tensor(std::vector<int64_t> shape, std::mt19937& rng, float scale, float offset) {
  std::normal_distribution<float> g(0.0f, 1.0f);
  Tensor x(std::move(shape));
  for (float& v : x.data) v = offset + scale * g(rng);
  return x;
}

Model random_llama(const LlamaShape& s, std::mt19937& rng) {
  ArchSpec a;
  a.architecture = "LlamaForCausalLM";
  a.d_model = s.d_model;
  a.num_layers = static_cast<int>(s.num_layers);
  a.head_dim = 64;
  a.num_heads = static_cast<int>(s.d_model / 64);
  a.num_kv_heads = static_cast<int>(s.kv_heads);
  a.d_ff = s.d_ff;
  a.vocab_size = s.vocab_size;
  a.context = s.context;
  a.bos_token_id = 0;
  const int64_t d = a.d_model, ff = a.d_ff, hq = a.num_heads * a.head_dim, hkv = a.num_kv_heads * a.head_dim;
  const float ws = 1.0f / std::sqrt(static_cast<float>(d));
  Model m;
  m.spec = a;
  m.tok_emb = random_tensor({a.vocab_size, d}, rng, 1.0f);
  for (int l = 0; l < a.num_layers; ++l) {
    LayerWeights w;
    w.attn_norm_w = random_tensor({d}, rng, 0.1f, 1.0f);
    w.mlp_norm_w = random_tensor({d}, rng, 0.1f, 1.0f);
    w.wq = random_tensor({hq, d}, rng, ws);
    w.wk = random_tensor({hkv, d}, rng, ws);
    w.wv = random_tensor({hkv, d}, rng, ws);
    w.wo = random_tensor({d, hq}, rng, 1.0f / std::sqrt(static_cast<float>(hq)));
    w.w_gate = random_tensor({ff, d}, rng, ws);
    w.w_up = random_tensor({ff, d}, rng, ws);
    w.w_down = random_tensor({d, ff}, rng, 1.0f / std::sqrt(static_cast<float>(ff)));
    m.layers.push_back(std::move(w));
  }
  m.final_norm_w = random_tensor({d}, rng, 0.1f, 1.0f);
  m.lm_head = random_tensor({a.vocab_size, d}, rng, ws);
  return m;
}

}  // namespace qh::bench
