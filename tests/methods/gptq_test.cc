// GPTQ against a naive implementation of the published algorithm (arXiv 2210.17323): one column at a time in
// the same order, the same quantizer, the error fed back through the explicitly eliminated inverse Hessian
// (H^-1 <- H^-1 - H^-1[:, i] H^-1[i, :] / H^-1[i, i]) instead of the Cholesky rows and lazy batches. The two
// are the same algorithm in exact arithmetic, so the dequantized weights agree to 1e-6 for every block size,
// granularity and act-order; and GPTQ lowers the layer's output error against round-to-nearest.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include <omp.h>

#include "quant/quant_math.h"
#include "src/core/error.h"
#include "src/engine/weight_quant.h"
#include "src/methods/gptq.h"

namespace qh::methods {
namespace {

namespace qm = quant::math;

struct Layer {
  int64_t N, K;
  std::vector<float> w;   // [N, K]
  std::vector<float> x;   // [T, K] calibration inputs
  int64_t T;
  std::vector<double> h;  // X^T X
};

// Correlated inputs with planted outlier channels (correlation is what GPTQ's error feedback exploits; for
// uncorrelated inputs H is diagonal and GPTQ is round-to-nearest).
Layer make_layer(int64_t N, int64_t K, int64_t T, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  Layer L{N, K, std::vector<float>(N * K), std::vector<float>(T * K), T, std::vector<double>(K * K, 0.0)};
  for (float& v : L.w) v = g(rng) * 0.2f;
  // x = z A + noise: inputs driven by a few shared factors, as a layer's inputs are.
  constexpr int64_t R = 6;
  std::vector<float> A(R * K);
  for (float& v : A) v = g(rng);
  for (int64_t t = 0; t < T; ++t) {
    float z[R];
    for (float& v : z) v = g(rng);
    for (int64_t k = 0; k < K; ++k) {
      float s = 0.3f * g(rng);
      for (int64_t r = 0; r < R; ++r) s += z[r] * A[r * K + k];
      L.x[t * K + k] = s;
    }
    L.x[t * K + 2] *= 15.0f;
    L.x[t * K + K - 1] *= 8.0f;
  }
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < K; ++i)
      for (int64_t j = 0; j < K; ++j) L.h[i * K + j] += static_cast<double>(L.x[t * K + i]) * L.x[t * K + j];
  return L;
}

// The naive algorithm, as described in the file comment.
std::vector<float> naive_gptq(const Layer& L, const QuantSpec& spec, double damp_frac, bool act_order) {
  const int64_t N = L.N, K = L.K;
  const bool group = spec.granularity == Granularity::kGroup;
  const int64_t G = group ? spec.group_size : K;
  std::vector<double> W(L.w.begin(), L.w.end()), H = L.h;
  std::vector<float> scales(N), out(N * K);
  std::vector<int32_t> zps(N);
  if (!group) engine::weight_scales(L.w.data(), N, K, spec, {}, scales.data(), zps.data());
  for (int64_t k = 0; k < K; ++k)
    if (H[k * K + k] == 0) {
      H[k * K + k] = 1;
      for (int64_t n = 0; n < N; ++n) W[n * K + k] = 0;
    }
  double mean = 0;
  for (int64_t k = 0; k < K; ++k) mean += H[k * K + k];
  mean /= K;
  for (int64_t k = 0; k < K; ++k) H[k * K + k] += damp_frac * mean;
  // Gauss-Jordan inverse.
  std::vector<double> A = H, Hi(K * K, 0.0);
  for (int64_t k = 0; k < K; ++k) Hi[k * K + k] = 1;
  for (int64_t c = 0; c < K; ++c) {
    const double p = A[c * K + c];
    for (int64_t j = 0; j < K; ++j) {
      A[c * K + j] /= p;
      Hi[c * K + j] /= p;
    }
    for (int64_t r = 0; r < K; ++r) {
      if (r == c) continue;
      const double f = A[r * K + c];
      for (int64_t j = 0; j < K; ++j) {
        A[r * K + j] -= f * A[c * K + j];
        Hi[r * K + j] -= f * Hi[c * K + j];
      }
    }
  }
  std::vector<int64_t> order(K);
  std::iota(order.begin(), order.end(), 0);
  if (act_order)
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return H[a * K + a] > H[b * K + b]; });
  std::vector<float> gs(N), gz_f(N);
  std::vector<int32_t> gz(N);
  auto group_params = [&](int64_t first, const std::vector<double>& src) {
    for (int64_t n = 0; n < N; ++n) {
      if (spec.symmetric) {
        float amax = 0;
        for (int64_t c = first; c < first + G; ++c) amax = std::max(amax, std::fabs(static_cast<float>(src[n * K + c])));
        gs[n] = qm::scale_sym(amax, spec.bits, spec.clip);
        gz[n] = 0;
      } else {
        float lo = 0, hi = 0;
        for (int64_t c = first; c < first + G; ++c) {
          lo = std::min(lo, static_cast<float>(src[n * K + c]));
          hi = std::max(hi, static_cast<float>(src[n * K + c]));
        }
        qm::scale_asym(lo, hi, spec.bits, spec.clip, &gs[n], &gz[n]);
      }
    }
  };
  const std::vector<double> W0(L.w.begin(), L.w.end());
  std::vector<std::vector<float>> static_s(K / G, std::vector<float>(N));
  std::vector<std::vector<int32_t>> static_z(K / G, std::vector<int32_t>(N));
  if (group && act_order)
    for (int64_t g = 0; g < K / G; ++g) {
      group_params(g * G, W0);
      static_s[g] = gs;
      static_z[g] = gz;
    }
  std::vector<bool> done(K, false);
  for (int64_t step = 0; step < K; ++step) {
    const int64_t i = order[step];
    if (group && !act_order && i % G == 0) group_params(i, W);
    const double d = Hi[i * K + i];
    for (int64_t n = 0; n < N; ++n) {
      float s = scales[n];
      int32_t z = zps[n];
      if (group) {
        s = act_order ? static_s[i / G][n] : gs[n];
        z = act_order ? static_z[i / G][n] : gz[n];
      }
      const float inv = 1.0f / s, x = static_cast<float>(W[n * K + i]);
      float q;
      if (spec.symmetric) {
        q = s * qm::code_sym(x, inv, qm::qmin_sym(spec.bits), qm::qmax_sym(spec.bits));
      } else {
        q = s * (qm::code_asym(x, inv, static_cast<float>(z), qm::levels_asym(spec.bits)) - static_cast<float>(z));
      }
      out[n * K + i] = q;
      const double err = (W[n * K + i] - q) / d;
      for (int64_t j = 0; j < K; ++j)
        if (!done[j] && j != i) W[n * K + j] -= err * Hi[i * K + j];
    }
    done[i] = true;
    // Eliminate i from the inverse Hessian.
    std::vector<double> row(Hi.begin() + i * K, Hi.begin() + (i + 1) * K), col(K);
    for (int64_t r = 0; r < K; ++r) col[r] = Hi[r * K + i];
    for (int64_t r = 0; r < K; ++r)
      for (int64_t j = 0; j < K; ++j) Hi[r * K + j] -= col[r] * row[j] / d;
  }
  return out;
}

