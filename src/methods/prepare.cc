// Applying a method to a model; see prepare.h.
#include "src/methods/prepare.h"

#include <chrono>

#include "src/core/error.h"
#include "src/methods/gptq.h"
#include "src/methods/transforms.h"

namespace qh::methods {

namespace {

// Full-precision passes of the (transformed) model over the calibration windows, observed by `obs`.
void run_calibration(const PreparedModel& p, const std::vector<std::vector<int32_t>>& windows,
                     engine::Observer* obs) {
  engine::Engine fp(p.model, parse_scheme("FP32"), {}, {}, p.engine_options());
  std::vector<float> logits;
  for (const auto& w : windows) {
    const int64_t T = static_cast<int64_t>(w.size());
    logits.resize(T * p.model.spec.vocab_size);
    fp.forward(w.data(), T, logits.data(), obs);
  }
}

// Refuses by name the block structures a method's folding cannot keep exact (ArchSpec's block description).
void check_architecture(const ArchSpec& a, const MethodSpec& m) {
  const std::string arch = a.architecture.empty() ? std::string("the model") : a.architecture;
  if ((m.rotate != RotationKind::kNone || m.smoothquant) && !(a.attn_norm_feeds_qkv() && a.mlp_norm_feeds_gate_up()))
    throw InputError("method " + m.label() + ": " + arch + " has no norm before q/k/v and gate/up (no pre-norms) to "
                     "fold the norm weights / smoothing factors into");
  if (m.rotate != RotationKind::kNone && a.post_norm)
    throw InputError("method " + m.label() + ": " + arch + " has post-norms on the attention and MLP outputs: "
                     "their weights sit between the o / down projections and the rotated residual stream and do "
                     "not commute with the rotation");
}

}  // namespace

engine::EngineOptions PreparedModel::engine_options(engine::EngineOptions base) const {
  base.online = online;
  base.weight_quantizer = weight_quantizer;
  return base;
}

PreparedModel prepare(const Model& model, const MethodSpec& method,
                      const std::vector<std::vector<int32_t>>& calibration) {
  const auto t0 = std::chrono::steady_clock::now();
  check_architecture(model.spec, method);
  PreparedModel p;
  p.method = method;
  p.model = model;
  if (method.needs_calibration()) {
    if (calibration.empty())
      throw InputError("method " + method.label() + " needs calibration data (none given)");
    for (const auto& w : calibration) {
      if (w.empty() || static_cast<int64_t>(w.size()) > model.spec.context)
        throw InputError("method " + method.label() + ": calibration windows must hold 1.." +
                         std::to_string(model.spec.context) + " tokens");
      p.calibration_tokens += static_cast<int64_t>(w.size());
    }
  }
  if (method.rotate != RotationKind::kNone) {
    fold_norms(p.model);
    p.online = rotate_model(p.model, method.rotate, method.seed, &p.notes);
  }
  if (method.smoothquant) {
    engine::CalibrationObserver cal(model.spec.num_layers);
    run_calibration(p, calibration, &cal);
    smooth_model(p.model, cal.result(), method.alpha, &p.notes);
  }
  if (method.gptq) {
    auto h = std::make_shared<HessianObserver>(model.spec.num_layers);
    run_calibration(p, calibration, h.get());
    p.weight_quantizer = gptq_quantizer(h, GptqParams{method.damp, method.act_order, method.block}, method.group,
                                        p.quantizer_seconds);
  }
  p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return p;
}

}  // namespace qh::methods
