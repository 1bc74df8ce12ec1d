#include "models/tensor_layout.h"

#include "src/core/error.h"

namespace qh {

namespace {

using Shape = std::vector<int64_t>;

struct Builder {
  std::vector<TensorSlot> slots;
  void add(std::string name, Shape shape, Tensor* t) { slots.push_back({std::move(name), std::move(shape), false, {t}, false}); }
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::vector<TensorSlot> canonical_layout(const ArchSpec& s, Model* m) {
  const int64_t d = s.d_model, hd = s.head_dim, q = int64_t{s.num_heads} * hd, kv = int64_t{s.num_kv_heads} * hd;
  const int64_t ff = s.d_ff, V = s.vocab_size;
  m->layers.resize(s.num_layers);
  Builder b;
  b.add("model.embed_tokens.weight", {V, d}, &m->tok_emb);
  if (s.positions == PosKind::kLearned) b.add("model.embed_positions.weight", {s.context, d}, &m->pos_emb);
  for (int i = 0; i < s.num_layers; ++i) {
    LayerWeights& L = m->layers[i];
    const std::string p = "model.layers." + std::to_string(i) + ".";
    b.add(p + "input_layernorm.weight", {d}, &L.attn_norm_w);
    if (s.norm_bias) b.add(p + "input_layernorm.bias", {d}, &L.attn_norm_b);
    b.add(p + "self_attn.q_proj.weight", {q, d}, &L.wq);
    b.add(p + "self_attn.k_proj.weight", {kv, d}, &L.wk);
    b.add(p + "self_attn.v_proj.weight", {kv, d}, &L.wv);
    if (s.qkv_bias) {
      b.add(p + "self_attn.q_proj.bias", {q}, &L.bq);
      b.add(p + "self_attn.k_proj.bias", {kv}, &L.bk);
      b.add(p + "self_attn.v_proj.bias", {kv}, &L.bv);
    }
    b.add(p + "self_attn.o_proj.weight", {d, q}, &L.wo);
    if (s.o_bias) b.add(p + "self_attn.o_proj.bias", {d}, &L.bo);
    if (s.attn.kind == AttnKind::kSink) b.add(p + "self_attn.sinks", {s.num_heads}, &L.sink);
    if (s.attn.kind == AttnKind::kGated)
      b.add(p + "self_attn.g_proj.weight", {s.attn.gate == GateKind::kPerHead ? int64_t{s.num_heads} : q, d}, &L.wg);
    b.add(p + "post_attention_layernorm.weight", {d}, &L.mlp_norm_w);
    if (s.norm_bias) b.add(p + "post_attention_layernorm.bias", {d}, &L.mlp_norm_b);
    if (s.mlp == MlpKind::kSwiGLU) b.add(p + "mlp.gate_proj.weight", {ff, d}, &L.w_gate);
    b.add(p + "mlp.up_proj.weight", {ff, d}, &L.w_up);
    if (s.mlp_bias) b.add(p + "mlp.up_proj.bias", {ff}, &L.b_up);
    b.add(p + "mlp.down_proj.weight", {d, ff}, &L.w_down);
    if (s.mlp_bias) b.add(p + "mlp.down_proj.bias", {d}, &L.b_down);
  }
  b.add("model.norm.weight", {d}, &m->final_norm_w);
  if (s.norm_bias) b.add("model.norm.bias", {d}, &m->final_norm_b);
  b.add("lm_head.weight", {V, d}, &m->lm_head);
  b.slots.back().ignore = s.tied_embeddings;
  return b.slots;
}

std::vector<std::pair<std::string, const Tensor*>> canonical_tensors(const Model& m) {
  QH_CHECK(static_cast<int>(m.layers.size()) == m.spec.num_layers);
  // canonical_layout only takes the tensors' addresses (its resize of the layers is a no-op here).
  std::vector<std::pair<std::string, const Tensor*>> out;
  for (const TensorSlot& slot : canonical_layout(m.spec, const_cast<Model*>(&m)))
    out.emplace_back(slot.name, slot.targets[0]);
  return out;
}

static std::vector<TensorSlot> gpt2_layout(const ArchSpec& s, Model* m, const std::string& pre) {
  const int64_t d = s.d_model, ff = s.d_ff, V = s.vocab_size;
  m->layers.resize(s.num_layers);
  Builder b;
  auto conv = [&](std::string name, Shape stored, std::vector<Tensor*> targets) {
    b.slots.push_back({std::move(name), std::move(stored), true, std::move(targets), false});
  };
  auto split = [&](std::string name, Shape stored, std::vector<Tensor*> targets) {
    b.slots.push_back({std::move(name), std::move(stored), false, std::move(targets), false});
  };
  b.add(pre + "wte.weight", {V, d}, &m->tok_emb);
  b.add(pre + "wpe.weight", {s.context, d}, &m->pos_emb);
  for (int i = 0; i < s.num_layers; ++i) {
    LayerWeights& L = m->layers[i];
    const std::string p = pre + "h." + std::to_string(i) + ".";
    b.add(p + "ln_1.weight", {d}, &L.attn_norm_w);
    b.add(p + "ln_1.bias", {d}, &L.attn_norm_b);
    conv(p + "attn.c_attn.weight", {d, 3 * d}, {&L.wq, &L.wk, &L.wv});
    split(p + "attn.c_attn.bias", {3 * d}, {&L.bq, &L.bk, &L.bv});
    conv(p + "attn.c_proj.weight", {d, d}, {&L.wo});
    b.add(p + "attn.c_proj.bias", {d}, &L.bo);
    b.add(p + "ln_2.weight", {d}, &L.mlp_norm_w);
    b.add(p + "ln_2.bias", {d}, &L.mlp_norm_b);
    conv(p + "mlp.c_fc.weight", {d, ff}, {&L.w_up});
    b.add(p + "mlp.c_fc.bias", {ff}, &L.b_up);
    conv(p + "mlp.c_proj.weight", {ff, d}, {&L.w_down});
    b.add(p + "mlp.c_proj.bias", {d}, &L.b_down);
  }
  b.add(pre + "ln_f.weight", {d}, &m->final_norm_w);
  b.add(pre + "ln_f.bias", {d}, &m->final_norm_b);
  b.add("lm_head.weight", {V, d}, &m->lm_head);
  b.slots.back().ignore = s.tied_embeddings;
  return b.slots;
}

std::vector<TensorSlot> file_layout(const ArchSpec& s, Model* m, const std::string& gpt2_prefix) {
  if (s.architecture == "GPT2LMHeadModel") return gpt2_layout(s, m, gpt2_prefix);
  return canonical_layout(s, m);
}

bool is_ignored_buffer(const ArchSpec& s, const std::string& name) {
  if (s.architecture == "GPT2LMHeadModel") return ends_with(name, ".attn.bias") || ends_with(name, ".attn.masked_bias");
  return ends_with(name, ".rotary_emb.inv_freq");
}

}  // namespace qh
