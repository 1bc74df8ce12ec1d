// Gradient check of the whole model (models/train/transformer.h) for every attention variant, MLP kind, norm
// and position kind: for each parameter tensor, the directional derivative along a random unit direction from
// central differences of the f32 loss is compared with <grad, direction>. Weights are drawn larger than at
// initialisation so every tensor's gradient is well above the f32 noise of the differences.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "models/train/init.h"
#include "src/core/rng.h"
#include "models/train/transformer.h"

namespace qh::train {
namespace {

struct Config {
  const char* label;
  AttnKind attn;
  GateKind gate;
  MlpKind mlp;
  NormKind norm;
  PosKind pos;
  bool tied;
  bool biases;
};

ArchSpec tiny_spec(const Config& c) {
  ArchSpec s;
  s.architecture = "QHarnessForCausalLM";
  s.num_layers = 2;
  s.d_model = 8;
  s.num_heads = 2;
  s.num_kv_heads = 2;
  s.head_dim = 4;
  s.d_ff = 12;
  s.vocab_size = 11;
  s.context = 6;
  s.norm = c.norm;
  s.norm_bias = c.biases && c.norm == NormKind::kLayerNorm;
  s.positions = c.pos;
  s.mlp = c.mlp;
  s.attn.kind = c.attn;
  s.attn.gate = c.gate;
  if (c.attn == AttnKind::kClipped) {
    s.attn.clip_zeta = 1.2f;
    s.attn.clip_gamma = -0.05f;
  }
  s.qkv_bias = s.o_bias = s.mlp_bias = c.biases;
  s.tied_embeddings = c.tied;
  return s;
}

double model_loss(const Model& m, const std::vector<int32_t>& tokens, const std::vector<int32_t>& targets,
                  int64_t B, int64_t T, Activations& acts) {
  forward(m, tokens.data(), B, T, acts);
  return loss_and_gradient(acts, targets.data(), m.spec.vocab_size);
}

void check_model(const Config& c) {
  SCOPED_TRACE(c.label);
  Model m = init_model(tiny_spec(c), 42);
  Rng rng(7);
  for_each_param(m, [&](const std::string& name, Tensor& t) {
    const bool norm_weight = t.shape.size() == 1 && name.find("layernorm.weight") != std::string::npos;
    for (float& x : t.data) x = (norm_weight ? 1.0f : 0.0f) + static_cast<float>(0.4 * rng.normal());
  });
  const int64_t B = 2, T = 6;
  std::vector<int32_t> tokens(B * T), targets(B * T, -1);
  for (auto& t : tokens) t = static_cast<int32_t>(rng.below(11));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t + 1 < T; ++t) targets[b * T + t] = tokens[b * T + t + 1];

  Activations acts;
  model_loss(m, tokens, targets, B, T, acts);
  Model grads = zeros_like(m);
  backward(m, acts, grads);

