// Norm folding and rotations; see transforms.h.
#include <random>

#include "src/core/error.h"
#include "src/methods/orthogonal.h"
#include "src/methods/transforms.h"
#include "src/methods/weights.h"

namespace qh::methods {

namespace {

void fold_into(Tensor& norm_w, std::initializer_list<Tensor*> readers) {
  std::vector<double> s(norm_w.data.begin(), norm_w.data.end());
  for (Tensor* w : readers) scale_input(*w, s);
  std::fill(norm_w.data.begin(), norm_w.data.end(), 1.0f);
}

void center_rows(Tensor& t) {
  if (t.empty()) return;
  const int64_t R = t.rows(), d = t.cols();
  for (int64_t r = 0; r < R; ++r) {
    double mean = 0;
    for (int64_t i = 0; i < d; ++i) mean += t.row(r)[i];
    mean /= static_cast<double>(d);
    for (int64_t i = 0; i < d; ++i) t.row(r)[i] = static_cast<float>(t.row(r)[i] - mean);
  }
}

}  // namespace

void fold_norms(Model& m) {
  ArchSpec& a = m.spec;
  if (a.norm_bias)
    throw InputError("norm folding: " + a.architecture + " has LayerNorm with a bias; the final norm's bias has no "
                     "lm_head bias to fold into (rotate needs bias-free norms)");
  for (LayerWeights& w : m.layers) {
    fold_into(w.attn_norm_w, {&w.wq, &w.wk, &w.wv, &w.wg});
    fold_into(w.mlp_norm_w, {&w.w_gate, &w.w_up});
  }
  fold_into(m.final_norm_w, {&m.lm_head});
  if (a.norm == NormKind::kLayerNorm) {
    center_rows(m.tok_emb);
    center_rows(m.pos_emb);
    for (LayerWeights& w : m.layers) {
      center_output(w.wo, w.bo);
      center_output(w.w_down, w.b_down);
    }
    a.norm = NormKind::kRMSNorm;
  }
}

std::shared_ptr<engine::OnlineTransforms> rotate_model(Model& m, RotationKind kind, uint64_t seed,
                                                       std::vector<std::string>* notes) {
  const ArchSpec& a = m.spec;
  std::mt19937_64 rng(seed);
  const engine::HadamardTransform q = make_rotation(a.d_model, kind, true, rng, "d_model");
  const engine::HadamardTransform head = make_rotation(a.head_dim, kind, false, rng, "head_dim");
  auto online = std::make_shared<engine::OnlineTransforms>();
  online->down = make_rotation(a.d_ff, kind, false, rng, "d_ff");
  online->qk = make_rotation(a.head_dim, kind, false, rng, "head_dim");

  q.apply(m.tok_emb.ptr(), m.tok_emb.rows(), a.d_model);
  if (!m.pos_emb.empty()) q.apply(m.pos_emb.ptr(), m.pos_emb.rows(), a.d_model);
  const bool vo = !(a.attn.kind == AttnKind::kGated && a.attn.gate == GateKind::kElementwise);
  if (!vo && notes)
    notes->push_back("per-head V/O Hadamard left out: the elementwise attention output gate does not commute "
                     "with it");
  for (LayerWeights& w : m.layers) {
    for (Tensor* t : {&w.wq, &w.wk, &w.wv, &w.wg, &w.w_gate, &w.w_up}) rotate_input(*t, q);
    rotate_output(w.wo, w.bo, q);
    rotate_output(w.w_down, w.b_down, q);
    if (vo) {
      rotate_output(w.wv, w.bv, head, true);
      rotate_input(w.wo, head, true);
    }
    rotate_input(w.w_down, online->down);
  }
  rotate_input(m.lm_head, q);
  return online;
}

}  // namespace qh::methods
