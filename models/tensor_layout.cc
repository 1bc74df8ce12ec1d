#include "models/tensor_layout.h"

#include "src/core/error.h"

namespace qh {

namespace {

using Shape = std::vector<int64_t>;

// A slot that is loaded whole or split into equal parts (fused layouts then set part_rows / groups).
TensorSlot make_slot(std::string name, Shape shape, bool transpose, std::vector<Tensor*> targets) {
  TensorSlot slot;
  slot.name = std::move(name);
  slot.shape = std::move(shape);
  slot.transpose = transpose;
  slot.targets = std::move(targets);
  return slot;
}

struct Builder {
  std::vector<TensorSlot> slots;
  void add(std::string name, Shape shape, Tensor* t) {
    slots.push_back(make_slot(std::move(name), std::move(shape), false, {t}));
  }
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

int64_t TensorSlot::target_rows(size_t i) const {
  if (part_rows.empty()) {
    const int64_t first = transpose ? shape.at(1) : shape.at(0);
    return first / static_cast<int64_t>(targets.size());
  }
  return part_rows.at(i) * groups;
}

namespace {

// HF names of the Llama family's blocks; architectures differ in the norms' names and in fused tensors.
struct LlamaNames {
  std::string attn_norm = "input_layernorm";
  std::string mlp_norm = "post_attention_layernorm";
  std::string attn_out_norm = "attn_output_norm";  // the project's names for post-norms
  std::string mlp_out_norm = "mlp_output_norm";
  bool fused_qkv = false, fused_gate_up = false;   // Phi-3
  bool gate_in_q_proj = false;                     // HF gated attention: q_proj holds [query|gate] per head
};

LlamaNames names_of(const ArchSpec& s) {
  LlamaNames n;
  if (s.architecture == "QHarnessForCausalLM") return n;
  if (s.architecture == "Gemma2ForCausalLM") {
    n.mlp_norm = "pre_feedforward_layernorm";
    n.attn_out_norm = "post_attention_layernorm";
    n.mlp_out_norm = "post_feedforward_layernorm";
  } else if (s.architecture == "Olmo2ForCausalLM") {
    n.attn_out_norm = "post_attention_layernorm";
    n.mlp_out_norm = "post_feedforward_layernorm";
  } else if (s.architecture == "Phi3ForCausalLM") {
    n.fused_qkv = n.fused_gate_up = true;
  }
  n.gate_in_q_proj = s.attn.kind == AttnKind::kGated;
  return n;
}

std::vector<TensorSlot> llama_layout(const ArchSpec& s, Model* m, const LlamaNames& n) {
  const int64_t d = s.d_model, hd = s.head_dim, q = int64_t{s.num_heads} * hd, kv = int64_t{s.num_kv_heads} * hd;
  const int64_t ff = s.d_ff, V = s.vocab_size;
  m->layers.resize(s.num_layers);
  Builder b;
  auto fused = [&](std::string name, Shape shape, std::vector<Tensor*> targets, std::vector<int64_t> parts,
                   int64_t groups) {
    TensorSlot slot = make_slot(std::move(name), std::move(shape), false, std::move(targets));
    slot.part_rows = std::move(parts);
    slot.groups = groups;
    b.slots.push_back(std::move(slot));
  };
  b.add("model.embed_tokens.weight", {V, d}, &m->tok_emb);
  if (s.positions == PosKind::kLearned) b.add("model.embed_positions.weight", {s.context, d}, &m->pos_emb);
  for (int i = 0; i < s.num_layers; ++i) {
    LayerWeights& L = m->layers[i];
    const std::string p = "model.layers." + std::to_string(i) + ".";
    if (s.pre_norm) {
      b.add(p + n.attn_norm + ".weight", {d}, &L.attn_norm_w);
      if (s.norm_bias) b.add(p + n.attn_norm + ".bias", {d}, &L.attn_norm_b);
    }
    const bool gated = s.attn.kind == AttnKind::kGated;
    if (n.fused_qkv) {
      fused(p + "self_attn.qkv_proj.weight", {q + 2 * kv, d}, {&L.wq, &L.wk, &L.wv}, {q, kv, kv}, 1);
    } else {
      if (gated && n.gate_in_q_proj)
        fused(p + "self_attn.q_proj.weight", {2 * q, d}, {&L.wq, &L.wg}, {hd, hd}, s.num_heads);
      else
        b.add(p + "self_attn.q_proj.weight", {q, d}, &L.wq);
      b.add(p + "self_attn.k_proj.weight", {kv, d}, &L.wk);
      b.add(p + "self_attn.v_proj.weight", {kv, d}, &L.wv);
    }
    if (s.qkv_bias) {
      b.add(p + "self_attn.q_proj.bias", {q}, &L.bq);
      b.add(p + "self_attn.k_proj.bias", {kv}, &L.bk);
      b.add(p + "self_attn.v_proj.bias", {kv}, &L.bv);
    }
    if (s.qk_norm != QkNorm::kNone) {
      const bool per_head = s.qk_norm == QkNorm::kPerHead;
      b.add(p + "self_attn.q_norm.weight", {per_head ? hd : q}, &L.q_norm_w);
      b.add(p + "self_attn.k_norm.weight", {per_head ? hd : kv}, &L.k_norm_w);
    }
    b.add(p + "self_attn.o_proj.weight", {d, q}, &L.wo);
    if (s.o_bias) b.add(p + "self_attn.o_proj.bias", {d}, &L.bo);
    if (s.attn.kind == AttnKind::kSink) b.add(p + "self_attn.sinks", {s.num_heads}, &L.sink);
    if (gated && !n.gate_in_q_proj)
      b.add(p + "self_attn.g_proj.weight", {s.attn.gate == GateKind::kPerHead ? int64_t{s.num_heads} : q, d}, &L.wg);
    if (s.post_norm) b.add(p + n.attn_out_norm + ".weight", {d}, &L.attn_out_norm_w);
    if (s.pre_norm || s.parallel_residual) {
      b.add(p + n.mlp_norm + ".weight", {d}, &L.mlp_norm_w);
      if (s.norm_bias) b.add(p + n.mlp_norm + ".bias", {d}, &L.mlp_norm_b);
    }
    if (n.fused_gate_up) {
      fused(p + "mlp.gate_up_proj.weight", {2 * ff, d}, {&L.w_gate, &L.w_up}, {ff, ff}, 1);
    } else {
      if (is_glu(s.mlp)) b.add(p + "mlp.gate_proj.weight", {ff, d}, &L.w_gate);
      b.add(p + "mlp.up_proj.weight", {ff, d}, &L.w_up);
    }
    if (s.mlp_bias) b.add(p + "mlp.up_proj.bias", {ff}, &L.b_up);
    b.add(p + "mlp.down_proj.weight", {d, ff}, &L.w_down);
    if (s.mlp_bias) b.add(p + "mlp.down_proj.bias", {d}, &L.b_down);
    if (s.post_norm) b.add(p + n.mlp_out_norm + ".weight", {d}, &L.mlp_out_norm_w);
  }
  b.add("model.norm.weight", {d}, &m->final_norm_w);
  if (s.norm_bias) b.add("model.norm.bias", {d}, &m->final_norm_b);
  b.add("lm_head.weight", {V, d}, &m->lm_head);
  b.slots.back().ignore = s.tied_embeddings;
  return b.slots;
}

// GPT-NeoX / Pythia: query_key_value is [head][q|k|v][head_dim] (HF views its output as [T, H, 3 hd]).
std::vector<TensorSlot> neox_layout(const ArchSpec& s, Model* m) {
  const int64_t d = s.d_model, hd = s.head_dim, H = s.num_heads, ff = s.d_ff, V = s.vocab_size;
  m->layers.resize(s.num_layers);
  Builder b;
  auto per_head = [&](std::string name, Shape shape, std::vector<Tensor*> targets) {
    TensorSlot slot = make_slot(std::move(name), std::move(shape), false, std::move(targets));
    slot.part_rows = {hd, hd, hd};
    slot.groups = H;
    b.slots.push_back(std::move(slot));
  };
  b.add("gpt_neox.embed_in.weight", {V, d}, &m->tok_emb);
  for (int i = 0; i < s.num_layers; ++i) {
    LayerWeights& L = m->layers[i];
    const std::string p = "gpt_neox.layers." + std::to_string(i) + ".";
    b.add(p + "input_layernorm.weight", {d}, &L.attn_norm_w);
    b.add(p + "input_layernorm.bias", {d}, &L.attn_norm_b);
    b.add(p + "post_attention_layernorm.weight", {d}, &L.mlp_norm_w);
    b.add(p + "post_attention_layernorm.bias", {d}, &L.mlp_norm_b);
    per_head(p + "attention.query_key_value.weight", {3 * H * hd, d}, {&L.wq, &L.wk, &L.wv});
    if (s.qkv_bias) per_head(p + "attention.query_key_value.bias", {3 * H * hd}, {&L.bq, &L.bk, &L.bv});
    b.add(p + "attention.dense.weight", {d, H * hd}, &L.wo);
    if (s.o_bias) b.add(p + "attention.dense.bias", {d}, &L.bo);
    b.add(p + "mlp.dense_h_to_4h.weight", {ff, d}, &L.w_up);
    b.add(p + "mlp.dense_h_to_4h.bias", {ff}, &L.b_up);
    b.add(p + "mlp.dense_4h_to_h.weight", {d, ff}, &L.w_down);
    b.add(p + "mlp.dense_4h_to_h.bias", {d}, &L.b_down);
  }
  b.add("gpt_neox.final_layer_norm.weight", {d}, &m->final_norm_w);
  b.add("gpt_neox.final_layer_norm.bias", {d}, &m->final_norm_b);
  b.add("embed_out.weight", {V, d}, &m->lm_head);
  b.slots.back().ignore = s.tied_embeddings;
  return b.slots;
}

}  // namespace

// The project's names: HF Llama names, separate g_proj, post-norms as attn_output_norm / mlp_output_norm.
std::vector<TensorSlot> canonical_layout(const ArchSpec& s, Model* m) { return llama_layout(s, m, LlamaNames{}); }

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
    b.slots.push_back(make_slot(std::move(name), std::move(stored), true, std::move(targets)));
  };
  auto split = [&](std::string name, Shape stored, std::vector<Tensor*> targets) {
    b.slots.push_back(make_slot(std::move(name), std::move(stored), false, std::move(targets)));
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
  if (s.architecture == "GPTNeoXForCausalLM") return neox_layout(s, m);
  return llama_layout(s, m, names_of(s));
}

bool is_ignored_buffer(const ArchSpec& s, const std::string& name) {
  if (s.architecture == "GPT2LMHeadModel") return ends_with(name, ".attn.bias") || ends_with(name, ".attn.masked_bias");
  if (s.architecture == "GPTNeoXForCausalLM" &&
      (ends_with(name, ".attention.bias") || ends_with(name, ".attention.masked_bias")))
    return true;
  return ends_with(name, ".rotary_emb.inv_freq");
}

std::string hf_sinks_name(const ArchSpec& s) {
  if (s.architecture == "GPT2LMHeadModel" || s.architecture == "GPTNeoXForCausalLM" ||
      s.architecture == "QHarnessForCausalLM")
    return "";
  return "model.layers.0.self_attn.sinks";
}

}  // namespace qh
