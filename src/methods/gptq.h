// GPTQ (arXiv 2210.17323): weights quantized one input column at a time, each column's rounding error fed
// back into the columns not yet quantized through the inverse Hessian of the layer's reconstruction loss
// ||X W^T - X Q^T||^2, H = 2 X^T X over calibration inputs X.
//
// Algorithm 1 of the paper: H += damp * mean(diag H) * I (dead inputs, diag 0, get H_ii = 1 and a zero weight
// column); optional act-order (columns by decreasing diag H); U = the upper Cholesky factor of H^-1; then for
// blocks of `block` columns: q_i = quant(w_i), e_i = (w_i - q_i) / U_ii, w_j -= e_i U_ij for the block's later
// columns j, and after the block one matrix product carries the block's errors into every later column (the
// lazy batch update). Arithmetic in double; Cholesky through Eigen.
//
// The quantizer is the scheme's: per-channel / per-tensor scales (fixed or MSE clip) computed once from the
// original weights exactly as round-to-nearest computes them (engine::weight_scales); group scales from the
// current (error-updated) weights when a group's first column is reached, or from the original weights with
// act-order (static groups: a group's columns are not contiguous in act order). The result has the same form
// as engine::quantize_weights (codes usable by the integer GEMM for symmetric per-channel / per-tensor).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "quant/scheme.h"
#include "src/engine/engine.h"
#include "src/engine/weight_quant.h"

namespace qh::methods {

struct GptqParams {
  double damp = 0.01;
  bool act_order = false;
  int64_t block = 128;
};

// What GPTQ needs of a Hessian, independent of the weights and the quantizer: computed once per layer input
// and shared by the linears that read it (q/k/v; gate/up) and by every scheme.
struct GptqFactor {
  int64_t K = 0;
  std::vector<int64_t> perm;  // position i of the column order quantizes input column perm[i]
  std::vector<uint8_t> dead;  // [K] inputs never active (H_ii == 0): their weight columns become 0
  std::vector<double> u;      // [K * K] column-major: U, upper Cholesky factor of the permuted, dampened H^-1
};

// hessian [K * K] symmetric (any positive multiple of X^T X). InputError when H + damping is not positive
// definite (`what` names the layer and site). U is computed as J M^-1 J with M M^T = J H J (J reverses the
// order): one Cholesky factorisation and one triangular inverse instead of an inverse and a second
// factorisation (the same U in exact arithmetic: U^T U = J M^-T M^-1 J = H^-1).
GptqFactor gptq_factor(const std::vector<double>& hessian, int64_t K, const GptqParams& params,
                       const std::string& what);

// w [N, K]. Rows are independent in GPTQ (each row's error feeds only its own later columns), so they run as
// fixed tasks of kGptqRows rows on the OpenMP threads: the same bits on any thread count.
inline constexpr int64_t kGptqRows = 32;
engine::QuantizedWeights gptq_quantize(const float* w, int64_t N, int64_t K, const GptqFactor& factor,
                                       const QuantSpec& spec, const std::vector<int64_t>& segments,
                                       const GptqParams& params);
// The same from the Hessian.
engine::QuantizedWeights gptq_quantize(const float* w, int64_t N, int64_t K, const std::vector<double>& hessian,
                                       const QuantSpec& spec, const std::vector<int64_t>& segments,
                                       const GptqParams& params, const std::string& what);

// Per-layer X^T X of each linear input (q/k/v share one; gate/up share one), accumulated over fp forward
// passes of calibration windows. Each window's X^T X is one symmetric rank-T update: its lower triangle in
// tiles of kGramTile x kGramTile, each tile one f32 GEMM on one thread (a fixed reduction order: the same bits
// on any thread count), added in double.
enum class InputSlot { kAttn = 0, kO, kMlp, kDown };
inline constexpr int kNumSlots = 4;
inline constexpr int64_t kGramTile = 128;
InputSlot slot_of(Site s);

// sum += X^T X on the lower triangle (i >= j) of sum [K * K] row-major; x [T, K].
void add_gram_lower(const float* x, int64_t T, int64_t K, double* sum);

class HessianObserver : public engine::Observer {
 public:
  explicit HessianObserver(int num_layers);
  void on_site_input(int layer, Site site, const float* x, int64_t T, int64_t K) override;
  bool wants_site_inputs() const override { return true; }
  // After the last window: copies each lower triangle onto the upper one.
  void finish();
  // [K * K] for (layer, slot): sum over rows of x x^T (symmetric after finish()).
  const std::vector<double>& hessian(int layer, InputSlot slot) const;
  std::vector<double>& hessian(int layer, InputSlot slot);
  int num_layers() const { return static_cast<int>(h_.size()); }
  int64_t rows() const { return rows_; }
  void set_rows(int64_t rows) { rows_ = rows; }

 private:
  std::vector<std::vector<std::vector<double>>> h_;  // [layer][slot]
  int64_t rows_ = 0;
};

// The engine hook: GPTQ of each quantized site with its layer's Hessian (the factor of each layer input computed
// once, on first use). `group` > 0 replaces the scheme's weight granularity by groups of that many input
// channels. `seconds` (optional) accumulates the time spent.
engine::SiteWeightQuantizer gptq_quantizer(std::shared_ptr<const HessianObserver> hessians, GptqParams params,
                                           int64_t group, std::shared_ptr<double> seconds);

}  // namespace qh::methods