QuantSpec spec_of(int bits, Granularity g, int group, bool sym) {
  QuantSpec s;
  s.bits = bits;
  s.granularity = g;
  s.group_size = group;
  s.symmetric = sym;
  return s;
}

double output_error(const Layer& L, const std::vector<float>& q) {
  double e = 0;
  for (int64_t t = 0; t < L.T; ++t)
    for (int64_t n = 0; n < L.N; ++n) {
      double s = 0;
      for (int64_t k = 0; k < L.K; ++k) s += L.x[t * L.K + k] * (static_cast<double>(L.w[n * L.K + k]) - q[n * L.K + k]);
      e += s * s;
    }
  return e;
}

TEST(Gptq, EqualsTheNaiveAlgorithm) {
  const Layer L = make_layer(12, 32, 200, 7);
  struct Case {
    QuantSpec spec;
    bool act_order;
  };
  const std::vector<Case> cases = {
      {spec_of(4, Granularity::kPerChannel, 0, true), false},  {spec_of(4, Granularity::kPerChannel, 0, true), true},
      {spec_of(3, Granularity::kPerChannel, 0, false), false}, {spec_of(4, Granularity::kPerTensor, 0, true), false},
      {spec_of(4, Granularity::kGroup, 8, true), false},       {spec_of(4, Granularity::kGroup, 8, false), false},
      {spec_of(4, Granularity::kGroup, 8, true), true},
  };
  for (const Case& c : cases)
    for (int64_t block : {1, 5, 8, 128}) {
      const std::vector<float> want = naive_gptq(L, c.spec, 0.01, c.act_order);
      const engine::QuantizedWeights got =
          gptq_quantize(L.w.data(), L.N, L.K, L.h, c.spec, {}, GptqParams{0.01, c.act_order, block}, "test");
      ASSERT_EQ(got.dequant.size(), want.size());
      for (size_t i = 0; i < want.size(); ++i)
        ASSERT_NEAR(got.dequant[i], want[i], 1e-6) << granularity_string(c.spec) << " act_order " << c.act_order
                                                   << " block " << block << " i " << i;
      if (c.spec.symmetric && c.spec.granularity != Granularity::kGroup) {
        ASSERT_TRUE(got.has_codes);
        for (int64_t n = 0; n < L.N; ++n)
          for (int64_t k = 0; k < L.K; ++k)
            ASSERT_EQ(got.scales[n] * got.codes[n * L.K + k], got.dequant[n * L.K + k]);
      }
    }
}

