// Engine: builds the per-layer linears for a scheme + protection and runs the forward pass of a window.
#include "src/engine/engine.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "src/core/error.h"
#include "models/tensor_layout.h"
#include "quant/quantize.h"
#include "src/engine/attention.h"
#include "src/engine/for_rows.h"
#include "src/engine/linear.h"
#include "src/engine/ops.h"
#include "src/engine/window_parallel.h"

namespace qh::engine {

namespace {

// A group of sites sharing one input, fused into one Linear when their quantization settings agree.
struct SiteSlice {
  Site site;
  int64_t offset, width;  // columns of the fused output
};
struct FusedLinear {
  std::unique_ptr<Linear> linear;
  std::vector<SiteSlice> slices;
};

const float* opt(const Tensor& t) { return t.empty() ? nullptr : t.ptr(); }

}  // namespace

struct LayerState {
  std::vector<FusedLinear> attn_in;  // q, k, v (+ g_proj with q)
  std::vector<FusedLinear> mlp_in;   // gate, up
  std::unique_ptr<Linear> o, down;
  int64_t g_width = 0;               // columns of g_proj output (gated)
  std::unique_ptr<Attention> attention;
};

class QuantizedModel {
 public:
  QuantizedModel(const qh::Model& m, const Scheme& s, const Protection& p, const Calibration& c,
                 const EngineOptions& o);
  void forward(const int32_t* tokens, int64_t T, float* logits, Observer* obs, const uint8_t* rows);

  const qh::Model& model;
  Scheme scheme;
  Protection protection;
  Calibration calib;
  EngineOptions options;
  std::vector<LayerState> layers;
  std::unique_ptr<Linear> lm_head;
  const Tensor* emb = nullptr;  // token embeddings: the model's, or quantized_emb
  Tensor quantized_emb;        // fake-quantized copy when the scheme quantizes embeddings
  LinearPath path[kNumSites] = {};

