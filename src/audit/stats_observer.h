// StatsObserver: collects the audit statistics (ARCHITECTURE.md 1.1-1.2) during full-precision forward passes, one
// window at a time, keeping only aggregates (never all attention matrices), so the audit of a model costs
// about one fp evaluation pass (`qharness bench audit` measures the ratio). The hot paths use the fused,
// allocation-free kernels of models/stats/fused.h; value norms go through a triangular factor of each head's
// W_O slice (models/stats/projected_norms.h).
#pragma once

#include <cstdint>
#include <vector>

#include "models/model.h"
#include "models/stats/fused.h"
#include "models/stats/projected_norms.h"
#include "models/stats/sinks.h"
#include "src/audit/audit.h"
#include "src/engine/observer.h"

namespace qh::audit {

class StatsObserver : public engine::Observer {
 public:
  StatsObserver(const qh::Model& model, const AuditOptions& options);
  ~StatsObserver() override;

  // Call before each window's forward: the sequence index and start (for massive activations) and the
  // per-query domain mask [T] (see query_split.h; 1 = domain 1) or nullptr (every query in domain 0).
  void begin_window(int64_t sequence, int64_t start, const uint8_t* domain);
  // Allocates each head's per-key sums for windows of up to `window` tokens at once (layers x heads x window
  // doubles), so that they never grow by doubling when a later window is longer.
  void reserve(int64_t window);
  // Bytes of every buffer the observer holds (the audit's memory estimate is tested against it).
  size_t bytes_held() const;

  void on_residual(int layer, const float* h, int64_t T, int64_t d) override;
  void on_attention(int layer, int head, const float* probs, int64_t T) override;
  void on_virtual_sink(int layer, int head, const float* mass, int64_t T) override;
  void on_gate(int layer, int head, const float* gate, int64_t T, int64_t n, int64_t ld) override;
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
    std::vector<MassiveEntry> massive;  // the best 3 so far, by descending |value| (earlier windows first on ties)
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
    double gate_sum = 0, gate_closed = 0;  // gated variant: sum of gate values, count below kGateClosed
    int64_t gate_count = 0;
  };
  static bool tracked(Site s) { return s == Site::kQ || s == Site::kO || s == Site::kUp || s == Site::kDown; }
  void merge_massive(LayerAcc* acc, const float* h, int64_t T, int64_t d);

  const qh::Model& model_;
  AuditOptions options_;
  int64_t sequence_ = 0, start_ = 0;
  const uint8_t* domain_ = nullptr;
  std::vector<LayerAcc> layers_;                       // index layer + 1
  std::vector<std::vector<HeadAcc>> heads_;            // [layer][head]
  std::vector<std::vector<stats::ChannelStats>> sites_;  // [layer][site]
  // ||W_O,h v|| = ||R v|| for the triangular factor R [rank, hd] of the head's W_O slice (W = Q R).
  std::vector<std::vector<stats::ProjectedNorms>> drain_;  // [layer][head]
  // Scratch reused across calls.
  stats::FusedScratch scratch_;
  stats::ResidualWindow residual_;
  std::vector<double> norms_;
};

// The triangular factor R [rank, hd] (rank = min(d_model, hd)) of a Householder QR of the head's slice of W_O
// (columns [head*hd, (head+1)*hd) of wo [d_model, wo_cols]), computed in double: ||W_O,h v|| = ||R v|| for every
// v, with rank*hd instead of d_model*hd multiply-adds per value vector.
std::vector<float> head_factor(const float* wo, int64_t d_model, int64_t wo_cols, int64_t head, int64_t hd,
                               int64_t* rank);

}  // namespace qh::audit