TEST(Gptq, LowersTheOutputErrorOfALayerWithOutlierInputs) {
  const Layer L = make_layer(24, 64, 400, 9);
  for (const QuantSpec& spec : {spec_of(4, Granularity::kPerChannel, 0, true), spec_of(3, Granularity::kGroup, 16, true)}) {
    const engine::QuantizedWeights rtn = engine::quantize_weights(L.w.data(), L.N, L.K, spec, {});
    const engine::QuantizedWeights g = gptq_quantize(L.w.data(), L.N, L.K, L.h, spec, {}, GptqParams{}, "test");
    EXPECT_LT(output_error(L, g.dequant), 0.7 * output_error(L, rtn.dequant)) << granularity_string(spec);
  }
}

TEST(Gptq, DeadInputsAndAnIndefiniteHessian) {
  Layer L = make_layer(4, 8, 50, 3);
  for (int64_t j = 0; j < 8; ++j) L.h[3 * 8 + j] = L.h[j * 8 + 3] = 0;  // input 3 never active
  const auto q = gptq_quantize(L.w.data(), 4, 8, L.h, spec_of(4, Granularity::kPerChannel, 0, true), {},
                               GptqParams{}, "test");
  for (int64_t n = 0; n < 4; ++n) EXPECT_EQ(q.dequant[n * 8 + 3], 0.0f);
  std::vector<double> bad(64, 0.0);
  for (int64_t i = 0; i < 8; ++i) bad[i * 8 + i] = i == 0 ? -100.0 : 1.0;
  EXPECT_THROW(gptq_quantize(L.w.data(), 4, 8, bad, spec_of(4, Granularity::kPerChannel, 0, true), {},
                             GptqParams{}, "test"),
               InputError);
}


// X^T X (by tiles: f32 products summed in f32 within a window) against the plain double sum to 1e-5 relative,
// on widths that are not a multiple of the tile, with zero rows and a huge channel; and the same bits on 1, 2
// and 3 threads, for the Hessian and for GPTQ on a row count that is not a multiple of the task size.
TEST(Gptq, HessianTilesAndThreadCounts) {
  const int saved = omp_get_max_threads();
  // Small products take the double path, the others oneDNN's tiles (K x K x T from 2^22 up).
  for (const auto& [K, T] : std::vector<std::pair<int64_t, int64_t>>{
           {1, 67}, {7, 67}, {kGramTile, 300}, {kGramTile + 45, 67}, {kGramTile + 45, 300}, {2 * kGramTile + 1, 67}}) {
    std::mt19937 rng(static_cast<uint32_t>(K));
    std::normal_distribution<float> g(0.0f, 1.0f);
    std::vector<float> x(T * K);
    for (float& v : x) v = g(rng);
    for (int64_t k = 0; k < K; ++k) x[5 * K + k] = 0.0f;   // a zero row
    for (int64_t t = 0; t < T; ++t) x[t * K] *= 1e3f;       // a huge channel
    std::vector<double> want(K * K, 0.0);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < K; ++i)
        for (int64_t j = 0; j < K; ++j) want[i * K + j] += static_cast<double>(x[t * K + i]) * x[t * K + j];
    std::vector<std::vector<double>> got;
    for (int threads : {1, 2, 3}) {
      omp_set_num_threads(threads);
      std::vector<double> h(K * K, 0.0);
      add_gram_lower(x.data(), T, K, h.data());
      add_gram_lower(x.data(), T, K, h.data());  // two windows
      got.push_back(h);
    }
    omp_set_num_threads(saved);
    for (int64_t i = 0; i < K; ++i)
      for (int64_t j = 0; j < K; ++j) {
        const double w = 2 * want[i * K + j], h = got[0][i * K + j];
        if (j > i) {
          ASSERT_EQ(h, 0.0) << "upper triangle written at " << i << "," << j;
          continue;
        }
        ASSERT_NEAR(h, w, 1e-5 * std::sqrt(2 * want[i * K + i] * 2 * want[j * K + j]) + 1e-30) << K << " " << i << "," << j;
      }
    EXPECT_EQ(got[0], got[1]);
    EXPECT_EQ(got[0], got[2]);
  }
  // 32 x 128 x 96 per task's largest product: the tasks run in a parallel region (the serial path is for
  // products Eigen never splits).
  const Layer L = make_layer(kGptqRows * 2 + 5, 96, 300, 11);
  for (const GptqParams& p : {GptqParams{0.01, false, 128}, GptqParams{0.01, true, 128}}) {
    std::vector<std::vector<float>> q;
    for (int threads : {1, 2, 3}) {
      omp_set_num_threads(threads);
      q.push_back(gptq_quantize(L.w.data(), L.N, L.K, L.h, spec_of(4, Granularity::kGroup, 16, true), {}, p, "test")
                      .dequant);
    }
    omp_set_num_threads(saved);
    EXPECT_EQ(q[0], q[1]) << p.act_order;
    EXPECT_EQ(q[0], q[2]) << p.act_order;
    // And each task's rows equal the same rows quantized alone (rows are independent in GPTQ).
    const engine::QuantizedWeights alone =
        gptq_quantize(L.w.data() + kGptqRows * L.K, kGptqRows, L.K, L.h, spec_of(4, Granularity::kGroup, 16, true), {},
                      p, "test");
    for (int64_t i = 0; i < kGptqRows * L.K; ++i) ASSERT_EQ(alone.dequant[i], q[0][kGptqRows * L.K + i]) << i;
  }
}