 private:
  LinearConfig config_for(int layer, Site site) const;
  Attention::StaticKv static_kv_scales(const KvCalibration& c) const;
  std::vector<FusedLinear> build_group(int layer, const std::vector<std::pair<Site, const Tensor*>>& w,
                                       const std::vector<const Tensor*>& b);
  void run_group(int layer, std::vector<FusedLinear>& group, const float* x, int64_t T, float* y, int64_t ldy,
                 Observer* obs, const uint8_t* rows);
  void run_single(int layer, Site site, Linear& lin, const float* x, int64_t T, float* y, Observer* obs,
                  const uint8_t* rows);
};

namespace {
// Buffers of one forward pass, per calling thread: forward() runs concurrently on several threads (one window
// each) through the same QuantizedModel.
struct ForwardScratch {
  std::vector<float> h, xn, attn_in, att, tmp, attn_out, gate, mlp_in, act;
  std::vector<uint8_t> default_rows;
};
}  // namespace

LinearConfig QuantizedModel::config_for(int layer, Site site) const {
  LinearConfig c;
  c.force_fake = options.force_fake_quant;
  if (!scheme.sites[static_cast<int>(site)]) return c;
  if (!options.quantized_layers.empty() && !options.quantized_layers.at(layer)) return c;
  c.weights = scheme.weights;
  c.activations = scheme.activations;
  if (options.weight_quantizer)
    c.quantize_weights = [q = options.weight_quantizer, layer, site](const float* w, int64_t N, int64_t K,
                                                                     const QuantSpec& spec,
                                                                     const std::vector<int64_t>& segments) {
      return q(layer, site, w, N, K, spec, segments);
    };
  const bool needs_stats = protection.channels ||
                           (c.activations.enabled() && c.activations.granularity == Granularity::kPerTensor);
  if (!needs_stats) return c;
  if (calib.empty())
    throw InputError("scheme " + scheme.name + " with protection " + protection.name() +
                     " needs calibration data (static activation scales / outlier channels)");
  const SiteCalibration& sc = calib.sites.at(layer).at(static_cast<int>(site));
  if (protection.channels) c.protected_channels = protected_channels(sc.col_absmax, protection.outliers);
  float lo = 0, hi = 0;
  for (size_t k = 0; k < sc.col_min.size(); ++k) {
    if (std::binary_search(c.protected_channels.begin(), c.protected_channels.end(), static_cast<int>(k)))
      continue;
    lo = std::min(lo, sc.col_min[k]);
    hi = std::max(hi, sc.col_max[k]);
  }
  c.static_lo = lo;
  c.static_hi = hi;
  return c;
}

// One scale (and zero point) per key/value head from its calibrated range, as for static activations.
Attention::StaticKv QuantizedModel::static_kv_scales(const KvCalibration& c) const {
  const quant::RowParams p = quant::row_params(scheme.kv);
  Attention::StaticKv out;
  const size_t heads = c.k_min.size();
  for (auto* v : {&out.k_scale, &out.v_scale}) v->assign(heads, 0.0f);
  for (auto* v : {&out.k_zp, &out.v_zp}) v->assign(heads, 0);
  for (size_t h = 0; h < heads; ++h) {
    const float lo[2] = {c.k_min[h], c.v_min[h]}, hi[2] = {c.k_max[h], c.v_max[h]};
    float* scale[2] = {&out.k_scale[h], &out.v_scale[h]};
    int32_t* zp[2] = {&out.k_zp[h], &out.v_zp[h]};
    for (int i = 0; i < 2; ++i) {
      if (p.symmetric) quant::scale_from_absmax(std::max(std::fabs(lo[i]), std::fabs(hi[i])), p, scale[i]);
      else quant::scale_from_minmax(lo[i], hi[i], p, scale[i], zp[i]);
    }
  }
  return out;
}

// Sites with identical configs (same quantization on or off) are fused into one matrix [sum N, K].
std::vector<FusedLinear> QuantizedModel::build_group(int layer,
                                                     const std::vector<std::pair<Site, const Tensor*>>& w,
                                                     const std::vector<const Tensor*>& b) {
  std::vector<FusedLinear> out;
  size_t i = 0;
  while (i < w.size()) {
    size_t j = i + 1;
    const bool on = scheme.sites[static_cast<int>(w[i].first)];
    while (j < w.size() && scheme.sites[static_cast<int>(w[j].first)] == on) ++j;
    const int64_t K = w[i].second->dim(1);
    bool any_bias = false;
    for (size_t s = i; s < j; ++s) any_bias |= !b[s]->empty();
    std::vector<WeightRows> parts;  // the model's tensors, viewed in place (linear.h)
    std::vector<float> B;
    FusedLinear f;
    LinearConfig cfg = config_for(layer, w[i].first);
    int64_t row = 0;
    for (size_t s = i; s < j; ++s) {
      const Tensor& t = *w[s].second;
      f.slices.push_back({w[s].first, row, t.dim(0)});
      cfg.segments.push_back(t.dim(0));
      parts.push_back({t.ptr(), t.dim(0)});
      row += t.dim(0);
      if (any_bias) {
        if (b[s]->empty()) B.insert(B.end(), t.dim(0), 0.0f);
        else B.insert(B.end(), b[s]->data.begin(), b[s]->data.end());
      }
    }
    f.linear = std::make_unique<Linear>(parts, K, any_bias ? B.data() : nullptr, cfg);
    for (size_t s = i; s < j; ++s) path[static_cast<int>(w[s].first)] = f.linear->path();
    out.push_back(std::move(f));
    i = j;
  }
  return out;
}

QuantizedModel::QuantizedModel(const qh::Model& m, const Scheme& s, const Protection& p, const Calibration& c,
                               const EngineOptions& o)
    : model(m), scheme(s), protection(p), calib(c), options(o) {
  const ArchSpec& a = m.spec;
  if (options.online) {
    QH_CHECK(options.online->down.empty() || options.online->down.n() == a.d_ff);
    QH_CHECK(options.online->qk.empty() || options.online->qk.n() == a.head_dim);
  }
  if (scheme.kv.enabled() && scheme.kv.granularity == Granularity::kPerChannel)
    throw InputError("scheme " + scheme.name +
                     ": kv quantization must be per_token, group:G or per_tensor (static, calibrated per head)");
  const bool static_kv = scheme.kv.enabled() && scheme.kv.granularity == Granularity::kPerTensor;
  if (static_kv && (calib.empty() || calib.kv.size() != static_cast<size_t>(a.num_layers) ||
                    calib.kv[0].k_min.size() != static_cast<size_t>(a.num_kv_heads)))
    throw InputError("scheme " + scheme.name + " quantizes the KV cache with static scales: it needs calibration data");
  if (scheme.kv.enabled() && scheme.kv.granularity == Granularity::kGroup && a.head_dim % scheme.kv.group_size)
    throw InputError("scheme " + scheme.name + ": kv group size must divide head_dim " +
                     std::to_string(a.head_dim));
  for (int l = 0; l < a.num_layers; ++l) {
    const LayerWeights& w = m.layers[l];
    LayerState st;
    std::vector<std::pair<Site, const Tensor*>> in{{Site::kQ, &w.wq}, {Site::kK, &w.wk}, {Site::kV, &w.wv}};
    std::vector<const Tensor*> bias{&w.bq, &w.bk, &w.bv};
    static const Tensor kEmpty;
    if (a.attn.kind == AttnKind::kGated) {
      // g_proj reads the same input as q and is quantized with site q; kept next to q so it fuses with it.
      in.insert(in.begin() + 1, {Site::kQ, &w.wg});
      bias.insert(bias.begin() + 1, &kEmpty);
      st.g_width = w.wg.dim(0);
    }
    st.attn_in = build_group(l, in, bias);
    st.o = std::make_unique<Linear>(w.wo.ptr(), w.wo.dim(0), w.wo.dim(1), opt(w.bo), config_for(l, Site::kO));
    path[static_cast<int>(Site::kO)] = st.o->path();
    if (is_glu(a.mlp))
      st.mlp_in = build_group(l, {{Site::kGate, &w.w_gate}, {Site::kUp, &w.w_up}}, {&kEmpty, &w.b_up});
    else
      st.mlp_in = build_group(l, {{Site::kUp, &w.w_up}}, {&w.b_up});
    st.down = std::make_unique<Linear>(w.w_down.ptr(), w.w_down.dim(0), w.w_down.dim(1), opt(w.b_down),
                                       config_for(l, Site::kDown));
    path[static_cast<int>(Site::kDown)] = st.down->path();
    st.attention = std::make_unique<Attention>(a, scheme.kv, scheme.attn_probs,
                                               static_kv ? static_kv_scales(calib.kv[l]) : Attention::StaticKv{},
                                               options.online && scheme.kv.enabled() ? &options.online->qk : nullptr);
    layers.push_back(std::move(st));
  }
  LinearConfig head;
  head.force_fake = options.force_fake_quant;
  if (scheme.quantize_lm_head) {
    head.weights = scheme.weights;
    head.activations = scheme.activations;
    if (head.activations.granularity == Granularity::kPerTensor) head.activations.granularity = Granularity::kPerToken;
  }
  lm_head = std::make_unique<Linear>(m.lm_head.ptr(), m.lm_head.dim(0), m.lm_head.dim(1), nullptr, head);
  emb = &m.tok_emb;
  if (scheme.quantize_embeddings && scheme.weights.enabled()) {
    quantized_emb = m.tok_emb;
    Tensor& e = quantized_emb;
    quant::fake_quant_rows(e.ptr(), e.rows(), e.cols(), e.cols(), quant::row_params(scheme.weights), e.ptr(),
                           e.cols());
    emb = &quantized_emb;
  }
}

void QuantizedModel::run_single(int layer, Site site, Linear& lin, const float* x, int64_t T, float* y,
                                Observer* obs, const uint8_t* rows) {
  if (obs && obs->wants_site_inputs()) obs->on_site_input(layer, site, x, T, lin.K());
  const bool err = obs && obs->wants_site_errors() && lin.path() != LinearPath::kFp &&
                   scheme.activations.enabled();
  quant::ErrorStats e;
  lin.forward(x, T, y, rows, err ? &e : nullptr);
  if (err) obs->on_site_error(layer, site, e);
}

void QuantizedModel::run_group(int layer, std::vector<FusedLinear>& group, const float* x, int64_t T, float* y,
                               int64_t ldy, Observer* obs, const uint8_t* rows) {
  int64_t col = 0;
  bool seen[kNumSites] = {};  // g_proj shares site q: report each site once
  for (FusedLinear& f : group) {
    Linear& lin = *f.linear;
    bool first[kNumSites] = {};
    for (const SiteSlice& s : f.slices) {
      // g_proj's slice (site q) follows q's in the same fused linear: it must not clear q's "first".
      if (!seen[static_cast<int>(s.site)]) first[static_cast<int>(s.site)] = true;
      seen[static_cast<int>(s.site)] = true;
    }
    if (obs && obs->wants_site_inputs())
      for (int s = 0; s < kNumSites; ++s)
        if (first[s]) obs->on_site_input(layer, static_cast<Site>(s), x, T, lin.K());
    const bool err = obs && obs->wants_site_errors() && lin.path() != LinearPath::kFp &&
                     scheme.activations.enabled();
    quant::ErrorStats e;
    float* out = y;
    std::vector<float> part;
    if (group.size() > 1) {
      part.resize(T * lin.N());
      out = part.data();
    }
    lin.forward(x, T, out, rows, err ? &e : nullptr);
    if (err)
      for (int s = 0; s < kNumSites; ++s)
        if (first[s]) obs->on_site_error(layer, static_cast<Site>(s), e);
    if (group.size() > 1)
      for (int64_t t = 0; t < T; ++t)
        std::copy(part.data() + t * lin.N(), part.data() + (t + 1) * lin.N(), y + t * ldy + col);
    col += lin.N();
  }
  QH_CHECK(col == ldy);
}

void QuantizedModel::forward(const int32_t* tokens, int64_t T, float* logits, Observer* obs,
                             const uint8_t* rows_in) {
  thread_local ForwardScratch per_thread;
  ForwardScratch& sc = per_thread;  // a reference, so that lambdas capture this thread's buffers
  std::vector<float> &h_ = sc.h, &xn_ = sc.xn, &attn_in_ = sc.attn_in, &att_ = sc.att, &tmp_ = sc.tmp;
  std::vector<float> &attn_out_ = sc.attn_out, &gate_ = sc.gate, &mlp_in_ = sc.mlp_in, &act_ = sc.act;
  std::vector<uint8_t>& default_rows_ = sc.default_rows;
  const ArchSpec& a = model.spec;
  if (T < 1 || T > a.context)
    throw InputError("window of " + std::to_string(T) + " tokens: the model supports 1.." +
                     std::to_string(a.context));
  const int64_t d = a.d_model, V = a.vocab_size, H = a.num_heads, KV = a.num_kv_heads, hd = a.head_dim;
  for (int64_t t = 0; t < T; ++t)
    if (tokens[t] < 0 || tokens[t] >= V)
      throw InputError("token id " + std::to_string(tokens[t]) + " at position " + std::to_string(t) +
                       " is outside the vocabulary (size " + std::to_string(V) + ")");
  const uint8_t* rows = nullptr;
  if (protection.tokens) {
    if (!rows_in) {
      default_rows_.assign(T, 0);
      default_rows_[0] = 1;
      rows = default_rows_.data();
    } else {
      rows = rows_in;
    }
  }
  h_.resize(T * d);
  xn_.resize(T * d);
  tmp_.resize(T * d);
  att_.resize(T * H * hd);
  for (int64_t t = 0; t < T; ++t) {
    std::copy(emb->row(tokens[t]), emb->row(tokens[t]) + d, h_.data() + t * d);
    if (a.embed_scale != 1.0f)
      for (int64_t i = 0; i < d; ++i) h_[t * d + i] *= a.embed_scale;
    if (a.positions == PosKind::kLearned)
      for (int64_t i = 0; i < d; ++i) h_[t * d + i] += model.pos_emb.row(t)[i];
  }
  if (obs) obs->on_residual(-1, h_.data(), T, d);
  // The block of models/arch.h: pre-norms, q/k norms, post-norms and the parallel residual as the spec says.
  auto norm = [&](const Tensor& w, const Tensor& b, const float* x, float* out) {
    norm_rows(a.norm, x, T, d, w.ptr(), opt(b), a.norm_eps, out);
  };
  for (int l = 0; l < a.num_layers; ++l) {
    const LayerWeights& w = model.layers[l];
    LayerState& st = layers[l];
    const float* attn_x = h_.data();
    if (a.pre_norm) {
      norm(w.attn_norm_w, w.attn_norm_b, h_.data(), xn_.data());
      attn_x = xn_.data();
    }
    const int64_t nq = H * hd, nkv = KV * hd, ld = nq + st.g_width + 2 * nkv;
    attn_in_.resize(T * ld);
    run_group(l, st.attn_in, attn_x, T, attn_in_.data(), ld, obs, rows);
    float* q = attn_in_.data();
    const float* g = q + nq;
    float* k = q + nq + st.g_width;
    const float* v = k + nkv;
    if (a.qk_norm != QkNorm::kNone) {  // before RoPE
      const bool per_head = a.qk_norm == QkNorm::kPerHead;
      rms_norm_groups(q, T, ld, nq, per_head ? hd : nq, w.q_norm_w.ptr(), a.norm_eps);
      rms_norm_groups(k, T, ld, nkv, per_head ? hd : nkv, w.k_norm_w.ptr(), a.norm_eps);
    }
    AttentionInputs in{q, ld, k, ld, v, ld, opt(w.sink)};
    st.attention->run(l, in, T, att_.data(), rows, obs);
    if (a.attn.kind == AttnKind::kGated) {
      const int64_t gw = st.g_width;
      const bool per_head = gw == H;
      gate_.resize(T * gw);
      for_rows(T, nq, [&](int64_t t) {
        float* gs = gate_.data() + t * gw;
        for (int64_t c = 0; c < gw; ++c) gs[c] = sigmoidf(g[t * ld + c]);
        for (int64_t c = 0; c < nq; ++c) att_[t * nq + c] *= gs[per_head ? c / hd : c];
      });
      if (obs && obs->wants_attention())
        for (int64_t h = 0; h < H; ++h)
          obs->on_gate(l, static_cast<int>(h), gate_.data() + (per_head ? h : h * hd), T, per_head ? 1 : hd, gw);
    }
    run_single(l, Site::kO, *st.o, att_.data(), T, tmp_.data(), obs, rows);
    if (a.post_norm) norm(w.attn_out_norm_w, Tensor{}, tmp_.data(), tmp_.data());
    const float* mlp_x = h_.data();
    if (a.parallel_residual) {  // the MLP reads the block's input; both outputs join the residual together
      attn_out_.assign(tmp_.begin(), tmp_.end());
      norm(w.mlp_norm_w, w.mlp_norm_b, h_.data(), xn_.data());
      mlp_x = xn_.data();
    } else {
      for (int64_t i = 0; i < T * d; ++i) h_[i] += tmp_[i];
      if (a.pre_norm) {
        norm(w.mlp_norm_w, w.mlp_norm_b, h_.data(), xn_.data());
        mlp_x = xn_.data();
      }
    }
    const int64_t ff = a.d_ff;
    if (is_glu(a.mlp)) {
      mlp_in_.resize(T * 2 * ff);
      run_group(l, st.mlp_in, mlp_x, T, mlp_in_.data(), 2 * ff, obs, rows);
      act_.resize(T * ff);
      if (a.mlp == MlpKind::kSwiGLU) swiglu_rows(mlp_in_.data(), mlp_in_.data() + ff, T, ff, 2 * ff, act_.data());
      else geglu_rows(mlp_in_.data(), mlp_in_.data() + ff, T, ff, 2 * ff, act_.data());
    } else {
      act_.resize(T * ff);
      run_group(l, st.mlp_in, mlp_x, T, act_.data(), ff, obs, rows);
      activate_rows(a.mlp, act_.data(), T, ff, ff);
    }
    if (options.online && !options.online->down.empty()) options.online->down.apply(act_.data(), T, ff);
    run_single(l, Site::kDown, *st.down, act_.data(), T, tmp_.data(), obs, rows);
    if (a.post_norm) norm(w.mlp_out_norm_w, Tensor{}, tmp_.data(), tmp_.data());
    if (a.parallel_residual)  // HF GPT-NeoX: mlp_output + attn_output + hidden
      for (int64_t i = 0; i < T * d; ++i) h_[i] = tmp_[i] + attn_out_[i] + h_[i];
    else
      for (int64_t i = 0; i < T * d; ++i) h_[i] += tmp_[i];
    if (obs) obs->on_residual(l, h_.data(), T, d);
  }
  if (!logits) return;  // the blocks only (calibration passes read the site inputs, not the logits)
  norm(model.final_norm_w, model.final_norm_b, h_.data(), xn_.data());
  lm_head->forward(xn_.data(), T, logits, scheme.quantize_lm_head ? rows : nullptr, nullptr);
  if (a.final_softcap > 0.0f) softcap(logits, T * V, a.final_softcap);
}

Engine::Engine(const qh::Model& model, const Scheme& scheme, const Protection& protection,
               const Calibration& calib, const EngineOptions& options)
    : impl_(std::make_unique<QuantizedModel>(model, scheme, protection, calib, options)) {}
Engine::~Engine() = default;

void Engine::forward(const int32_t* tokens, int64_t T, float* logits, Observer* observer,
                     const uint8_t* protected_rows) {
  const ArchSpec& a = impl_->model.spec;
  const double attention_flops = 2.0 * static_cast<double>(T) * T * a.num_heads * a.head_dim * a.num_layers;
  const OneThreadIfSmall small(linear_flops_per_token() * static_cast<double>(T) + attention_flops);
  try {
    impl_->forward(tokens, T, logits, observer, protected_rows);
  } catch (const dnnl::error& e) {
    // A oneDNN failure is the library's or the machine's, never the user's input: an internal error (exit 3).
    throw std::runtime_error(std::string("oneDNN failed: ") + e.what());
  }
}

const qh::Model& Engine::model() const { return impl_->model; }
const Scheme& Engine::scheme() const { return impl_->scheme; }
const Protection& Engine::protection() const { return impl_->protection; }
std::string Engine::site_path(Site s) const { return to_string(impl_->path[static_cast<int>(s)]); }

std::string Engine::int8_impl() const {
  for (const LayerState& st : impl_->layers) {
    if (st.o->path() == LinearPath::kInteger) return st.o->impl();
    if (st.down->path() == LinearPath::kInteger) return st.down->impl();
  }
  return "";
}
std::string Engine::f32_impl() const { return impl_->lm_head->impl(); }

Engine::WeightBytes Engine::weight_bytes_held() const {
  WeightBytes out;
  auto add = [&out](const Linear& l) {
    out.total += l.bytes_held();
    out.f32_matrices += l.f32_weight_bytes_held();
  };
  for (const LayerState& st : impl_->layers) {
    for (const auto* group : {&st.attn_in, &st.mlp_in})
      for (const FusedLinear& f : *group) add(*f.linear);
    add(*st.o);
    add(*st.down);
  }
  add(*impl_->lm_head);
  out.total += impl_->quantized_emb.size() * sizeof(float);
  out.f32_matrices += impl_->quantized_emb.size() * sizeof(float);
  return out;
}

double Engine::linear_flops_per_token() const {
  const ArchSpec& a = impl_->model.spec;
  double kn = 0;
  for (const LayerWeights& w : impl_->model.layers) {
    for (const Tensor* t : {&w.wq, &w.wk, &w.wv, &w.wo, &w.wg, &w.w_gate, &w.w_up, &w.w_down})
      if (!t->empty()) kn += static_cast<double>(t->dim(0)) * static_cast<double>(t->dim(1));
  }
  kn += static_cast<double>(a.vocab_size) * a.d_model;
  return 2.0 * kn;
}

void check_finite_weights(const qh::Model& m) {
  auto check = [](const Tensor& t, const std::string& name) {
    if (!t.empty() && !quant::all_finite(t.ptr(), static_cast<int64_t>(t.size())))
      throw InputError("weight " + name + " contains NaN or Inf");
  };
  for (const auto& [name, t] : canonical_tensors(m)) check(*t, name);
}

}  // namespace qh::engine
