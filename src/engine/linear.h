// One linear site (or several fused sites that share an input, e.g. q|k|v) under a quantization scheme:
// y[M,N] = x[M,K] W^T + b on the fp, integer or fake-quant path (see engine.h), with protected token rows
// (full precision) and protected input channels (y = X[:,~C] Wq[~C,:]^T + X[:,C] W[C,:]^T).
//
// Weight storage: the full-precision weights are the caller's (a Model's tensors, read-only after loading),
// viewed in place and never copied, so engines on one Model share them; the fp path, the protected rows and
// the protected channels all read them. A Linear owns only what its path derives from them: int8 codes and
// scales (integer path), dequantized weights (fake path), or codes as floats (the fake cross-check of an
// integer-shaped site). bytes_held() counts what it owns.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "quant/quantize.h"
#include "quant/scheme.h"
#include "src/engine/matmul.h"
#include "src/engine/weight_quant.h"

namespace qh::engine {

enum class LinearPath { kFp, kInteger, kFake };
const char* to_string(LinearPath p);  // "fp" | "integer" | "fake"

// Whether a site with these weight and activation settings runs on the int8 GEMM (unless forced to the fake path).
bool runs_on_integers(const QuantSpec& weights, const QuantSpec& activations);

// Per-call scratch of a site's forward (activation codes and scales, the channel-zeroed input, gathered rows,
// one fused part's output). Nothing in it outlives a forward, so one per thread serves every site of every
// engine (linear.cc): per site it would hold several [T, K] buffers for every linear of every layer, and a
// per-engine one could not serve concurrent forwards.
struct LinearScratch {
  const float* xsrc = nullptr;  // the input of the quantized part (x, or xin with channels zeroed)
  std::vector<float> xin, xq, xcodes, scales, gather_x, gather_y, part_y;
  std::vector<int32_t> zps;
  std::vector<int8_t> codes_s8;
  std::vector<uint8_t> codes_u8;
};

struct LinearConfig {
  QuantSpec weights;                  // bits 0: full-precision weights
  QuantSpec activations;              // bits 0: full-precision activations
  std::vector<int64_t> segments;      // row counts of fused projections (per-tensor weight scales per segment)
  std::vector<int> protected_channels;  // input channels kept in full precision
  // Static per-tensor activations: calibrated range over the quantized entries.
  float static_lo = 0.0f, static_hi = 0.0f;
  bool force_fake = false;
  WeightQuantizer quantize_weights;   // empty: round-to-nearest (quantize_weights of weight_quant.h)
};

// Rows [row0, row0 + rows) of a site's weight matrix, stored contiguously [rows, K] by the caller.
struct WeightRows {
  const float* data;
  int64_t rows;
};

// forward() may run on several threads at once (window-parallel evaluation): its scratch belongs to the calling
// thread, never to the Linear.
class Linear {
 public:
  // w [N, K], bias [N] or nullptr. `w` must outlive the Linear, unchanged.
  Linear(const float* w, int64_t N, int64_t K, const float* bias, const LinearConfig& config);
  // A fused site whose weight matrix is the parts stacked in order (e.g. q | k | v, each a Model tensor),
  // not copied into one matrix: the fp GEMM runs per part (the same bits as one GEMM on the stacked matrix).
  Linear(const std::vector<WeightRows>& parts, int64_t K, const float* bias, const LinearConfig& config);
  // protected_rows [M] (1 = full precision) or nullptr; act_error (optional) receives the activation
  // quantization error over the quantized entries.
  void forward(const float* x, int64_t M, float* y, const uint8_t* protected_rows,
               quant::ErrorStats* act_error);
  LinearPath path() const { return path_; }
  std::string impl() const;
  int64_t N() const { return N_; }
  int64_t K() const { return K_; }
  // Bytes the Linear owns for its weights (codes, scales, derived f32 matrices, bias, oneDNN copies); the
  // viewed full-precision weights are not counted.
  size_t bytes_held() const;
  // Of those, the bytes of f32 weight matrices (dequantized or code-valued), 0 on the fp and integer paths.
  size_t f32_weight_bytes_held() const;

 private:
  void quantize_activations(const float* x, int64_t M, const uint8_t* protected_rows,
                            quant::ErrorStats* act_error);
  void add_channel_correction(const float* x, int64_t M, float* y, const uint8_t* protected_rows) const;
  void asym_compensation(int64_t M, float* y) const;
  void fp_rows(const float* x, int64_t M, float* y, const uint8_t* protected_rows);
  // y[M,N] = x W^T + b on the viewed full-precision weights.
  void fp_forward(const float* x, int64_t M, float* y);
  void scale_code_products(int64_t M, float* y) const;

  int64_t N_, K_;
  LinearConfig cfg_;
  LinearPath path_ = LinearPath::kFp;
  std::vector<WeightRows> parts_;   // the full-precision weights [N, K], viewed (protected rows / channels)
  std::vector<int64_t> part_row0_;  // first row of each part
  std::vector<float> bias_;
  std::vector<F32Matmul> fp_;       // one per part, on the viewed weights
  std::vector<float> deq_w_;        // fake path: dequantized weights [N, K] (empty: the fp weights)
  std::unique_ptr<F32Matmul> deq_;  // fake path on deq_w_
  std::unique_ptr<Int8Matmul> int8_;
  // Fake path of a site the integer path could run (cross-checking): an f32 GEMM on the integer-valued codes
  // (exact while partial sums stay below 2^24), scaled afterwards in the integer path's order:
  // (acc * s_w[n]) * s_x[m] + b[n]. Empty otherwise (deq_ on quantize-dequantized values).
  std::vector<float> code_w_;       // codes as floats [N, K]
  std::unique_ptr<F32Matmul> code_gemm_;
  std::vector<float> out_scales_;   // s_w[n] (times the static activation scale for per-tensor activations)
  std::vector<float> colsum_scaled_;  // asymmetric integer path: s_w[n] * sum_k q_w[n,k]
  // Protection C: the full-precision weights of the protected input channels, channel after channel, each
  // column of W [N] contiguous (the correction adds x[m,c] times it to every row; read in place it was a
  // stride-K walk through all of W).
  std::vector<float> protected_cols_;
  float static_scale_ = 0.0f;
  int32_t static_zp_ = 0;
};

}  // namespace qh::engine
