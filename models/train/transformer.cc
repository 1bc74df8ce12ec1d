#include "models/train/transformer.h"

#include <algorithm>

#include "models/train/attention.h"
#include "models/train/ops.h"
#include "src/core/error.h"

namespace qh::train {
namespace {

bool is_layer_norm(const Model& m) { return m.spec.norm == NormKind::kLayerNorm; }

const float* opt(const Tensor& t) { return t.empty() ? nullptr : t.ptr(); }
float* opt(Tensor& t) { return t.empty() ? nullptr : t.ptr(); }

Act mlp_act(MlpKind k) {
  switch (k) {
    case MlpKind::kRelu: return Act::kRelu;
    case MlpKind::kGelu: return Act::kGeluTanh;
    case MlpKind::kGeluExact: return Act::kGeluExact;
    case MlpKind::kSwiGLU: break;
    case MlpKind::kGeGLU: break;
  }
  return Act::kRelu;
}

// The trainer implements the zoo's block (pre-norm, SwiGLU or a plain activation, full RoPE or learned
// positions, no soft-capping or sliding windows). Specs of loaded HF architectures can carry more; training
// them here would silently drop what they add, so such a spec is an internal error, never a quiet
// approximation (recipes only build zoo blocks).
void check_trainable(const ArchSpec& s) {
  QH_CHECK(s.mlp != MlpKind::kGeGLU && s.pre_norm && !s.post_norm && !s.parallel_residual &&
           s.qk_norm == QkNorm::kNone && (s.rotary_dim == 0 || s.rotary_dim == s.head_dim) &&
           s.attn_scale == 0.0f && s.attn_softcap == 0.0f && s.final_softcap == 0.0f && s.embed_scale == 1.0f &&
           s.sliding_window == 0 && s.norm_weight_offset == 0.0f);
}

AttnVariant<float> variant(const ArchSpec& s) {
  AttnVariant<float> v;
  v.kind = s.attn.kind;
  v.zeta = s.attn.clip_zeta;
  v.gamma = s.attn.clip_gamma;
  return v;
}

// Gate width per token: one gate per channel or one per head.
int64_t gate_width(const ArchSpec& s) {
  return s.attn.gate == GateKind::kElementwise ? int64_t{s.num_heads} * s.head_dim : s.num_heads;
}

}  // namespace

void forward(const Model& m, const int32_t* tokens, int64_t B, int64_t T, Activations& acts) {
  check_trainable(m.spec);
  const ArchSpec& s = m.spec;
  QH_CHECK(s.num_kv_heads == s.num_heads);
  const int64_t N = B * T, d = s.d_model, H = s.num_heads, hd = s.head_dim, ld = H * hd, ff = s.d_ff,
                V = s.vocab_size;
  const bool ln = is_layer_norm(m);
  const float eps = s.norm_eps;
  acts.B = B;
  acts.T = T;
  acts.tokens.assign(tokens, tokens + N);
  acts.layers.resize(m.layers.size());

  std::vector<float> x(N * d);
  for (int64_t r = 0; r < N; ++r) {
    const int32_t tok = tokens[r];
    QH_CHECK(tok >= 0 && tok < V);
    const float* e = m.tok_emb.row(tok);
    const float* p = s.positions == PosKind::kLearned ? m.pos_emb.row(r % T) : nullptr;
    for (int64_t c = 0; c < d; ++c) x[r * d + c] = e[c] + (p ? p[c] : 0.0f);
  }

  const AttnVariant<float> var = variant(s);
  for (size_t l = 0; l < m.layers.size(); ++l) {
    const LayerWeights& w = m.layers[l];
    LayerCache& c = acts.layers[l];
    c.x_in = x;
    c.xhat1.resize(N * d);
    c.rstd1.resize(N);
    c.a1.resize(N * d);
    norm_forward(c.a1.data(), c.xhat1.data(), c.rstd1.data(), x.data(), w.attn_norm_w.ptr(),
                 opt(w.attn_norm_b), N, d, ln, eps);
    c.q.resize(N * ld);
    c.k.resize(N * ld);
    c.v.resize(N * ld);
    linear_forward(c.q.data(), c.a1.data(), w.wq.ptr(), opt(w.bq), N, d, ld);
    linear_forward(c.k.data(), c.a1.data(), w.wk.ptr(), opt(w.bk), N, d, ld);
    linear_forward(c.v.data(), c.a1.data(), w.wv.ptr(), opt(w.bv), N, d, ld);
    if (s.positions == PosKind::kRope) {
      rope_apply(c.q.data(), N, T, H, hd, s.rope_theta, false);
      rope_apply(c.k.data(), N, T, H, hd, s.rope_theta, false);
    }
    c.probs.resize(B * H * T * T);
    c.aux.resize(var.kind == AttnKind::kClipped ? B * H * T * T : 0);
    c.att.resize(N * ld);
#pragma omp parallel for schedule(static)
    for (int64_t bh = 0; bh < B * H; ++bh) {
      const int64_t b = bh / H, h = bh % H;
      const int64_t off = b * T * ld + h * hd;
      attention_forward(c.att.data() + off, c.probs.data() + bh * T * T,
                        c.aux.empty() ? nullptr : c.aux.data() + bh * T * T, c.q.data() + off,
                        c.k.data() + off, c.v.data() + off, T, hd, ld, var,
                        var.kind == AttnKind::kSink ? w.sink.data[h] : 0.0f);
    }
    c.o_in = c.att;
    if (var.kind == AttnKind::kGated) {
      const int64_t G = gate_width(s);
      c.gate.resize(N * G);
      linear_forward(c.gate.data(), c.a1.data(), w.wg.ptr(), static_cast<const float*>(nullptr), N, d, G);
      for (auto& g : c.gate) g = sigmoid(g);
      const int64_t per = ld / G;  // channels sharing one gate
      for (int64_t r = 0; r < N; ++r)
        for (int64_t j = 0; j < ld; ++j) c.o_in[r * ld + j] *= c.gate[r * G + j / per];
    }
    std::vector<float> y(N * d);
    linear_forward(y.data(), c.o_in.data(), w.wo.ptr(), opt(w.bo), N, ld, d);
    for (int64_t i = 0; i < N * d; ++i) x[i] += y[i];
    c.x_mid = x;
    c.xhat2.resize(N * d);
    c.rstd2.resize(N);
    c.a2.resize(N * d);
    norm_forward(c.a2.data(), c.xhat2.data(), c.rstd2.data(), x.data(), w.mlp_norm_w.ptr(),
                 opt(w.mlp_norm_b), N, d, ln, eps);
    c.up.resize(N * ff);
    c.hidden.resize(N * ff);
    linear_forward(c.up.data(), c.a2.data(), w.w_up.ptr(), opt(w.b_up), N, d, ff);
    if (s.mlp == MlpKind::kSwiGLU) {
      c.gate_pre.resize(N * ff);
      linear_forward(c.gate_pre.data(), c.a2.data(), w.w_gate.ptr(), static_cast<const float*>(nullptr), N, d, ff);
      swiglu_forward(c.hidden.data(), c.gate_pre.data(), c.up.data(), N * ff);
    } else {
      act_forward(c.hidden.data(), c.up.data(), N * ff, mlp_act(s.mlp));
    }
    linear_forward(y.data(), c.hidden.data(), w.w_down.ptr(), opt(w.b_down), N, ff, d);
    for (int64_t i = 0; i < N * d; ++i) x[i] += y[i];
  }
  acts.x_final = x;
  acts.xhatf.resize(N * d);
  acts.rstdf.resize(N);
  acts.af.resize(N * d);
  norm_forward(acts.af.data(), acts.xhatf.data(), acts.rstdf.data(), x.data(), m.final_norm_w.ptr(),
               opt(m.final_norm_b), N, d, ln, eps);
  const Tensor& head = s.tied_embeddings ? m.tok_emb : m.lm_head;
  acts.logits.resize(N * V);
  linear_forward(acts.logits.data(), acts.af.data(), head.ptr(), static_cast<const float*>(nullptr), N, d, V);
}

double loss_and_gradient(Activations& acts, const int32_t* targets, int64_t vocab) {
  const int64_t N = acts.B * acts.T;
  int64_t counted = 0;
  for (int64_t r = 0; r < N; ++r) counted += targets[r] >= 0;
  QH_CHECK(counted > 0);
  acts.row_loss.resize(N);
  acts.dlogits.resize(N * vocab);
  const double total =
      cross_entropy_forward_backward(acts.logits.data(), targets, N, vocab, acts.row_loss.data(),
                                     acts.dlogits.data(), 1.0f / static_cast<float>(counted));
  return total / static_cast<double>(counted);
}

void backward(const Model& m, Activations& acts, Model& grads) {
  const ArchSpec& s = m.spec;
  const int64_t B = acts.B, T = acts.T, N = B * T, d = s.d_model, H = s.num_heads, hd = s.head_dim,
                ld = H * hd, ff = s.d_ff, V = s.vocab_size;
  const bool ln = is_layer_norm(m);
  const AttnVariant<float> var = variant(s);

  const Tensor& head = s.tied_embeddings ? m.tok_emb : m.lm_head;
  Tensor& dhead = s.tied_embeddings ? grads.tok_emb : grads.lm_head;
  std::vector<float> daf(N * d);
  linear_backward(daf.data(), dhead.ptr(), static_cast<float*>(nullptr), acts.dlogits.data(), acts.af.data(),
                  head.ptr(), N, d, V, false);
  std::vector<float> dx(N * d, 0.0f);
  norm_backward(dx.data(), grads.final_norm_w.ptr(), opt(grads.final_norm_b), daf.data(), acts.xhatf.data(),
                acts.rstdf.data(), m.final_norm_w.ptr(), N, d, ln);

  std::vector<float> dhidden(N * ff), dup(N * ff), dgate_pre, da(N * d), do_in(N * ld), datt(N * ld),
      dq(N * ld), dk(N * ld), dv(N * ld), dp(B * H * T * T), dsink(B * H);
  for (int64_t l = static_cast<int64_t>(m.layers.size()) - 1; l >= 0; --l) {
    const LayerWeights& w = m.layers[l];
    LayerWeights& g = grads.layers[l];
    const LayerCache& c = acts.layers[l];
    // MLP: x_out = x_mid + W_down h + b_down
    linear_backward(dhidden.data(), g.w_down.ptr(), opt(g.b_down), dx.data(), c.hidden.data(), w.w_down.ptr(),
                    N, ff, d, false);
    if (s.mlp == MlpKind::kSwiGLU) {
      dgate_pre.resize(N * ff);
      swiglu_backward(dgate_pre.data(), dup.data(), dhidden.data(), c.gate_pre.data(), c.up.data(), N * ff);
      linear_backward(da.data(), g.w_gate.ptr(), static_cast<float*>(nullptr), dgate_pre.data(), c.a2.data(),
                      w.w_gate.ptr(), N, d, ff, false);
      linear_backward(da.data(), g.w_up.ptr(), opt(g.b_up), dup.data(), c.a2.data(), w.w_up.ptr(), N, d, ff,
                      true);
    } else {
      act_backward(dup.data(), dhidden.data(), c.up.data(), N * ff, mlp_act(s.mlp));
      linear_backward(da.data(), g.w_up.ptr(), opt(g.b_up), dup.data(), c.a2.data(), w.w_up.ptr(), N, d, ff,
                      false);
    }
    norm_backward(dx.data(), g.mlp_norm_w.ptr(), opt(g.mlp_norm_b), da.data(), c.xhat2.data(), c.rstd2.data(),
                  w.mlp_norm_w.ptr(), N, d, ln);
    // Attention: x_mid = x_in + W_O o_in + b_O
    linear_backward(do_in.data(), g.wo.ptr(), opt(g.bo), dx.data(), c.o_in.data(), w.wo.ptr(), N, ld, d, false);
    std::fill(da.begin(), da.end(), 0.0f);
    if (var.kind == AttnKind::kGated) {
      const int64_t G = gate_width(s), per = ld / G;
      std::vector<float> dgate(N * G, 0.0f);
      for (int64_t r = 0; r < N; ++r)
        for (int64_t j = 0; j < ld; ++j) {
          const int64_t gi = r * G + j / per;
          datt[r * ld + j] = do_in[r * ld + j] * c.gate[gi];
          dgate[gi] += do_in[r * ld + j] * c.att[r * ld + j];
        }
      for (int64_t i = 0; i < N * G; ++i) dgate[i] *= c.gate[i] * (1.0f - c.gate[i]);
      linear_backward(da.data(), g.wg.ptr(), static_cast<float*>(nullptr), dgate.data(), c.a1.data(),
                      w.wg.ptr(), N, d, G, true);
    } else {
      datt = do_in;
    }
#pragma omp parallel for schedule(static)
    for (int64_t bh = 0; bh < B * H; ++bh) {
      const int64_t b = bh / H, h = bh % H;
      const int64_t off = b * T * ld + h * hd;
      dsink[bh] = attention_backward(dq.data() + off, dk.data() + off, dv.data() + off, dp.data() + bh * T * T,
                                     datt.data() + off, c.probs.data() + bh * T * T,
                                     c.aux.empty() ? nullptr : c.aux.data() + bh * T * T, c.q.data() + off,
                                     c.k.data() + off, c.v.data() + off, T, hd, ld, var);
    }
    if (var.kind == AttnKind::kSink)
      for (int64_t bh = 0; bh < B * H; ++bh) g.sink.data[bh % H] += dsink[bh];
    if (s.positions == PosKind::kRope) {
      rope_apply(dq.data(), N, T, H, hd, s.rope_theta, true);
      rope_apply(dk.data(), N, T, H, hd, s.rope_theta, true);
    }
    linear_backward(da.data(), g.wq.ptr(), opt(g.bq), dq.data(), c.a1.data(), w.wq.ptr(), N, d, ld, true);
    linear_backward(da.data(), g.wk.ptr(), opt(g.bk), dk.data(), c.a1.data(), w.wk.ptr(), N, d, ld, true);
    linear_backward(da.data(), g.wv.ptr(), opt(g.bv), dv.data(), c.a1.data(), w.wv.ptr(), N, d, ld, true);
    norm_backward(dx.data(), g.attn_norm_w.ptr(), opt(g.attn_norm_b), da.data(), c.xhat1.data(), c.rstd1.data(),
                  w.attn_norm_w.ptr(), N, d, ln);
  }
  for (int64_t r = 0; r < N; ++r) {
    float* ge = grads.tok_emb.row(acts.tokens[r]);
    float* gp = s.positions == PosKind::kLearned ? grads.pos_emb.row(r % T) : nullptr;
    for (int64_t c = 0; c < d; ++c) {
      ge[c] += dx[r * d + c];
      if (gp) gp[c] += dx[r * d + c];
    }
  }
}

void for_each_param(Model& m, const std::function<void(const std::string&, Tensor&)>& fn) {
  auto visit = [&](const std::string& name, Tensor& t) {
    if (!t.empty()) fn(name, t);
  };
  visit("model.embed_tokens.weight", m.tok_emb);
  visit("model.embed_positions.weight", m.pos_emb);
  for (size_t i = 0; i < m.layers.size(); ++i) {
    LayerWeights& w = m.layers[i];
    const std::string p = "model.layers." + std::to_string(i) + ".";
    visit(p + "input_layernorm.weight", w.attn_norm_w);
    visit(p + "input_layernorm.bias", w.attn_norm_b);
    visit(p + "self_attn.q_proj.weight", w.wq);
    visit(p + "self_attn.q_proj.bias", w.bq);
    visit(p + "self_attn.k_proj.weight", w.wk);
    visit(p + "self_attn.k_proj.bias", w.bk);
    visit(p + "self_attn.v_proj.weight", w.wv);
    visit(p + "self_attn.v_proj.bias", w.bv);
    visit(p + "self_attn.o_proj.weight", w.wo);
    visit(p + "self_attn.o_proj.bias", w.bo);
    visit(p + "self_attn.sinks", w.sink);
    visit(p + "self_attn.g_proj.weight", w.wg);
    visit(p + "post_attention_layernorm.weight", w.mlp_norm_w);
    visit(p + "post_attention_layernorm.bias", w.mlp_norm_b);
    visit(p + "mlp.gate_proj.weight", w.w_gate);
    visit(p + "mlp.up_proj.weight", w.w_up);
    visit(p + "mlp.up_proj.bias", w.b_up);
    visit(p + "mlp.down_proj.weight", w.w_down);
    visit(p + "mlp.down_proj.bias", w.b_down);
  }
  visit("model.norm.weight", m.final_norm_w);
  visit("model.norm.bias", m.final_norm_b);
  if (!m.spec.tied_embeddings) visit("lm_head.weight", m.lm_head);
}

Model zeros_like(const Model& m) {
  Model z = m;
  for_each_param(z, [](const std::string&, Tensor& t) { std::fill(t.data.begin(), t.data.end(), 0.0f); });
  return z;
}

int64_t count_params(const Model& m) {
  int64_t n = 0;
  for_each_param(const_cast<Model&>(m), [&](const std::string&, Tensor& t) { n += static_cast<int64_t>(t.size()); });
  return n;
}

}  // namespace qh::train
