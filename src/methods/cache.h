// The method calibration cache: the statistics a method reads from its calibration passes (SmoothQuant's
// per-channel max |x| of every linear input, GPTQ's per-layer Hessians) kept on disk like the zoo's
// checkpoints, so that a method is calibrated once per model and calibration data, not once per run. What
// comes from the statistics (the smoothed weights, GPTQ's weights for each scheme) is recomputed from them:
// cheap next to the calibration passes, and independent of the scheme.
//
// One file per key, DIR/<16 hex digits>.qhstats, written atomically. The key is a text over everything that
// determines the statistics: the harness version and git revision (src/core/version.h), the model's contents
// (its config and every tensor's bytes), the method's canonical name with all its parameters, and the
// calibration data's identity (content hash of the token windows, their count and the longest window). The
// file holds the key text and is used only when it matches; an unreadable or foreign file is a miss.
// Numbers are stored in the machine's byte order (a cache is local to the machines that share it).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/model.h"
#include "src/engine/engine.h"
#include "src/methods/gptq.h"
#include "src/methods/method.h"

namespace qh::methods {

struct MethodStatistics {
  std::optional<engine::Calibration> smooth;   // smoothquant: col_absmax of each site (rows > 0)
  std::shared_ptr<HessianObserver> hessians;   // gptq: finished (symmetric) Hessians; nullptr without gptq
};

// Content hash of a model: its config (the project format) and every tensor's name, shape and bytes.
std::string model_identity(const Model& m);
// "<content hash of the windows> x<count> window <longest>".
std::string calibration_identity(const std::vector<std::vector<int32_t>>& windows);
// The key text (one "name value" line per input).
std::string method_cache_key(const std::string& harness, const std::string& model, const MethodSpec& method,
                             const std::string& calibration);

class MethodCache {
 public:
  explicit MethodCache(std::string dir) : dir_(std::move(dir)) {}
  std::string path_of(const std::string& key) const;
  // std::nullopt when there is no usable entry for the key.
  std::optional<MethodStatistics> load(const std::string& key) const;
  // Atomic; InputError naming the directory when it cannot be written.
  void store(const std::string& key, const MethodStatistics& s) const;

 private:
  std::string dir_;
};

}  // namespace qh::methods
