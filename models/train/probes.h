// Extreme-token statistics of a trained model on a fixed probe batch (ARCHITECTURE.md 1.1), computed with qh::stats
// from the forward pass's own caches: per layer the residual peak of the stream after the block, per layer
// and head the sink mass (all queries, and BB non-trigger / trigger queries), the dormant fraction, the value
// drain and, for the sink variant, the mass parked on the learnable sink. Averages over the probe sequences.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "models/model.h"
#include "models/train/transformer.h"

namespace qh::train {

struct HeadProbe {
  double sink_mass = 0, sink_mass_nontrigger = 0, sink_mass_trigger = 0, dormant_frac = 0, value_drain = 0,
         virtual_sink_mass = 0;
};
struct ProbeStats {
  std::vector<double> residual_peak;         // [layer]
  std::vector<std::vector<HeadProbe>> head;  // [layer][head]
  nlohmann::json to_json() const;
  // Largest over heads of the layer's non-trigger sink mass (the dormant head's), and over layers.
  double max_sink_mass_nontrigger() const;
  double max_residual_peak() const;
};

// trigger: [B*T] per-query domain mask (1 = BB trigger), or empty (every query non-trigger).
ProbeStats probe_stats(const Model& m, const Activations& acts, const std::vector<uint8_t>& trigger);

}  // namespace qh::train