  std::vector<Tensor*> gs;
  for_each_param(grads, [&](const std::string&, Tensor& t) { gs.push_back(&t); });
  size_t idx = 0;
  int checked = 0;
  for_each_param(m, [&](const std::string& name, Tensor& t) {
    const Tensor& g = *gs[idx++];
    std::vector<float> dir(t.size());
    double norm = 0;
    for (float& x : dir) {
      x = static_cast<float>(rng.normal());
      norm += double(x) * x;
    }
    double analytic = 0;
    for (size_t i = 0; i < dir.size(); ++i) {
      dir[i] = static_cast<float>(dir[i] / std::sqrt(norm));
      analytic += double(g.data[i]) * dir[i];
    }
    const std::vector<float> saved = t.data;
    const float eps = 2e-3f;
    for (size_t i = 0; i < t.size(); ++i) t.data[i] = saved[i] + eps * dir[i];
    Activations a2;
    const double lp = model_loss(m, tokens, targets, B, T, a2);
    for (size_t i = 0; i < t.size(); ++i) t.data[i] = saved[i] - eps * dir[i];
    const double lm = model_loss(m, tokens, targets, B, T, a2);
    t.data = saved;
    const double fd = (lp - lm) / (2.0 * eps);
    EXPECT_NEAR(analytic, fd, 2e-3 + 0.03 * std::fabs(fd)) << name;
    ++checked;
  });
  EXPECT_GT(checked, 10);
}

TEST(ModelGrad, SoftmaxLayerNormLearnedRelu) {
  check_model({"softmax", AttnKind::kSoftmax, GateKind::kElementwise, MlpKind::kRelu, NormKind::kLayerNorm,
               PosKind::kLearned, false, false});
}
TEST(ModelGrad, SoftmaxBiasesTiedGelu) {
  check_model({"softmax+biases", AttnKind::kSoftmax, GateKind::kElementwise, MlpKind::kGelu, NormKind::kLayerNorm,
               PosKind::kLearned, true, true});
}
TEST(ModelGrad, ReluAttention) {
  check_model({"relu", AttnKind::kRelu, GateKind::kElementwise, MlpKind::kGeluExact, NormKind::kLayerNorm,
               PosKind::kLearned, false, false});
}
TEST(ModelGrad, SinkRmsNormRopeSwiGLU) {
  check_model({"sink", AttnKind::kSink, GateKind::kElementwise, MlpKind::kSwiGLU, NormKind::kRMSNorm,
               PosKind::kRope, false, false});
}
TEST(ModelGrad, GatedElementwise) {
  check_model({"gated", AttnKind::kGated, GateKind::kElementwise, MlpKind::kSwiGLU, NormKind::kRMSNorm,
               PosKind::kRope, false, false});
}
TEST(ModelGrad, GatedPerHeadNoPositions) {
  check_model({"gated-head", AttnKind::kGated, GateKind::kPerHead, MlpKind::kRelu, NormKind::kLayerNorm,
               PosKind::kNone, false, false});
}
TEST(ModelGrad, Clipped) {
  check_model({"clipped", AttnKind::kClipped, GateKind::kElementwise, MlpKind::kGelu, NormKind::kRMSNorm,
               PosKind::kLearned, false, false});
}

// A wrong gradient must be caught: corrupt one tensor's analytic gradient and the same comparison fails.
TEST(ModelGrad, DetectsAWrongGradient) {
  Config c{"softmax", AttnKind::kSoftmax, GateKind::kElementwise, MlpKind::kRelu, NormKind::kLayerNorm,
           PosKind::kLearned, false, false};
  Model m = init_model(tiny_spec(c), 3);
  Rng rng(9);
  for_each_param(m, [&](const std::string&, Tensor& t) {
    for (float& x : t.data) x += static_cast<float>(0.4 * rng.normal());
  });
  std::vector<int32_t> tokens = {1, 2, 3, 4, 5, 6}, targets = {2, 3, 4, 5, 6, -1};
  Activations acts;
  model_loss(m, tokens, targets, 1, 6, acts);
  Model grads = zeros_like(m);
  backward(m, acts, grads);
  // Directional derivative along the wq gradient direction vs the gradient with wq's sign flipped.
  Tensor& w = m.layers[0].wq;
  const Tensor& g = grads.layers[0].wq;
  double gn = 0;
  for (float x : g.data) gn += double(x) * x;
  gn = std::sqrt(gn);
  ASSERT_GT(gn, 1e-3);
  const std::vector<float> saved = w.data;
  const float eps = 2e-3f;
  for (size_t i = 0; i < w.size(); ++i) w.data[i] = saved[i] + eps * static_cast<float>(g.data[i] / gn);
  Activations a2;
  const double lp = model_loss(m, tokens, targets, 1, 6, a2);
  for (size_t i = 0; i < w.size(); ++i) w.data[i] = saved[i] - eps * static_cast<float>(g.data[i] / gn);
  const double lm = model_loss(m, tokens, targets, 1, 6, a2);
  const double fd = (lp - lm) / (2.0 * eps);
  EXPECT_NEAR(fd, gn, 2e-3 + 0.03 * gn);                          // the true gradient agrees
  EXPECT_GT(std::fabs(fd - (-gn)), 2e-3 + 0.03 * gn);            // a sign-flipped one would not
}

}  // namespace
}  // namespace qh::train
