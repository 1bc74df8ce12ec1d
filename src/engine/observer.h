// Observers: read-only hooks into the engine's forward pass, for the audit (sinks, drains, peaks, outlier
// channels), attention fidelity and per-site quantization error. Every hook has an empty default; a forward
// pass with no observer attached (nullptr) evaluates none of the extra work (no copies, no statistics).
// Pointers are valid only during the call. Rows are token positions of the current window (0-based).
#pragma once

#include <cstdint>

#include "src/core/error.h"
#include "quant/quantize.h"
#include "quant/scheme.h"

namespace qh::engine {

class Observer {
 public:
  virtual ~Observer() = default;

  // Residual stream h [T, d] after block `layer` (layer -1: the embeddings, positions included).
  virtual void on_residual(int layer, const float* h, int64_t T, int64_t d) {}
  // Attention probabilities of query head `head`: probs [T, T] row-major, causal (entries above the diagonal
  // are 0). For the relu / clipped variants these are the weights actually applied to the values (rows need
  // not sum to 1); for the sink variant the mass on the learnable sink is reported by on_virtual_sink.
  virtual void on_attention(int layer, int head, const float* probs, int64_t T) {}
  // Sink variant only: virtual_sink_mass [T], the probability each query puts on the learnable sink logit.
  virtual void on_virtual_sink(int layer, int head, const float* mass, int64_t T) {}
  // Gated variant only: the gate sigmoid(x W_g) of query head `head`, gate [T, n] with row stride ld (n = hd
  // for an elementwise gate, 1 for a per-head gate), as it multiplies the head's attention output.
  virtual void on_gate(int layer, int head, const float* gate, int64_t T, int64_t n, int64_t ld) {}
  // Value vectors v [T, hd] used by query head `head` (its key/value head under GQA), after KV quantization.
  virtual void on_values(int layer, int head, const float* v, int64_t T, int64_t hd) {}
  // The full-precision input x [T, K] of a linear site (q, k, v share one input, gate and up share one).
  // The gated variant's g_proj reads the same input as q and is counted with site q.
  virtual void on_site_input(int layer, Site site, const float* x, int64_t T, int64_t K) {}
  // Activation quantization error of a site's input (x against deq(q(x)) over the rows / channels that
  // were quantized); called only for sites whose activations are quantized.
  virtual void on_site_error(int layer, Site site, const quant::ErrorStats& error) {}

  // Keys (after RoPE) and values of every key/value head before KV-cache quantization: k, v [kv_heads][T][hd].
  virtual void on_kv(int layer, const float* k, const float* v, int64_t kv_heads, int64_t T, int64_t hd) {}

  // Hooks that need extra work are only fed when the observer asks for them.
  virtual bool wants_attention() const { return false; }    // on_attention, on_virtual_sink, on_gate
  virtual bool wants_values() const { return false; }       // on_values
  virtual bool wants_site_inputs() const { return false; }  // on_site_input
  virtual bool wants_site_errors() const { return false; }  // on_site_error
  virtual bool wants_kv() const { return false; }           // on_kv
};

// Forwards every hook to several observers.
class ObserverList : public Observer {
 public:
  void add(Observer* o) {
    if (!o) return;
    QH_CHECK(n_ < kMax);
    list_[n_++] = o;
  }
  bool empty() const { return n_ == 0; }
  void on_residual(int l, const float* h, int64_t T, int64_t d) override {
    for (int i = 0; i < n_; ++i) list_[i]->on_residual(l, h, T, d);
  }
  void on_attention(int l, int h, const float* p, int64_t T) override {
    for (int i = 0; i < n_; ++i)
      if (list_[i]->wants_attention()) list_[i]->on_attention(l, h, p, T);
  }
  void on_virtual_sink(int l, int h, const float* m, int64_t T) override {
    for (int i = 0; i < n_; ++i)
      if (list_[i]->wants_attention()) list_[i]->on_virtual_sink(l, h, m, T);
  }
  void on_gate(int l, int h, const float* g, int64_t T, int64_t n, int64_t ld) override {
    for (int i = 0; i < n_; ++i)
      if (list_[i]->wants_attention()) list_[i]->on_gate(l, h, g, T, n, ld);
  }
  void on_values(int l, int h, const float* v, int64_t T, int64_t hd) override {
    for (int i = 0; i < n_; ++i)
      if (list_[i]->wants_values()) list_[i]->on_values(l, h, v, T, hd);
  }
  void on_site_input(int l, Site s, const float* x, int64_t T, int64_t K) override {
    for (int i = 0; i < n_; ++i)
      if (list_[i]->wants_site_inputs()) list_[i]->on_site_input(l, s, x, T, K);
  }
  void on_site_error(int l, Site s, const quant::ErrorStats& e) override {
    for (int i = 0; i < n_; ++i)
      if (list_[i]->wants_site_errors()) list_[i]->on_site_error(l, s, e);
  }
  void on_kv(int l, const float* k, const float* v, int64_t kv_heads, int64_t T, int64_t hd) override {
    for (int i = 0; i < n_; ++i)
      if (list_[i]->wants_kv()) list_[i]->on_kv(l, k, v, kv_heads, T, hd);
  }
  bool wants_kv() const override { return any(&Observer::wants_kv); }
  bool wants_attention() const override { return any(&Observer::wants_attention); }
  bool wants_values() const override { return any(&Observer::wants_values); }
  bool wants_site_inputs() const override { return any(&Observer::wants_site_inputs); }
  bool wants_site_errors() const override { return any(&Observer::wants_site_errors); }

 private:
  bool any(bool (Observer::*f)() const) const {
    for (int i = 0; i < n_; ++i)
      if ((list_[i]->*f)()) return true;
    return false;
  }
  static constexpr int kMax = 8;
  Observer* list_[kMax] = {};
  int n_ = 0;
};

}  // namespace qh::engine
