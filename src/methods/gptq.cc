// GPTQ; see gptq.h.
#include "src/methods/gptq.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <oneapi/dnnl/dnnl.h>

#include "quant/quant_math.h"
#include "src/core/error.h"

namespace qh::methods {

namespace qm = quant::math;

namespace {

// The quantization grid of one weight row segment: scale and zero point.
struct Grid {
  float scale = 1.0f, inv = 1.0f;
  int32_t zp = 0;
};

Grid span_grid(const double* v, int64_t n, int64_t stride, const QuantSpec& spec) {
  Grid g;
  if (spec.symmetric) {
    float amax = 0;
    for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(static_cast<float>(v[i * stride])));
    g.scale = qm::scale_sym(amax, spec.bits, spec.clip);
  } else {
    float lo = 0, hi = 0;
    for (int64_t i = 0; i < n; ++i) {
      const float x = static_cast<float>(v[i * stride]);
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
    qm::scale_asym(lo, hi, spec.bits, spec.clip, &g.scale, &g.zp);
  }
  g.inv = 1.0f / g.scale;
  return g;
}

// Round-to-nearest of one value on a grid, as the quantizer does it: the code and its dequantized value.
float quantize_value(double w, const Grid& g, const QuantSpec& spec, float* code) {
  const float x = static_cast<float>(w);
  if (spec.symmetric) {
    *code = qm::code_sym(x, g.inv, qm::qmin_sym(spec.bits), qm::qmax_sym(spec.bits));
    return g.scale * *code;
  }
  const float z = static_cast<float>(g.zp);
  *code = qm::code_asym(x, g.inv, z, qm::levels_asym(spec.bits));
  return g.scale * (*code - z);
}

}  // namespace

engine::QuantizedWeights gptq_quantize(const float* w_in, int64_t N, int64_t K, const std::vector<double>& hessian,
                                       const QuantSpec& spec, const std::vector<int64_t>& segments,
                                       const GptqParams& params, const std::string& what) {
  QH_CHECK(spec.enabled() && static_cast<int64_t>(hessian.size()) == K * K);
  const bool group = spec.granularity == Granularity::kGroup;
  const int64_t G = group ? spec.group_size : K;
  if (group && (G <= 0 || K % G != 0))
    throw InputError("weight group size " + std::to_string(G) + " does not divide the input width " + std::to_string(K));
  using Mat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>;
  Mat H = Eigen::Map<const Mat>(hessian.data(), K, K);
  Mat W(N, K);  // column-major: the algorithm walks columns
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) W(n, k) = w_in[n * K + k];

  // Scales from the original weights (per channel / per tensor, or static groups under act-order).
  std::vector<float> row_scales(N, 1.0f);
  std::vector<int32_t> row_zps(N, 0);
  if (!group) engine::weight_scales(w_in, N, K, spec, segments, row_scales.data(), row_zps.data());
  std::vector<Grid> grids(N * (K / G));  // [n][group]
  auto set_group = [&](int64_t g, const Mat& src) {  // group g (original columns g*G ..) from src
    for (int64_t n = 0; n < N; ++n) grids[n * (K / G) + g] = span_grid(&src(n, g * G), G, N, spec);
  };
  if (!group) {
    for (int64_t n = 0; n < N; ++n) {
      grids[n].scale = row_scales[n];
      grids[n].inv = 1.0f / row_scales[n];
      grids[n].zp = row_zps[n];
    }
  } else if (params.act_order) {
    for (int64_t g = 0; g < K / G; ++g) set_group(g, W);
  }

  // Dead inputs, dampening.
  for (int64_t k = 0; k < K; ++k)
    if (H(k, k) == 0) {
      H(k, k) = 1;
      W.col(k).setZero();
    }
  const double damp = params.damp * H.diagonal().mean();
  H.diagonal().array() += damp;

