// SmoothQuant (arXiv 2211.10438); see transforms.h.
#include <algorithm>
#include <cmath>

#include "src/core/error.h"
#include "src/methods/transforms.h"
#include "src/methods/weights.h"

namespace qh::methods {

namespace {

// max |W[:, j]| over several weights that read the same input.
std::vector<double> column_absmax(std::initializer_list<const Tensor*> ws, int64_t K) {
  std::vector<double> out(K, 0.0);
  for (const Tensor* w : ws) {
    if (w->empty()) continue;
    QH_CHECK(w->dim(1) == K);
    for (int64_t i = 0; i < w->dim(0); ++i)
      for (int64_t k = 0; k < K; ++k) out[k] = std::max(out[k], static_cast<double>(std::fabs(w->data[i * K + k])));
  }
  return out;
}

std::vector<double> factors(const std::vector<float>& x_absmax, const std::vector<double>& w_absmax, double alpha) {
  QH_CHECK(x_absmax.size() == w_absmax.size());
  std::vector<double> s(x_absmax.size());
  for (size_t j = 0; j < s.size(); ++j) s[j] = smoothing_factor(x_absmax[j], w_absmax[j], alpha);
  return s;
}

std::vector<double> inverse(const std::vector<double>& s) {
  std::vector<double> r(s.size());
  for (size_t j = 0; j < s.size(); ++j) r[j] = 1.0 / s[j];
  return r;
}

// The norm's output x -> x / s: its weight (and bias) divided by s.
void divide_norm(Tensor& w, Tensor& b, const std::vector<double>& s) {
  for (size_t j = 0; j < s.size(); ++j) {
    w.data[j] = static_cast<float>(w.data[j] / s[j]);
    if (!b.empty()) b.data[j] = static_cast<float>(b.data[j] / s[j]);
  }
}

}  // namespace

double smoothing_factor(double x_absmax, double w_absmax, double alpha) {
  if (!(x_absmax > 0) || !(w_absmax > 0) || !std::isfinite(x_absmax) || !std::isfinite(w_absmax)) return 1.0;
  return std::pow(x_absmax, alpha) / std::pow(w_absmax, 1.0 - alpha);
}

void smooth_model(Model& m, const engine::Calibration& calib, double alpha, std::vector<std::string>* notes) {
  const ArchSpec& a = m.spec;
  QH_CHECK(!calib.empty() && static_cast<int>(calib.sites.size()) == a.num_layers);
  const int64_t d = a.d_model, H = a.num_heads, KV = a.num_kv_heads, hd = a.head_dim, G = H / KV;
  for (int l = 0; l < a.num_layers; ++l) {
    LayerWeights& w = m.layers[l];
    const auto& sites = calib.sites[l];
    // q / k / v (+ g_proj): folded into the attention norm.
    std::vector<double> s = factors(sites[static_cast<int>(Site::kQ)].col_absmax,
                                    column_absmax({&w.wq, &w.wk, &w.wv, &w.wg}, d), alpha);
    divide_norm(w.attn_norm_w, w.attn_norm_b, s);
    for (Tensor* t : {&w.wq, &w.wk, &w.wv, &w.wg}) scale_input(*t, s);
    // gate / up: folded into the MLP norm.
    s = factors(sites[static_cast<int>(Site::kUp)].col_absmax, column_absmax({&w.w_gate, &w.w_up}, d), alpha);
    divide_norm(w.mlp_norm_w, w.mlp_norm_b, s);
    for (Tensor* t : {&w.w_gate, &w.w_up}) scale_input(*t, s);
    // o: its input channel (head h, i) is P V of value channel (h / G, i): one factor per value channel, from
    // the maxima over the G query heads that read it, folded into v's output rows.
    {
      const std::vector<float>& x = sites[static_cast<int>(Site::kO)].col_absmax;
      const std::vector<double> wmax = column_absmax({&w.wo}, H * hd);
      std::vector<double> sv(KV * hd), so(H * hd);
      for (int64_t c = 0; c < KV * hd; ++c) {
        double xm = 0, wm = 0;
        for (int64_t g = 0; g < G; ++g) {
          const int64_t o = ((c / hd) * G + g) * hd + c % hd;
          xm = std::max(xm, static_cast<double>(x[o]));
          wm = std::max(wm, wmax[o]);
        }
        sv[c] = smoothing_factor(xm, wm, alpha);
      }
      for (int64_t o = 0; o < H * hd; ++o) so[o] = sv[(o / hd / G) * hd + o % hd];
      scale_output(w.wv, w.bv, inverse(sv));
      scale_input(w.wo, so);
    }
    // down: with SwiGLU / GeGLU its input act(gate) * up is linear in up, and relu(u / s) = relu(u) / s for s > 0,
    // so 1/s goes into up's output rows.
    if (a.mlp == MlpKind::kSwiGLU || a.mlp == MlpKind::kGeGLU || a.mlp == MlpKind::kRelu) {
      s = factors(sites[static_cast<int>(Site::kDown)].col_absmax, column_absmax({&w.w_down}, a.d_ff), alpha);
      scale_output(w.w_up, w.b_up, inverse(s));
      scale_input(w.w_down, s);
    }
  }
  if (a.mlp != MlpKind::kSwiGLU && a.mlp != MlpKind::kGeGLU && a.mlp != MlpKind::kRelu && notes)
    notes->push_back(std::string("down projection not smoothed: the ") + to_string(a.mlp) +
                     " activation between up and down does not commute with a per-channel scale");
}

}  // namespace qh::methods