TEST(Gptq, HessianObserverSharesAnInputAndMirrors) {
  HessianObserver obs(1);
  const int64_t T = 9, K = 5;
  std::vector<float> x(T * K);
  for (int64_t i = 0; i < T * K; ++i) x[i] = static_cast<float>((i * 7) % 11) - 5.0f;
  for (Site s : {Site::kQ, Site::kK, Site::kV}) obs.on_site_input(0, s, x.data(), T, K);  // one input, three sites
  obs.finish();
  const std::vector<double>& h = obs.hessian(0, InputSlot::kAttn);
  ASSERT_EQ(h.size(), static_cast<size_t>(K * K));
  for (int64_t i = 0; i < K; ++i)
    for (int64_t j = 0; j < K; ++j) {
      double want = 0;  // small integers: exact
      for (int64_t t = 0; t < T; ++t) want += static_cast<double>(x[t * K + i]) * x[t * K + j];
      EXPECT_EQ(h[i * K + j], want) << i << "," << j;
    }
  EXPECT_EQ(obs.rows(), T);
  EXPECT_TRUE(obs.hessian(0, InputSlot::kMlp).empty());
}


// The quantizer factors every layer input at its first call, on the threads: a failure in any of them leaves
// the parallel region as the InputError naming that layer, the first in input order.
TEST(Gptq, QuantizerFactorsEveryInputAndNamesTheOneThatFails) {
  const int64_t K = 64;
  auto h = std::make_shared<HessianObserver>(3);
  for (int l = 0; l < 3; ++l)
    for (int slot = 0; slot < kNumSlots; ++slot) {
      std::vector<double>& m = h->hessian(l, static_cast<InputSlot>(slot));
      m.assign(K * K, 0.0);
      for (int64_t i = 0; i < K; ++i) m[i * K + i] = 1.0 + i;
    }
  std::vector<float> w(8 * K, 0.5f);
  const QuantSpec spec = spec_of(4, Granularity::kPerChannel, 0, true);
  EXPECT_EQ(gptq_quantizer(h, GptqParams{}, 0, nullptr)(2, Site::kDown, w.data(), 8, K, spec, {}).dequant.size(),
            w.size());
  h->hessian(1, InputSlot::kDown)[5 * K + 5] = -1e6;
  h->hessian(2, InputSlot::kAttn)[5 * K + 5] = -1e6;
  const int saved = omp_get_max_threads();
  omp_set_num_threads(2);
  try {
    gptq_quantizer(h, GptqParams{}, 0, nullptr)(0, Site::kQ, w.data(), 8, K, spec, {});
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("layer 1 input of down"), std::string::npos) << e.what();
  }
  omp_set_num_threads(saved);
}

}  // namespace
}  // namespace qh::methods
