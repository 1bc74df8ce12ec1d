// GPTQ; see gptq.h.
#include "src/methods/gptq.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <map>
#include <mutex>
#include <numeric>
#include <utility>

#include <omp.h>

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

// Eigen splits a matrix product over the OpenMP threads only outside a parallel region and only from about
// this much work (rows x columns x depth) up, and a split product can round differently (rows fall to other
// kernel variants). The tasks below therefore run either with every product under this size, or inside one
// OpenMP region, where Eigen keeps each product on its thread: a task computes the same bits wherever it runs.
constexpr double kEigenSplitWork = 100000;

// fn(i) for i in [0, n); `product_work`: the largest matrix product a task computes.
template <class Fn>
void for_tasks(int64_t n, double product_work, Fn fn) {
  const bool small = product_work < kEigenSplitWork && static_cast<double>(n) * product_work < (1 << 22);
  if (omp_get_max_threads() <= 1 || omp_in_parallel() || small) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t i = 0; i < n; ++i) fn(i);
}

using Mat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>;

}  // namespace

GptqFactor gptq_factor(const std::vector<double>& hessian, int64_t K, const GptqParams& params,
                       const std::string& what) {
  QH_CHECK(K >= 1 && static_cast<int64_t>(hessian.size()) == K * K);
  Mat H = Eigen::Map<const Mat>(hessian.data(), K, K);
  GptqFactor f;
  f.K = K;
  f.dead.assign(K, 0);
  // Dead inputs, dampening.
  for (int64_t k = 0; k < K; ++k)
    if (H(k, k) == 0) {
      H(k, k) = 1;
      f.dead[k] = 1;
    }
  const double damp = params.damp * H.diagonal().mean();
  H.diagonal().array() += damp;
  f.perm.resize(K);
  std::iota(f.perm.begin(), f.perm.end(), 0);
  if (params.act_order)
    std::stable_sort(f.perm.begin(), f.perm.end(), [&](int64_t a, int64_t b) { return H(a, a) > H(b, b); });
  // R = J Hp J: the permuted Hessian in reverse order.
  Mat R(K, K);
  for (int64_t j = 0; j < K; ++j)
    for (int64_t i = 0; i < K; ++i) R(i, j) = H(f.perm[K - 1 - i], f.perm[K - 1 - j]);
  bool positive_definite = true;
  f.u.resize(K * K);
  for_tasks(1, static_cast<double>(K) * K * K, [&](int64_t) {  // one task: its products stay on one thread
    Eigen::LLT<Mat> llt(R);
    positive_definite = llt.info() == Eigen::Success;
    if (!positive_definite) return;
    Mat Minv = Mat::Identity(K, K);
    llt.matrixL().solveInPlace(Minv);
    Eigen::Map<Mat>(f.u.data(), K, K) = Minv.reverse();  // J M^-1 J: upper triangular
  });
  if (!positive_definite)
    throw InputError("gptq: " + what + ": the Hessian is not positive definite after dampening " +
                     std::to_string(params.damp) + " (raise gptq:damp)");
  return f;
}

