// StatsObserver: collects the audit statistics (DESIGN 1.1-1.2) during full-precision forward passes, one
// window at a time, keeping only aggregates (never all attention matrices), so the audit of a model costs
// about one fp evaluation pass.
#pragma once

#include <cstdint>
#include <vector>

#include "models/model.h"
#include "models/stats/sinks.h"
#include "src/audit/audit.h"
#include "src/engine/observer.h"

namespace qh::audit {

class StatsObserver : public engine::Observer {
 public:
  StatsObserver(const qh::Model& model, const AuditOptions& options);

  // Call before each window's forward: the sequence index (for massive activations) and the per-query
  // domain mask [T] (BB: 1 = the query token is a trigger) or nullptr.
  void begin_window(int64_t sequence, int64_t start, const uint8_t* domain);

  void on_residual(int layer, const float* h, int64_t T, int64_t d) override;
  void on_attention(int layer, int head, const float* probs, int64_t T) override;
  void on_virtual_sink(int layer, int head, const float* mass, int64_t T) override;
  void on_values(int layer, int head, const float* v, int64_t T, int64_t hd) override;
  void on_site_input(int layer, Site site, const float* x, int64_t T, int64_t K) override;
  bool wants_attention() const override { return true; }
  bool wants_values() const override { return true; }
  bool wants_site_inputs() const override { return true; }

  // Aggregates into the result's layers / heads / sites.
  void finish(AuditResult* out) const;

 private:
  struct LayerAcc {
    double peak = 0, sink_norm = 0, median_norm = 0, kurtosis_sum = 0, max_abs = 0;
    int64_t windows = 0, tokens = 0;
    std::vector<MassiveEntry> massive;
  };
  struct HeadAcc {
    double sink_sum = 0;
    int64_t queries = 0;
    std::vector<double> column_sum;  // by window position
    stats::DormantCounts dormant;
    double drain_sum = 0;
    int64_t drain_windows = 0;
    double virtual_sum = 0;
    int64_t virtual_queries = 0;
  };
  struct SiteAcc {
    std::vector<float> chan_max;
    std::vector<int64_t> hits;
    int64_t tokens = 0;
    double kurtosis_sum = 0, max_abs = 0;
  };
  static bool tracked(Site s) { return s == Site::kQ || s == Site::kO || s == Site::kUp || s == Site::kDown; }

  const qh::Model& model_;
  AuditOptions options_;
  int64_t sequence_ = 0, start_ = 0;
  const uint8_t* domain_ = nullptr;
  std::vector<LayerAcc> layers_;                 // index layer + 1
  std::vector<std::vector<HeadAcc>> heads_;      // [layer][head]
  std::vector<std::vector<SiteAcc>> sites_;      // [layer][site]
  std::vector<std::vector<std::vector<float>>> gram_;  // [layer][head]: W_O,h^T W_O,h [hd, hd] for value_drain
};

// ||W v|| for every row v of values [T, hd] through a precomputed Gram matrix G = W^T W [hd, hd]:
// ||W v||^2 = v^T G v. Equals stats::value_drain's norms (tested); hd^2 work per token instead of d_model*hd.
double value_drain_gram(const float* values, int64_t T, int64_t hd, const float* gram);
std::vector<float> head_gram(const float* wo, int64_t d_model, int64_t wo_cols, int64_t head, int64_t hd);

}  // namespace qh::audit
