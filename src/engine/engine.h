// The engine: the forward pass of a qh::Model in full precision or under a quantization scheme (ARCHITECTURE.md 1.5,
// 1.6, 2.4), for one window of tokens at a time (prefill; no KV cache is kept between windows).
//
// Linear sites (q, k, v, o, gate, up, down; the gated variant's g_proj counts with q) run on one of three
// paths, chosen per site from the scheme:
//   fp        oneDNN f32 matmul (weights reordered once, primitives cached per shape);
//   integer   oneDNN s8/u8 x s8 matmul with int32 accumulation: weight scales per output channel as output
//             scales fixed at primitive creation, per-token activation scales as a binary-mul post-op
//             ({1,M,1}), asymmetric activations compensated with the weight column sums
//             y = s_x s_w (acc - z colsum); W4A4 is the s8 GEMM on values in the 4-bit range;
//   fake      quantize-dequantize then f32 matmul: group granularity, asymmetric weights, weight-only schemes;
//             and on request (EngineOptions::force_fake_quant) for every scheme, to cross-check the integer
//             path: sites the integer path could run then do its math in its order on the f32 GEMM (codes as
//             floats, exact below 2^24, then (acc * s_w) * s_x + b), so the two paths agree to f32 rounding.
// KV-cache quantization (scheme.kv) is dynamic per token (or group) per head, or static with kv granularity
// per_tensor: one calibrated scale per key/value head for K (after RoPE) and for V.
// Protections (ARCHITECTURE.md 1.6): protected token rows run the site in full precision (and their K/V entries stay
// unquantized); protected input channels C of each linear run as y = X[:,~C] Wq[~C,:]^T + X[:,C] W[C,:]^T.
// Weight scales always come from the full weight row; activation scales from the entries actually quantized.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "models/model.h"
#include "quant/scheme.h"
#include "src/engine/hadamard.h"
#include "src/engine/observer.h"
#include "src/engine/weight_quant.h"

namespace qh::engine {

// Which tokens and channels count as outliers, and on which data they are found: one struct shared by the
// evaluator, the audit, the protections and the suites, one meaning per field (ARCHITECTURE.md 1.2, 1.6).
struct OutlierSettings {
  // Sink token: position 0, and every position whose residual norm exceeds tau_tokens x the median token norm
  // of its window after any layer of the fp pass (protection T, the position classes, the audit's sink rows).
  float tau_tokens = 10.0f;
  // Outlier channels that protection C keeps in full precision: the top_k_channels input channels by max |x|
  // over the calibration data, or, when tau_channels > 0, those with chan_max >= tau_channels x median chan_max
  // (none when that median is 0; outlier_channels() in models/stats/activations.h).
  int top_k_channels = 2;
  double tau_channels = 0.0;
  // Calibration data (outlier channels, static activation and KV scales): the first window of each of the
  // first calib_sequences sequences.
  int calib_sequences = 4;
};

struct Protection {
  bool tokens = false;         // T: sink tokens (outliers.tau_tokens) stay in full precision
  bool channels = false;       // C: outlier input channels of each linear (outliers' channel rule)
  OutlierSettings outliers;
  bool none() const { return !tokens && !channels; }
  std::string name() const;    // "none" | "tokens" | "channels" | "both"
};
// "none" | "tokens" | "channels" | "both" -> Protection with default thresholds; InputError otherwise.
Protection parse_protection(const std::string& text);

// Online transforms a post-training method (src/methods) asks the forward pass to run, in full precision,
// because they cannot be folded into the weights: a Hadamard transform of the down projection's input (whose
// inverse the method folded into w_down), and a per-head transform of queries and keys after RoPE (so that
// the KV cache quantizes rotated keys; scores are unchanged since Q Q^T = I).
struct OnlineTransforms {
  HadamardTransform down;  // width d_ff, or empty
  HadamardTransform qk;    // width head_dim, or empty
};

// The weight quantizer of one linear site (layer, first site of a fused group): a method's replacement for
// round-to-nearest (GPTQ). Empty: round-to-nearest.
using SiteWeightQuantizer = std::function<QuantizedWeights(int layer, Site site, const float* w, int64_t N,
                                                           int64_t K, const QuantSpec& spec,
                                                           const std::vector<int64_t>& segments)>;

struct EngineOptions {
  bool force_fake_quant = false;  // run every quantized site on the fake-quant path (cross-checking)
  std::shared_ptr<const OnlineTransforms> online;  // nullptr: none
  SiteWeightQuantizer weight_quantizer;
  // Non-empty: only layers l with quantized_layers[l] != 0 quantize their linear sites; the others run in
  // full precision (the audit's per-layer sensitivity).
  std::vector<uint8_t> quantized_layers;
};

// Statistics of each linear input over calibration windows (an fp forward observed by CalibrationObserver):
// max |x| per input channel over all rows (chooses outlier channels) and per-channel min / max over the
// rows that are not protected tokens (static per-tensor activation scales).
struct SiteCalibration {
  std::vector<float> col_absmax;  // [K] over all rows
  std::vector<float> col_min;     // [K] over unprotected rows
  std::vector<float> col_max;     // [K] over unprotected rows
};
// Range of each key/value head's K and V (K after RoPE) over the unprotected rows: static KV-cache scales.
struct KvCalibration {
  std::vector<float> k_min, k_max, v_min, v_max;  // [kv_heads]
};
struct Calibration {
  // [layer][site]; q/k/v (and gate/up) hold identical statistics since they share an input.
  std::vector<std::vector<SiteCalibration>> sites;
  std::vector<KvCalibration> kv;  // [layer]
  int64_t rows = 0;  // calibration rows seen
  bool empty() const { return rows == 0; }
};

// Collects a Calibration from fp forward passes. Set the protected-row mask of each window before its forward.
class CalibrationObserver : public Observer {
 public:
  explicit CalibrationObserver(int num_layers);
  void set_protected_rows(const uint8_t* mask) { mask_ = mask; }  // [T] or nullptr
  void on_site_input(int layer, Site site, const float* x, int64_t T, int64_t K) override;
  void on_kv(int layer, const float* k, const float* v, int64_t kv_heads, int64_t T, int64_t hd) override;
  bool wants_site_inputs() const override { return true; }
  bool wants_kv() const override { return true; }
  const Calibration& result() const { return calib_; }