engine::QuantizedWeights gptq_quantize(const float* w_in, int64_t N, int64_t K, const GptqFactor& f,
                                       const QuantSpec& spec, const std::vector<int64_t>& segments,
                                       const GptqParams& params) {
  QH_CHECK(spec.enabled() && f.K == K && static_cast<int64_t>(f.u.size()) == K * K);
  const bool group = spec.granularity == Granularity::kGroup;
  const int64_t G = group ? spec.group_size : K;
  if (group && (G <= 0 || K % G != 0))
    throw InputError("weight group size " + std::to_string(G) + " does not divide the input width " + std::to_string(K));
  const int64_t groups = K / G;
  const Eigen::Map<const Mat> U(f.u.data(), K, K);
  const std::vector<int64_t>& perm = f.perm;

  // Scales from the original weights (per channel / per tensor: over whole rows or segments, so computed for
  // all rows at once).
  std::vector<float> row_scales(N, 1.0f);
  std::vector<int32_t> row_zps(N, 0);
  if (!group) engine::weight_scales(w_in, N, K, spec, segments, row_scales.data(), row_zps.data());

  engine::QuantizedWeights out;
  out.dequant.assign(N * K, 0.0f);
  std::vector<float> codes(N * K, 0.0f);
  const int64_t B = std::max<int64_t>(1, params.block);
  const int64_t tasks = (N + kGptqRows - 1) / kGptqRows;
  for_tasks(tasks, static_cast<double>(std::min(N, kGptqRows)) * std::min(B, K) * K, [&](int64_t task) {
    const int64_t r0 = task * kGptqRows, R = std::min(N, r0 + kGptqRows) - r0;
    // This task's rows, columns in quantization order (column-major: the algorithm walks columns).
    Mat Wp(R, K);
    for (int64_t i = 0; i < K; ++i)
      for (int64_t n = 0; n < R; ++n) Wp(n, i) = f.dead[perm[i]] ? 0.0 : w_in[(r0 + n) * K + perm[i]];
    std::vector<Grid> grids(R * groups);  // [n][group]
    if (!group) {
      for (int64_t n = 0; n < R; ++n) {
        grids[n].scale = row_scales[r0 + n];
        grids[n].inv = 1.0f / row_scales[r0 + n];
        grids[n].zp = row_zps[r0 + n];
      }
    } else if (params.act_order) {
      // Static groups from the original weights (a group's columns are not contiguous in act order).
      std::vector<double> row(G);
      for (int64_t n = 0; n < R; ++n)
        for (int64_t g = 0; g < groups; ++g) {
          for (int64_t c = 0; c < G; ++c) row[c] = w_in[(r0 + n) * K + g * G + c];
          grids[n * groups + g] = span_grid(row.data(), G, 1, spec);
        }
    }
    Mat Err(R, B), cur;
    for (int64_t i1 = 0; i1 < K; i1 += B) {
      const int64_t i2 = std::min(i1 + B, K), cnt = i2 - i1;
      for (int64_t i = 0; i < cnt; ++i) {
        const int64_t col = i1 + i, orig = perm[col];
        if (group && !params.act_order && orig % G == 0) {
          // The group's columns (the next G without act-order) in their current state: columns past the block
          // have not had this block's lazy update yet, so its pending part is added here.
          cur.resize(R, G);
          for (int64_t c = 0; c < G; ++c) {
            cur.col(c) = Wp.col(col + c);
            if (col + c >= i2 && i > 0) cur.col(c).noalias() -= Err.leftCols(i) * U.block(i1, col + c, i, 1);
          }
          for (int64_t n = 0; n < R; ++n) grids[n * groups + orig / G] = span_grid(&cur(n, 0), G, R, spec);
        }
        const double d = U(col, col);
        for (int64_t n = 0; n < R; ++n) {
          const Grid& g = grids[n * groups + (group ? orig / G : 0)];
          float code;
          const float q = quantize_value(Wp(n, col), g, spec, &code);
          codes[(r0 + n) * K + orig] = code;
          out.dequant[(r0 + n) * K + orig] = q;
          Err(n, i) = (Wp(n, col) - q) / d;
        }
        // Within the block: the later columns absorb this column's error.
        if (i + 1 < cnt)
          Wp.block(0, col + 1, R, cnt - i - 1).noalias() -= Err.col(i) * U.block(col, col + 1, 1, cnt - i - 1);
      }
      // Lazy batch update of every column after the block.
      if (i2 < K) Wp.rightCols(K - i2).noalias() -= Err.leftCols(cnt) * U.block(i1, i2, cnt, K - i2);
    }
  });

  if (spec.symmetric && !group) {
    out.has_codes = true;
    out.codes.resize(N * K);
    for (int64_t i = 0; i < N * K; ++i) out.codes[i] = static_cast<int8_t>(codes[i]);
    out.scales = row_scales;
  }
  return out;
}

engine::QuantizedWeights gptq_quantize(const float* w, int64_t N, int64_t K, const std::vector<double>& hessian,
                                       const QuantSpec& spec, const std::vector<int64_t>& segments,
                                       const GptqParams& params, const std::string& what) {
  QH_CHECK(spec.enabled() && static_cast<int64_t>(hessian.size()) == K * K);
  return gptq_quantize(w, N, K, gptq_factor(hessian, K, params, what), spec, segments, params);
}

