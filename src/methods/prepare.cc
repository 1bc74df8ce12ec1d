// Applying a method to a model; see prepare.h.
#include "src/methods/prepare.h"

#include <chrono>

#include "src/core/error.h"
#include "src/core/version.h"
#include "src/methods/cache.h"
#include "src/methods/gptq.h"
#include "src/methods/transforms.h"

namespace qh::methods {

namespace {

// Full-precision passes of the (transformed) model over the calibration windows, observed by `obs`.
void run_calibration(const PreparedModel& p, const std::vector<std::vector<int32_t>>& windows,
                     engine::Observer* obs) {
  engine::Engine fp(p.model, parse_scheme("FP32"), {}, {}, p.engine_options());
  for (const auto& w : windows) fp.forward(w.data(), static_cast<int64_t>(w.size()), nullptr, obs);  // no logits
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

// Whether cached statistics have the model's shapes (a file whose key matches but whose contents do not is
// treated as missing, like any unreadable entry).
bool fits(const MethodStatistics& s, const MethodSpec& m, const ArchSpec& a) {
  const int64_t width[kNumSlots] = {a.d_model, a.num_heads * a.head_dim, a.d_model, a.d_ff};
  const Site site_of[kNumSlots] = {Site::kQ, Site::kO, Site::kUp, Site::kDown};
  if (m.smoothquant) {
    if (!s.smooth || static_cast<int>(s.smooth->sites.size()) != a.num_layers) return false;
    for (const auto& layer : s.smooth->sites) {
      if (layer.size() != static_cast<size_t>(kNumSites)) return false;
      for (int i = 0; i < kNumSlots; ++i)
        if (static_cast<int64_t>(layer[static_cast<int>(site_of[i])].col_absmax.size()) != width[i]) return false;
    }
  }
  if (m.gptq) {
    if (!s.hessians || s.hessians->num_layers() != a.num_layers) return false;
    for (int l = 0; l < a.num_layers; ++l)
      for (int i = 0; i < kNumSlots; ++i)
        if (static_cast<int64_t>(s.hessians->hessian(l, static_cast<InputSlot>(i)).size()) != width[i] * width[i])
          return false;
  }
  return true;
}

}  // namespace

engine::EngineOptions PreparedModel::engine_options(engine::EngineOptions base) const {
  base.online = online;
  base.weight_quantizer = weight_quantizer;
  return base;
}

PreparedModel prepare(const Model& model, const MethodSpec& method,
                      const std::vector<std::vector<int32_t>>& calibration, const PrepareOptions& options) {
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
  // The calibration statistics: from the cache, or computed below and stored.
  std::string key;
  MethodStatistics stats;
  if (method.needs_calibration() && !options.cache_dir.empty()) {
    key = method_cache_key(version_string(), model_identity(model), method, calibration_identity(calibration));
    std::optional<MethodStatistics> cached = MethodCache(options.cache_dir).load(key);
    if (cached && fits(*cached, method, model.spec)) {
      stats = std::move(*cached);
      p.from_cache = true;
    }
  }
  if (method.rotate != RotationKind::kNone) {
    fold_norms(p.model);
    p.online = rotate_model(p.model, method.rotate, method.seed, &p.notes);
  }
  if (method.smoothquant) {
    if (!p.from_cache) {
      engine::CalibrationObserver cal(model.spec.num_layers);
      run_calibration(p, calibration, &cal);
      stats.smooth = cal.result();
    }
    smooth_model(p.model, *stats.smooth, method.alpha, &p.notes);
  }
  if (method.gptq) {
    if (!p.from_cache) {
      stats.hessians = std::make_shared<HessianObserver>(model.spec.num_layers);
      run_calibration(p, calibration, stats.hessians.get());
      stats.hessians->finish();
    }
    p.weight_quantizer = gptq_quantizer(stats.hessians, GptqParams{method.damp, method.act_order, method.block},
                                        method.group, p.quantizer_seconds);
  }
  if (!key.empty() && !p.from_cache) MethodCache(options.cache_dir).store(key, stats);
  p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return p;
}

}  // namespace qh::methods