  std::vector<int64_t> perm(K);
  std::iota(perm.begin(), perm.end(), 0);
  if (params.act_order)
    std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) { return H(a, a) > H(b, b); });
  Mat Hp(K, K), Wp(N, K);
  for (int64_t i = 0; i < K; ++i) {
    Wp.col(i) = W.col(perm[i]);
    for (int64_t j = 0; j < K; ++j) Hp(i, j) = H(perm[i], perm[j]);
  }
  // U: upper Cholesky factor of H^-1 (H^-1 = U^T U).
  Eigen::LLT<Mat> llt(Hp);
  if (llt.info() != Eigen::Success)
    throw InputError("gptq: " + what + ": the Hessian is not positive definite after dampening " +
                     std::to_string(params.damp) + " (raise gptq:damp)");
  const Mat Hinv = llt.solve(Mat::Identity(K, K));
  Eigen::LLT<Mat> llt_inv(Hinv);
  if (llt_inv.info() != Eigen::Success)
    throw InputError("gptq: " + what + ": the inverse Hessian is not positive definite (raise gptq:damp)");
  const Mat U = llt_inv.matrixU();

  engine::QuantizedWeights out;
  out.dequant.assign(N * K, 0.0f);
  std::vector<float> codes(N * K, 0.0f);
  const int64_t B = std::max<int64_t>(1, params.block);
  for (int64_t i1 = 0; i1 < K; i1 += B) {
    const int64_t i2 = std::min(i1 + B, K), cnt = i2 - i1;
    Mat Err(N, cnt);
    for (int64_t i = 0; i < cnt; ++i) {
      const int64_t col = i1 + i, orig = perm[col];
      if (group && !params.act_order && orig % G == 0) {
        // The group's columns (the next G without act-order) in their current state: columns past the block
        // have not had this block's lazy update yet, so its pending part is added here.
        Mat cur(N, G);
        for (int64_t c = 0; c < G; ++c) {
          cur.col(c) = Wp.col(col + c);
          if (col + c >= i2 && i > 0) cur.col(c).noalias() -= Err.leftCols(i) * U.block(i1, col + c, i, 1);
        }
        for (int64_t n = 0; n < N; ++n) grids[n * (K / G) + orig / G] = span_grid(&cur(n, 0), G, N, spec);
      }
      const double d = U(col, col);
      for (int64_t n = 0; n < N; ++n) {
        const Grid& g = grids[n * (K / G) + (group ? orig / G : 0)];
        float code;
        const float q = quantize_value(Wp(n, col), g, spec, &code);
        codes[n * K + orig] = code;
        out.dequant[n * K + orig] = q;
        Err(n, i) = (Wp(n, col) - q) / d;
      }
      // Within the block: the later columns absorb this column's error.
      if (i + 1 < cnt)
        Wp.block(0, col + 1, N, cnt - i - 1).noalias() -= Err.col(i) * U.block(col, col + 1, 1, cnt - i - 1);
    }
    // Lazy batch update of every column after the block.
    if (i2 < K) Wp.rightCols(K - i2).noalias() -= Err * U.block(i1, i2, cnt, K - i2);
  }

  if (spec.symmetric && !group) {
    out.has_codes = true;
    out.codes.resize(N * K);
    for (int64_t i = 0; i < N * K; ++i) out.codes[i] = static_cast<int8_t>(codes[i]);
    out.scales = row_scales;
  }
  return out;
}

InputSlot slot_of(Site s) {
  switch (s) {
    case Site::kQ: case Site::kK: case Site::kV: return InputSlot::kAttn;
    case Site::kO: return InputSlot::kO;
    case Site::kGate: case Site::kUp: return InputSlot::kMlp;
    case Site::kDown: return InputSlot::kDown;
  }
  return InputSlot::kAttn;
}

HessianObserver::HessianObserver(int num_layers)
    : h_(num_layers, std::vector<std::vector<double>>(kNumSlots)) {}

void HessianObserver::on_site_input(int layer, Site site, const float* x, int64_t T, int64_t K) {
  // Each input is reported once per site that reads it: count it through one site per slot.
  if (site != Site::kQ && site != Site::kO && site != Site::kUp && site != Site::kDown) return;
  std::vector<double>& h = h_.at(layer).at(static_cast<int>(slot_of(site)));
  if (h.empty()) h.assign(K * K, 0.0);
  QH_CHECK(static_cast<int64_t>(h.size()) == K * K);
  // x^T x of this window in f32 through oneDNN's GEMM (row-major: C[K,K] = X^T X), summed in double.
  scratch_.assign(K * K, 0.0f);
  const dnnl_status_t st = dnnl_sgemm('T', 'N', K, K, T, 1.0f, x, K, x, K, 0.0f, scratch_.data(), K);
  QH_CHECK(st == dnnl_success);
  for (int64_t i = 0; i < K * K; ++i) h[i] += scratch_[i];
  if (layer == 0 && site == Site::kQ) rows_ += T;
}

const std::vector<double>& HessianObserver::hessian(int layer, InputSlot slot) const {
  return h_.at(layer).at(static_cast<int>(slot));
}

engine::SiteWeightQuantizer gptq_quantizer(std::shared_ptr<const HessianObserver> hessians, GptqParams params,
                                           int64_t group, std::shared_ptr<double> seconds) {
  return [hessians, params, group, seconds](int layer, Site site, const float* w, int64_t N, int64_t K,
                                            const QuantSpec& spec_in, const std::vector<int64_t>& segments) {
    const auto t0 = std::chrono::steady_clock::now();
    QuantSpec spec = spec_in;
    if (group > 0) {
      spec.granularity = Granularity::kGroup;
      spec.group_size = static_cast<int>(group);
    }
    const std::vector<double>& h = hessians->hessian(layer, slot_of(site));
    QH_CHECK(static_cast<int64_t>(h.size()) == K * K);
    engine::QuantizedWeights q = gptq_quantize(w, N, K, h, spec, segments, params,
                                               "layer " + std::to_string(layer) + " site " + to_string(site));
    if (seconds) *seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return q;
  };
}

}  // namespace qh::methods