// The site a slot is named by in messages (q for q/k/v, up for gate/up).
static Site site_of_slot(InputSlot s) {
  switch (s) {
    case InputSlot::kAttn: return Site::kQ;
    case InputSlot::kO: return Site::kO;
    case InputSlot::kMlp: return Site::kUp;
    case InputSlot::kDown: return Site::kDown;
  }
  return Site::kQ;
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

void add_gram_lower(const float* x, int64_t T, int64_t K, double* sum) {
  if (static_cast<double>(K) * K * T < (1 << 22)) {
    // Small inputs (test models): in double on the calling thread; an OpenMP region would cost more.
    for (int64_t t = 0; t < T; ++t) {
      const float* r = x + t * K;
      for (int64_t i = 0; i < K; ++i) {
        const double xi = r[i];
        double* row = sum + i * K;
        for (int64_t j = 0; j <= i; ++j) row[j] += xi * r[j];
      }
    }
    return;
  }
  const int64_t nt = (K + kGramTile - 1) / kGramTile;
  std::vector<std::pair<int64_t, int64_t>> tiles;  // (row tile, column tile), row >= column
  for (int64_t bi = 0; bi < nt; ++bi)
    for (int64_t bj = 0; bj <= bi; ++bj) tiles.emplace_back(bi, bj);
  // oneDNN's GEMM, like Eigen's, runs on the calling thread inside a parallel region: the tiles always run
  // inside one (unless there is one thread), so a tile's reduction order never depends on the thread count.
  for_tasks(static_cast<int64_t>(tiles.size()), kEigenSplitWork, [&](int64_t t) {
    const int64_t i0 = tiles[t].first * kGramTile, j0 = tiles[t].second * kGramTile;
    const int64_t mi = std::min(kGramTile, K - i0), mj = std::min(kGramTile, K - j0);
    thread_local std::vector<float> c;
    c.resize(mi * mj);
    // C[mi, mj] = X[:, i0..]^T X[:, j0..] (row-major), on this thread.
    const dnnl_status_t st = dnnl_sgemm('T', 'N', mi, mj, T, 1.0f, x + i0, K, x + j0, K, 0.0f, c.data(), mj);
    QH_CHECK(st == dnnl_success);
    for (int64_t r = 0; r < mi; ++r) {
      double* row = sum + (i0 + r) * K + j0;
      const float* cr = c.data() + r * mj;
      const int64_t n = i0 == j0 ? r + 1 : mj;  // the diagonal tile's lower half
      for (int64_t k = 0; k < n; ++k) row[k] += cr[k];
    }
  });
}

HessianObserver::HessianObserver(int num_layers)
    : h_(num_layers, std::vector<std::vector<double>>(kNumSlots)) {}

void HessianObserver::on_site_input(int layer, Site site, const float* x, int64_t T, int64_t K) {
  // Each input is reported once per site that reads it: count it through one site per slot.
  if (site != Site::kQ && site != Site::kO && site != Site::kUp && site != Site::kDown) return;
  std::vector<double>& h = h_.at(layer).at(static_cast<int>(slot_of(site)));
  if (h.empty()) h.assign(K * K, 0.0);
  QH_CHECK(static_cast<int64_t>(h.size()) == K * K);
  add_gram_lower(x, T, K, h.data());
  if (layer == 0 && site == Site::kQ) rows_ += T;
}

void HessianObserver::finish() {
  for (auto& layer : h_)
    for (std::vector<double>& h : layer) {
      const int64_t K = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(h.size()))));
      for (int64_t i = 0; i < K; ++i)
        for (int64_t j = i + 1; j < K; ++j) h[i * K + j] = h[j * K + i];
    }
}

const std::vector<double>& HessianObserver::hessian(int layer, InputSlot slot) const {
  return h_.at(layer).at(static_cast<int>(slot));
}
std::vector<double>& HessianObserver::hessian(int layer, InputSlot slot) {
  return h_.at(layer).at(static_cast<int>(slot));
}

engine::SiteWeightQuantizer gptq_quantizer(std::shared_ptr<const HessianObserver> hessians, GptqParams params,
                                           int64_t group, std::shared_ptr<double> seconds) {
  // The factor of every (layer, input slot), made together on the first call (one task per input, on the
  // threads) and kept for every later site and scheme.
  struct Factors {
    std::mutex mu;
    std::vector<std::shared_ptr<const GptqFactor>> by_input;  // [layer * kNumSlots + slot]
  };
  auto factors = std::make_shared<Factors>();
  return [hessians, params, group, seconds, factors](int layer, Site site, const float* w, int64_t N, int64_t K,
                                                     const QuantSpec& spec_in, const std::vector<int64_t>& segments) {
    const auto t0 = std::chrono::steady_clock::now();
    QuantSpec spec = spec_in;
    if (group > 0) {
      spec.granularity = Granularity::kGroup;
      spec.group_size = static_cast<int>(group);
    }
    std::shared_ptr<const GptqFactor> f;
    {
      std::lock_guard<std::mutex> lock(factors->mu);
      if (factors->by_input.empty()) {
        const int64_t n = static_cast<int64_t>(hessians->num_layers()) * kNumSlots;
        std::vector<std::shared_ptr<const GptqFactor>> made(n);
        std::vector<std::exception_ptr> errors(n);
        double largest = 0;
        for (int64_t i = 0; i < n; ++i)
          largest = std::max(largest, std::pow(static_cast<double>(hessians->hessian(
                                                   static_cast<int>(i / kNumSlots), static_cast<InputSlot>(i % kNumSlots)).size()), 1.5));
        for_tasks(n, largest, [&](int64_t i) {
          const int l = static_cast<int>(i / kNumSlots);
          const InputSlot slot = static_cast<InputSlot>(i % kNumSlots);
          const std::vector<double>& h = hessians->hessian(l, slot);
          if (h.empty()) return;
          const int64_t k = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(h.size()))));
          try {  // nothing may leave an OpenMP region: the first failure (in input order) is rethrown below
            made[i] = std::make_shared<const GptqFactor>(
                gptq_factor(h, k, params, "layer " + std::to_string(l) + " input of " + to_string(site_of_slot(slot))));
          } catch (...) {
            errors[i] = std::current_exception();
          }
        });
        for (const auto& e : errors)
          if (e) std::rethrow_exception(e);
        factors->by_input = std::move(made);
      }
      f = factors->by_input.at(static_cast<size_t>(layer) * kNumSlots + static_cast<int>(slot_of(site)));
    }
    QH_CHECK(f && f->K == K);
    engine::QuantizedWeights q = gptq_quantize(w, N, K, *f, spec, segments, params);
    if (seconds) *seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return q;
  };
}

}  // namespace qh::methods
