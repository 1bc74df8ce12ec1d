#include "models/train/optimizer.h"

#include <cmath>

#include "models/train/transformer.h"
#include "src/core/error.h"

namespace qh::train {

double learning_rate(const OptimConfig& c, int step, int total_steps) {
  if (c.warmup_steps > 0 && step < c.warmup_steps)
    return c.lr * static_cast<double>(step + 1) / static_cast<double>(c.warmup_steps);
  if (c.schedule == "constant") return c.lr;
  const int decay_steps = total_steps - c.warmup_steps;
  if (decay_steps <= 1) return c.lr;
  const double progress = static_cast<double>(step - c.warmup_steps) / static_cast<double>(decay_steps - 1);
  const double floor = c.min_lr_ratio * c.lr;
  return floor + 0.5 * (c.lr - floor) * (1.0 + std::cos(M_PI * std::min(1.0, progress)));
}

double clip_grad_norm(Model& grads, double max_norm) {
  double sq = 0;
  for_each_param(grads, [&](const std::string&, Tensor& t) {
    for (float g : t.data) sq += static_cast<double>(g) * g;
  });
  const double norm = std::sqrt(sq);
  if (max_norm > 0 && norm > max_norm) {
    const float scale = static_cast<float>(max_norm / (norm + 1e-6));
    for_each_param(grads, [&](const std::string&, Tensor& t) {
      for (float& g : t.data) g *= scale;
    });
  }
  return norm;
}

Optimizer::Optimizer(const OptimConfig& c, const Model& m) : c_(c) {
  for_each_param(const_cast<Model&>(m), [&](const std::string&, Tensor& t) {
    m1_.emplace_back(t.size(), 0.0f);
    if (c_.kind == "adamw") m2_.emplace_back(t.size(), 0.0f);
  });
}

void Optimizer::step(Model& m, Model& grads, double lr) {
  ++t_;
  std::vector<Tensor*> params, gs;
  for_each_param(m, [&](const std::string&, Tensor& t) { params.push_back(&t); });
  for_each_param(grads, [&](const std::string&, Tensor& t) { gs.push_back(&t); });
  QH_CHECK(params.size() == gs.size() && params.size() == m1_.size());
  const bool adam = c_.kind == "adamw";
  const double bc1 = 1.0 - std::pow(c_.beta1, static_cast<double>(t_));
  const double bc2 = 1.0 - std::pow(c_.beta2, static_cast<double>(t_));
  for (size_t i = 0; i < params.size(); ++i) {
    float* p = params[i]->ptr();
    const float* g = gs[i]->ptr();
    float* m1 = m1_[i].data();
    const bool decay = params[i]->shape.size() >= 2;
    const float wd = decay ? static_cast<float>(lr * c_.weight_decay) : 0.0f;
    const size_t n = params[i]->size();
    if (adam) {
      float* m2 = m2_[i].data();
      const float b1 = static_cast<float>(c_.beta1), b2 = static_cast<float>(c_.beta2);
      const float step_size = static_cast<float>(lr / bc1);
      const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
      const float eps = static_cast<float>(c_.eps);
      for (size_t j = 0; j < n; ++j) {
        m1[j] = b1 * m1[j] + (1.0f - b1) * g[j];
        m2[j] = b2 * m2[j] + (1.0f - b2) * g[j] * g[j];
        p[j] -= wd * p[j];
        p[j] -= step_size * m1[j] / (std::sqrt(m2[j]) * inv_sqrt_bc2 + eps);
      }
    } else {
      const float mu = static_cast<float>(c_.momentum), lrf = static_cast<float>(lr);
      for (size_t j = 0; j < n; ++j) {
        m1[j] = mu * m1[j] + g[j];
        p[j] -= wd * p[j];
        p[j] -= lrf * m1[j];
      }
    }
  }
}

}  // namespace qh::train
