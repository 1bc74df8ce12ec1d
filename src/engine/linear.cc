#include "src/engine/linear.h"

#include <algorithm>
#include <cmath>

#include "src/core/error.h"
#include "src/engine/for_rows.h"
#include "src/engine/weight_quant.h"

namespace qh::engine {

const char* to_string(LinearPath p) {
  switch (p) {
    case LinearPath::kFp: return "fp";
    case LinearPath::kInteger: return "integer";
    case LinearPath::kFake: return "fake";
  }
  return "?";
}

bool runs_on_integers(const QuantSpec& w, const QuantSpec& a) {
  if (!w.enabled() || !a.enabled()) return false;
  if (!w.symmetric || w.granularity == Granularity::kGroup || w.bits > 8) return false;
  return (a.granularity == Granularity::kPerToken || a.granularity == Granularity::kPerTensor) && a.bits <= 8;
}

namespace {
// The calling thread's scratch: forward() runs on several threads at once (window-parallel evaluation), and
// one scratch per thread serves every site of every engine (nothing in it outlives a call). Bound to a local
// reference in each method, so that lambdas run by worker threads capture the caller's buffers.
LinearScratch& thread_scratch() {
  thread_local LinearScratch s;
  return s;
}
// Scratch vectors only grow: sites of different widths take turns with the same buffers, and a resize back up
// would value-initialise (zero) the tail on every call.
template <class T>
void at_least(std::vector<T>& v, int64_t n) {
  if (v.size() < static_cast<size_t>(n)) v.resize(static_cast<size_t>(n));
}
}  // namespace

Linear::Linear(const float* w, int64_t N, int64_t K, const float* bias, const LinearConfig& config)
    : Linear(std::vector<WeightRows>{{w, N}}, K, bias, config) {}

Linear::Linear(const std::vector<WeightRows>& parts, int64_t K, const float* bias, const LinearConfig& config)
    : N_(0), K_(K), cfg_(config), parts_(parts) {
  for (const WeightRows& p : parts_) {
    part_row0_.push_back(N_);
    fp_.emplace_back(p.data, p.rows, K, bias ? bias + N_ : nullptr);
    N_ += p.rows;
  }
  const int64_t N = N_;
  if (bias) bias_.assign(bias, bias + N);
  for (int c : cfg_.protected_channels)
    for (const WeightRows& p : parts_)
      for (int64_t n = 0; n < p.rows; ++n) protected_cols_.push_back(p.data[n * K + c]);
  const QuantSpec& a = cfg_.activations;
  if (!cfg_.weights.enabled() && !a.enabled()) return;  // full precision
  if (a.enabled() && a.granularity == Granularity::kGroup && (a.group_size <= 0 || K % a.group_size != 0))
    throw InputError("activation group size " + std::to_string(a.group_size) + " does not divide the input width " +
                     std::to_string(K));
  if (a.enabled() && a.granularity == Granularity::kPerTensor) {
    const quant::RowParams p = quant::row_params(a);
    if (a.symmetric) {
      quant::scale_from_absmax(std::max(std::fabs(cfg_.static_lo), std::fabs(cfg_.static_hi)), p, &static_scale_);
    } else {
      quant::scale_from_minmax(cfg_.static_lo, cfg_.static_hi, p, &static_scale_, &static_zp_);
    }
  }
  QuantizedWeights qw;
  if (cfg_.weights.enabled()) {
    // The quantizers want the matrix in one piece: a fused site's parts are stacked for the call only.
    std::vector<float> stacked;
    const float* w = parts_[0].data;
    if (parts_.size() > 1) {
      stacked.reserve(static_cast<size_t>(N * K));
      for (const WeightRows& p : parts_) stacked.insert(stacked.end(), p.data, p.data + p.rows * K);
      w = stacked.data();
    }
    qw = cfg_.quantize_weights ? cfg_.quantize_weights(w, N, K, cfg_.weights, cfg_.segments)
                               : quantize_weights(w, N, K, cfg_.weights, cfg_.segments);
  }
  if (runs_on_integers(cfg_.weights, cfg_.activations) && qw.has_codes) {
    const bool per_tensor = a.granularity == Granularity::kPerTensor;
    if (!a.symmetric) {
      colsum_scaled_.assign(N, 0.0f);
      for (int64_t n = 0; n < N; ++n) {
        int64_t s = 0;
        for (int64_t k = 0; k < K; ++k) s += qw.codes[n * K + k];
        colsum_scaled_[n] = qw.scales[n] * static_cast<float>(s);
      }
    }
    if (!cfg_.force_fake) {
      path_ = LinearPath::kInteger;
      int8_ = std::make_unique<Int8Matmul>(qw.codes.data(), qw.scales.data(), N, K, bias, !a.symmetric,
                                           per_tensor ? static_scale_ : 0.0f);
      return;
    }
    path_ = LinearPath::kFake;
    code_w_.assign(qw.codes.begin(), qw.codes.end());
    code_gemm_ = std::make_unique<F32Matmul>(code_w_.data(), N, K, nullptr);
    out_scales_ = qw.scales;
    if (per_tensor)  // folded exactly as Int8Matmul folds it into its output scales
      for (float& s : out_scales_) s *= static_scale_;
  } else {
    path_ = LinearPath::kFake;
    if (cfg_.weights.enabled()) {  // activation-only schemes run the fp weights (fp_forward)
      deq_w_ = std::move(qw.dequant);
      deq_ = std::make_unique<F32Matmul>(deq_w_.data(), N, K, bias);
    }
  }
}

size_t Linear::bytes_held() const {
  size_t n = (bias_.size() + protected_cols_.size()) * sizeof(float) + f32_weight_bytes_held();
  for (const F32Matmul& f : fp_) n += f.bytes_held();
  for (const F32Matmul* f : {deq_.get(), code_gemm_.get()})
    if (f) n += f->bytes_held();
  if (int8_) n += int8_->bytes_held();
  n += colsum_scaled_.size() * sizeof(float) + out_scales_.size() * sizeof(float);
  return n;
}

size_t Linear::f32_weight_bytes_held() const { return (deq_w_.size() + code_w_.size()) * sizeof(float); }

void Linear::fp_forward(const float* x, int64_t M, float* y) {
  LinearScratch& s = thread_scratch();
  if (fp_.size() == 1) {
    fp_[0].run(x, M, y);
    return;
  }
  // Each part into its own [M, N_p] block (an output with a row stride would move oneDNN off brgemm), then
  // into its columns of y.
  for (size_t p = 0; p < fp_.size(); ++p) {
    const int64_t Np = parts_[p].rows, c0 = part_row0_[p];
    s.part_y.resize(static_cast<size_t>(M * Np));
    fp_[p].run(x, M, s.part_y.data());
    for_rows(M, Np, [&](int64_t m) {
      std::copy(s.part_y.data() + m * Np, s.part_y.data() + (m + 1) * Np, y + m * N_ + c0);
    });
  }
}

std::string Linear::impl() const {
  if (path_ == LinearPath::kInteger) return int8_->impl();
  if (code_gemm_) return code_gemm_->impl();
  if (deq_) return deq_->impl();
  return fp_[0].impl();
}

void Linear::quantize_activations(const float* x, int64_t M, const uint8_t* protected_rows,
                                  quant::ErrorStats* act_error) {
  LinearScratch& s = thread_scratch();
  const QuantSpec& a = cfg_.activations;
  const int64_t K = K_;
  // The quantized part excludes protected channels: they are zeroed, so they neither set the scale nor
  // contribute to the product (their exact contribution is added back in full precision).
  s.xsrc = x;
  if (!cfg_.protected_channels.empty()) {
    s.xin.assign(x, x + M * K);
    for (int64_t m = 0; m < M; ++m)
      for (int c : cfg_.protected_channels) s.xin[m * K + c] = 0.0f;
    s.xsrc = s.xin.data();
  }
  const float* xs = s.xsrc;
  if (!a.enabled()) return;  // weight-only: s.xin is used as is
  const quant::RowParams p = quant::row_params(a);
  const bool per_tensor = a.granularity == Granularity::kPerTensor;
  at_least(s.xq, M * K);
  if (path_ == LinearPath::kInteger || code_gemm_) {
    at_least(s.scales, M);
    if (a.symmetric) {
      at_least(s.codes_s8, M * K);
      if (per_tensor) {
        std::fill(s.scales.begin(), s.scales.begin() + M, static_scale_);
        quant::quantize_rows_sym(xs, M, K, K, s.scales.data(), a.bits, s.codes_s8.data(), K);
      } else {
        quant::quantize_per_token_sym(xs, M, K, K, p, s.codes_s8.data(), K, s.scales.data());
      }
      if (act_error) quant::dequantize_rows_sym(s.codes_s8.data(), M, K, K, s.scales.data(), s.xq.data(), K);
    } else {
      at_least(s.codes_u8, M * K);
      at_least(s.zps, M);
      if (per_tensor) {
        std::fill(s.scales.begin(), s.scales.begin() + M, static_scale_);
        std::fill(s.zps.begin(), s.zps.begin() + M, static_zp_);
        quant::quantize_rows_asym(xs, M, K, K, s.scales.data(), s.zps.data(), a.bits, s.codes_u8.data(), K);
      } else {
        quant::quantize_per_token_asym(xs, M, K, K, p, s.codes_u8.data(), K, s.scales.data(), s.zps.data());
      }
      if (act_error)
        quant::dequantize_rows_asym(s.codes_u8.data(), M, K, K, s.scales.data(), s.zps.data(), s.xq.data(), K);
    }
    if (code_gemm_) {
      at_least(s.xcodes, M * K);
      if (a.symmetric) std::copy(s.codes_s8.begin(), s.codes_s8.begin() + M * K, s.xcodes.begin());
      else std::copy(s.codes_u8.begin(), s.codes_u8.begin() + M * K, s.xcodes.begin());
    }
  } else if (a.granularity == Granularity::kGroup) {
    quant::fake_quant_groups(xs, M, K, K, a.group_size, p, s.xq.data(), K);
  } else if (per_tensor) {
    quant::fake_quant_fixed(xs, M, K, K, static_scale_, static_zp_, p, s.xq.data(), K);
  } else {
    quant::fake_quant_rows(xs, M, K, K, p, s.xq.data(), K);
  }
  if (!act_error) return;
  // Error of the quantized rows only: protected rows are kept in full precision and carry no error.
  for (int64_t m = 0; m < M; ++m) {
    if (protected_rows && protected_rows[m]) continue;
    act_error->merge(quant::error_stats(xs + m * K, s.xq.data() + m * K, K));
  }
}

void Linear::asym_compensation(int64_t M, float* y) const {
  LinearScratch& s = thread_scratch();
  // y = s_x s_w (acc - z colsum): the GEMM gave s_x s_w acc; subtract s_x z (s_w colsum).
  const int64_t N = N_;
  for_rows(M, N, [&](int64_t m) {
    const float sz = s.scales[m] * static_cast<float>(s.zps[m]);
    if (sz == 0.0f) return;
    float* row = y + m * N;
    for (int64_t n = 0; n < N; ++n) row[n] -= sz * colsum_scaled_[n];
  });
}

void Linear::scale_code_products(int64_t M, float* y) const {
  LinearScratch& s = thread_scratch();
  // The integer path's epilogue, operation for operation: output scale per column, then the per-token
  // activation scale (absent when folded into a static per-tensor scale), then the bias.
  const int64_t N = N_;
  const bool per_token = cfg_.activations.granularity != Granularity::kPerTensor;
  for_rows(M, N, [&](int64_t m) {
    float* row = y + m * N;
    for (int64_t n = 0; n < N; ++n) {
      float v = row[n] * out_scales_[n];
      if (per_token) v *= s.scales[m];
      if (!bias_.empty()) v += bias_[n];
      row[n] = v;
    }
  });
}

void Linear::add_channel_correction(const float* x, int64_t M, float* y, const uint8_t* protected_rows) const {
  const int64_t N = N_, K = K_;
  const std::vector<int>& channels = cfg_.protected_channels;
  for_rows(M, N * static_cast<int64_t>(channels.size()), [&](int64_t m) {
    if (protected_rows && protected_rows[m]) return;
    float* row = y + m * N;
    for (size_t i = 0; i < channels.size(); ++i) {
      const float xc = x[m * K + channels[i]];
      if (xc == 0.0f) continue;
      const float* w = protected_cols_.data() + static_cast<int64_t>(i) * N;
      for (int64_t n = 0; n < N; ++n) row[n] += xc * w[n];
    }
  });
}

void Linear::fp_rows(const float* x, int64_t M, float* y, const uint8_t* protected_rows) {
  LinearScratch& s = thread_scratch();
  std::vector<int64_t> rows;
  for (int64_t m = 0; m < M; ++m)
    if (protected_rows[m]) rows.push_back(m);
  if (rows.empty()) return;
  const int64_t P = static_cast<int64_t>(rows.size());
  s.gather_x.resize(P * K_);
  s.gather_y.resize(P * N_);
  for (int64_t i = 0; i < P; ++i) std::copy(x + rows[i] * K_, x + (rows[i] + 1) * K_, s.gather_x.data() + i * K_);
  fp_forward(s.gather_x.data(), P, s.gather_y.data());
  for (int64_t i = 0; i < P; ++i)
    std::copy(s.gather_y.data() + i * N_, s.gather_y.data() + (i + 1) * N_, y + rows[i] * N_);
}

void Linear::forward(const float* x, int64_t M, float* y, const uint8_t* protected_rows,
                     quant::ErrorStats* act_error) {
  LinearScratch& s = thread_scratch();
  if (path_ == LinearPath::kFp) {
    fp_forward(x, M, y);
    return;
  }
  quantize_activations(x, M, protected_rows, act_error);
  if (path_ == LinearPath::kInteger) {
    const void* codes = cfg_.activations.symmetric ? static_cast<const void*>(s.codes_s8.data())
                                                   : static_cast<const void*>(s.codes_u8.data());
    int8_->run(codes, s.scales.data(), M, y);
    if (!cfg_.activations.symmetric) asym_compensation(M, y);
  } else if (code_gemm_) {
    code_gemm_->run(s.xcodes.data(), M, y);
    scale_code_products(M, y);
    if (!cfg_.activations.symmetric) asym_compensation(M, y);
  } else {
    const float* xin = cfg_.activations.enabled() ? s.xq.data() : s.xsrc;
    if (deq_) deq_->run(xin, M, y);
    else fp_forward(xin, M, y);
  }
  if (!cfg_.protected_channels.empty()) add_channel_correction(x, M, y, protected_rows);
  if (protected_rows) fp_rows(x, M, y, protected_rows);
}

}  // namespace qh::engine