 private:
  Calibration calib_;
  const uint8_t* mask_ = nullptr;
};

// Sink-token rows of one window from the fp pass: position 0 plus every position whose residual norm exceeds
// tau x the median norm of the window's positions at any layer (embeddings included).
class ResidualNormObserver : public Observer {
 public:
  void on_residual(int layer, const float* h, int64_t T, int64_t d) override;
  void reset() { norms_.clear(); }
  // mask[T]: 1 = sink token. T must match the observed window.
  std::vector<uint8_t> sink_tokens(float tau) const;
  const std::vector<std::vector<float>>& norms() const { return norms_; }

 private:
  std::vector<std::vector<float>> norms_;  // per observed layer: ||h_i|| [T], summed in double
};

// Whether an engine for this scheme + protection needs calibration data: static (per-tensor) activation or
// KV-cache scales, or outlier channels.
bool needs_calibration(const Scheme& scheme, const Protection& protection);

// The protected input channels from a calibration's col_absmax under the settings' channel rule, ascending.
std::vector<int> protected_channels(const std::vector<float>& col_absmax, const OutlierSettings& o);

class QuantizedModel;

// A model prepared for one scheme + protection: quantized weights, cached oneDNN primitives.
// forward() may run on several threads at once (window-parallel evaluation, src/engine/window_parallel.h): the
// weights are shared read-only, every buffer of a pass belongs to the calling thread. A forward uses the OpenMP
// threads of its caller (omp_get_max_threads(); 1 inside a window-parallel worker).
class Engine {
 public:
  // The model must outlive the engine. `calib` is required when the scheme uses static activation scales or
  // p.channels is set (InputError otherwise); it may be empty for fp and dynamic schemes.
  Engine(const qh::Model& model, const Scheme& scheme, const Protection& protection = {},
         const Calibration& calib = {}, const EngineOptions& options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // logits [T, vocab] for tokens [T] (1 <= T <= context). protected_rows [T] (1 = keep in full precision)
  // is used only with protection.tokens; nullptr = position 0 only. Observer may be nullptr. logits nullptr:
  // the blocks only, without the final norm and lm_head (passes that only observe the blocks).
  void forward(const int32_t* tokens, int64_t T, float* logits, Observer* observer = nullptr,
               const uint8_t* protected_rows = nullptr);

  const qh::Model& model() const;
  const Scheme& scheme() const;
  const Protection& protection() const;
  // Which path each site runs on ("fp" | "integer" | "fake"), and the oneDNN implementation of the integer
  // matmuls (e.g. "brg:avx512_core_vnni"), empty until a forward ran on the integer path.
  std::string site_path(Site s) const;
  std::string int8_impl() const;
  std::string f32_impl() const;
  // Weight bytes the engine owns beside the model it views (ARCHITECTURE.md 2.4): int8 codes and scales, biases,
  // derived f32 matrices (dequantized or code-valued weights of the fake path, fake-quantized embeddings) and
  // any oneDNN reorder. The model's own tensors are shared, not counted.
  struct WeightBytes {
    size_t total = 0;
    size_t f32_matrices = 0;  // of total: f32 weight matrices
  };
  WeightBytes weight_bytes_held() const;
  // Flops of the linear layers (q, k, v, o, gate, up, down, g_proj and lm_head) per token: 2 * sum(K * N).
  double linear_flops_per_token() const;

 private:
  std::unique_ptr<QuantizedModel> impl_;
};

// A Calibration from fp passes of `fp` over the first window (up to `window` tokens) of each of the first
// min(o.calib_sequences, count) sequences, sink-token rows (o.tau_tokens) excluded from the scales.
Calibration calibrate(Engine& fp, const std::vector<std::vector<int32_t>>& sequences, size_t count, int64_t window,
                      const OutlierSettings& o);

// Checks that every weight is finite; InputError naming the tensor otherwise.
void check_finite_weights(const qh::Model& model);

}  // namespace qh::engine
