// Applying a method to a loaded model: the transformed weights, the online transforms and the weight
// quantizer the engine is built with. Scheme-independent: GPTQ runs when an engine quantizes the weights
// (per scheme), from Hessians collected here once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/model.h"
#include "src/engine/engine.h"
#include "src/methods/method.h"

namespace qh::methods {

struct PreparedModel {
  MethodSpec method;
  Model model;  // the transformed model (equal to the input for rtn)
  std::shared_ptr<const engine::OnlineTransforms> online;  // nullptr: none
  engine::SiteWeightQuantizer weight_quantizer;            // empty: round-to-nearest
  std::vector<std::string> notes;                          // what the method left out, and why
  double seconds = 0;             // transforms, calibration passes and Hessians
  std::shared_ptr<double> quantizer_seconds = std::make_shared<double>(0.0);  // GPTQ, summed over engines
  int64_t calibration_tokens = 0;
  bool from_cache = false;  // the calibration statistics came from the method cache (cache.h)

  // base with this method's online transforms and weight quantizer.
  engine::EngineOptions engine_options(engine::EngineOptions base = {}) const;
};

struct PrepareOptions {
  // The method calibration cache's directory (cache.h); empty: no cache.
  std::string cache_dir;
};

// calibration: token windows (each at most the model's context), read only when method.needs_calibration();
// InputError when it is needed and empty, or when the model's architecture cannot take the method. The
// calibration statistics are looked up in, or added to, options.cache_dir.
PreparedModel prepare(const Model& model, const MethodSpec& method,
                      const std::vector<std::vector<int32_t>>& calibration, const PrepareOptions& options = {});

}  // namespace qh::methods
