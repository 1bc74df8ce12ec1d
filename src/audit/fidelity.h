// Attention fidelity and per-site error under a scheme (ARCHITECTURE.md 1.7): the fp pass keeps a few attention rows per
// head (evenly spaced queries, at most AuditOptions::attention_rows per window, so memory stays bounded for
// long contexts and many heads); the quantized pass of the same window compares its rows with them.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "src/engine/observer.h"

namespace qh::audit {

// The query rows kept for a window of T tokens: up to max_rows indices evenly spaced in [1, T-1].
std::vector<int64_t> kept_rows(int64_t T, int64_t max_rows);

// KL(p || q) of two attention rows after normalising each to sum 1 (relu / clipped rows need not sum to 1);
// q is floored at 1e-30 so a probability the quantized pass rounded to 0 costs a large but finite amount.
// Rows with a zero sum contribute 0.
double attention_row_kl(const float* p, const float* q, int64_t n);

class AttentionCapture : public engine::Observer {
 public:
  AttentionCapture(int num_layers, int num_heads, int64_t max_rows);
  void on_attention(int layer, int head, const float* probs, int64_t T) override;
  bool wants_attention() const override { return true; }
  const std::vector<float>& rows(int layer, int head) const { return rows_[layer][head]; }
  int64_t T() const { return T_; }
  const std::vector<int64_t>& kept() const { return kept_; }
  // Allocates every head's rows for windows of up to `window` tokens at once (the audit's largest buffer:
  // layers x heads x kept rows x window floats), so that they never grow by doubling.
  void reserve(int64_t window);
  size_t bytes_held() const;

 private:
  int64_t max_rows_;
  int64_t T_ = 0;
  std::vector<int64_t> kept_;
  std::vector<std::vector<std::vector<float>>> rows_;
};

// Compares a quantized pass with the captured fp rows and accumulates per-head KL, the quantized sink_mass and
// per-layer per-site activation error.
class FidelityObserver : public engine::Observer {
 public:
  FidelityObserver(int num_layers, int num_heads);
  void set_reference(const AttentionCapture* fp) { fp_ = fp; }
  void on_attention(int layer, int head, const float* probs, int64_t T) override;
  void on_site_error(int layer, Site site, const quant::ErrorStats& error) override;
  bool wants_attention() const override { return true; }
  bool wants_site_errors() const override { return true; }
  size_t bytes_held() const;

  std::vector<std::vector<double>> mean_kl() const;     // [layer][head]
  std::vector<std::vector<double>> sink_mass() const;   // [layer][head]
  std::vector<std::array<double, kNumSites>> site_sqnr_db() const;  // [layer][site]; +inf without error stats
  std::array<double, kNumSites> site_sqnr_total() const;

 private:
  const AttentionCapture* fp_ = nullptr;
  std::vector<std::vector<double>> kl_sum_, sink_sum_;
  std::vector<std::vector<int64_t>> kl_n_, sink_n_;
  std::vector<std::array<quant::ErrorStats, kNumSites>> err_;
  std::vector<std::array<bool, kNumSites>> seen_;  // a site reported its error (ErrorStats::count may be 0)
};

}  // namespace qh::audit
