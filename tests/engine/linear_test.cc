// Quantized linear sites: the int8 GEMM is exact on small integers, the integer path equals the fake-quant
// path for every named scheme, protections keep rows / channels in full precision.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "src/core/error.h"
#include "quant/quantize.h"
#include "quant/scheme.h"
#include "src/engine/engine.h"
#include "src/engine/linear.h"
#include "src/engine/matmul.h"
#include "tests/engine/tiny_models.h"

namespace qh::engine {
namespace {

std::vector<float> random_vec(size_t n, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = g(rng);
  return v;
}

TEST(Int8Matmul, ExactOnSmallIntegers) {
  const int64_t M = 37, K = 96, N = 50;
  std::mt19937 rng(7);
  std::vector<int8_t> w(N * K), xs(M * K);
  std::vector<uint8_t> xu(M * K);
  for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 15) - 7);
  for (auto& v : xs) v = static_cast<int8_t>(static_cast<int>(rng() % 15) - 7);
  for (auto& v : xu) v = static_cast<uint8_t>(rng() % 16);
  // Powers of two keep every product exact in f32.
  std::vector<float> ws(N), as(M), bias(N);
  for (int64_t n = 0; n < N; ++n) ws[n] = std::ldexp(1.0f, static_cast<int>(n % 3) - 1), bias[n] = float(n % 5);
  for (int64_t m = 0; m < M; ++m) as[m] = std::ldexp(1.0f, static_cast<int>(m % 4) - 2);
  for (bool unsigned_src : {false, true}) {
    for (bool with_bias : {false, true}) {
      Int8Matmul mm(w.data(), ws.data(), N, K, with_bias ? bias.data() : nullptr, unsigned_src, 0.0f);
      std::vector<float> y(M * N);
      mm.run(unsigned_src ? static_cast<const void*>(xu.data()) : xs.data(), as.data(), M, y.data());
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          int32_t acc = 0;
          for (int64_t k = 0; k < K; ++k)
            acc += (unsigned_src ? int32_t(xu[m * K + k]) : int32_t(xs[m * K + k])) * int32_t(w[n * K + k]);
          const float want = as[m] * ws[n] * static_cast<float>(acc) + (with_bias ? bias[n] : 0.0f);
          ASSERT_EQ(y[m * N + n], want) << m << "," << n << " unsigned=" << unsigned_src;
        }
    }
  }
  // Static scale folded into the output scales.
  Int8Matmul st(w.data(), ws.data(), N, K, nullptr, false, 0.5f);
  std::vector<float> y(M * N);
  st.run(xs.data(), nullptr, M, y.data());
  int32_t acc = 0;
  for (int64_t k = 0; k < K; ++k) acc += int32_t(xs[K + k]) * int32_t(w[2 * K + k]);
  EXPECT_EQ(y[N + 2], 0.5f * ws[2] * static_cast<float>(acc));
  EXPECT_FALSE(st.impl().empty());
}

// Runs one site both ways; the inputs are identical, so the codes are and only f32 rounding differs.
void expect_integer_equals_fake(const Scheme& s, const std::vector<int>& channels, bool rows) {
  const int64_t M = 24, K = 256, N = 96;
  auto w = random_vec(N * K, 1, 0.05f);
  auto x = random_vec(M * K, 2, 1.0f);
  x[5 * K + 3] = 40.0f;  // an outlier
  auto b = random_vec(N, 3, 0.1f);
  LinearConfig c;
  c.weights = s.weights;
  c.activations = s.activations;
  c.protected_channels = channels;
  c.static_lo = -4.0f;
  c.static_hi = 4.5f;
  std::vector<uint8_t> mask(M, 0);
  mask[0] = mask[7] = 1;
  Linear integer(w.data(), N, K, b.data(), c);
  c.force_fake = true;
  Linear fake(w.data(), N, K, b.data(), c);
  EXPECT_EQ(fake.path(), LinearPath::kFake);
  std::vector<float> yi(M * N), yf(M * N);
  quant::ErrorStats ei, ef;
  integer.forward(x.data(), M, yi.data(), rows ? mask.data() : nullptr, &ei);
  fake.forward(x.data(), M, yf.data(), rows ? mask.data() : nullptr, &ef);
  EXPECT_LE(enginetest::rel_error(yi, yf), 1e-5) << s.name << " path " << to_string(integer.path());
  EXPECT_NEAR(ei.noise, ef.noise, 1e-6 * ef.signal) << s.name;
}

TEST(Linear, IntegerPathEqualsFakeQuantForEveryNamedScheme) {
  int integer_sites = 0;
  for (const std::string& name : named_schemes()) {
    const Scheme s = parse_scheme(name);
    if (!s.weights.enabled() && !s.activations.enabled()) continue;
    LinearConfig c;
    c.weights = s.weights;
    c.activations = s.activations;
    c.static_hi = 1;
    std::vector<float> w(8 * 256, 0.5f);
    if (Linear(w.data(), 8, 256, nullptr, c).path() == LinearPath::kInteger) ++integer_sites;
    expect_integer_equals_fake(s, {}, false);
    expect_integer_equals_fake(s, {3, 100}, false);
    expect_integer_equals_fake(s, {3}, true);
  }
  EXPECT_GE(integer_sites, 8);  // W8A8, W4A4, W4A8, -static, -asym, -kv, -mse run on integers
}

TEST(Linear, ProtectedRowIsBitIdenticalToFullPrecision) {
  const int64_t M = 16, K = 64, N = 48;
  auto w = random_vec(N * K, 4, 0.1f);
  auto x = random_vec(M * K, 5, 1.0f);
  LinearConfig fp_cfg;
  Linear fp(w.data(), N, K, nullptr, fp_cfg);
  std::vector<float> want(M * N);
  fp.forward(x.data(), M, want.data(), nullptr, nullptr);
  for (const char* name : {"W4A4", "W8A8-asym", "W4A16-g128"}) {
    const Scheme s = parse_scheme(name);
    LinearConfig c;
    c.weights = s.weights;
    c.activations = s.activations;
    if (s.weights.granularity == Granularity::kGroup) c.weights.group_size = 32;
    Linear q(w.data(), N, K, nullptr, c);
    std::vector<uint8_t> mask(M, 0);
    mask[0] = mask[9] = 1;
    std::vector<float> y(M * N);
    q.forward(x.data(), M, y.data(), mask.data(), nullptr);
    for (int64_t m = 0; m < M; ++m) {
      bool same = true;
      for (int64_t n = 0; n < N; ++n) same &= y[m * N + n] == want[m * N + n];
      EXPECT_EQ(same, mask[m] == 1) << name << " row " << m;
    }
  }
}

TEST(Linear, ProtectedChannelsRunInFullPrecision) {
  // y = fq(X[:,~C]) fq(W)^T + X[:,C] W[C,:]^T with the activation scale over ~C only; checked in double.
  const int64_t M = 6, K = 64, N = 10;
  auto w = random_vec(N * K, 6, 0.1f);
  auto x = random_vec(M * K, 7, 1.0f);
  for (int64_t m = 0; m < M; ++m) x[m * K + 9] = 100.0f + m;  // an outlier channel
  const Scheme s = parse_scheme("W4A4");
  LinearConfig c;
  c.weights = s.weights;
  c.activations = s.activations;
  c.protected_channels = {9};
  Linear q(w.data(), N, K, nullptr, c);
  std::vector<float> y(M * N);
  q.forward(x.data(), M, y.data(), nullptr, nullptr);

  quant::RowParams p;
  p.bits = 4;
  std::vector<float> wq(N * K), xz(x), xq(M * K);
  quant::fake_quant_rows(w.data(), N, K, K, p, wq.data(), K);
  for (int64_t m = 0; m < M; ++m) xz[m * K + 9] = 0.0f;
  quant::fake_quant_rows(xz.data(), M, K, K, p, xq.data(), K);
  for (int64_t m = 0; m < M; ++m) {
    float amax = 0;
    for (int64_t k = 0; k < K; ++k) amax = std::max(amax, std::fabs(xz[m * K + k]));
    ASSERT_LT(amax, 10.0f);  // the outlier did not set the scale
    for (int64_t n = 0; n < N; ++n) {
      double want = static_cast<double>(x[m * K + 9]) * w[n * K + 9];
      for (int64_t k = 0; k < K; ++k) want += static_cast<double>(xq[m * K + k]) * wq[n * K + k];
      EXPECT_NEAR(y[m * N + n], want, 1e-4 * (1 + std::fabs(want))) << m << "," << n;
    }
  }
}

// A fused site given as parts (the model's q, k, v tensors viewed in place) computes the same bits as the same
// site given as one stacked matrix, on every path, with and without protections and biases.
TEST(Linear, FusedPartsEqualOneStackedMatrixBitForBit) {
  const int64_t M = 40, K = 96;
  const std::vector<int64_t> rows = {64, 16, 16};
  const int64_t N = 96;
  auto w = random_vec(N * K, 11, 0.1f);
  auto x = random_vec(M * K, 12, 1.0f);
  auto b = random_vec(N, 13, 0.1f);
  x[3 * K + 5] = 30.0f;
  std::vector<uint8_t> mask(M, 0);
  mask[0] = mask[17] = 1;
  // "A8" is W8A8 with full-precision weights (the fake path on the fp weights).
  for (const std::string name : {"FP32", "W8A8", "W4A4", "W8A8-asym", "W4A16-g128", "A8"}) {
    for (bool protect : {false, true}) {
      for (bool bias : {false, true}) {
        const Scheme s = parse_scheme(name == "A8" ? "W8A8" : name);
        LinearConfig c;
        c.weights = s.weights;
        c.activations = s.activations;
        if (name == "A8") c.weights = QuantSpec{};
        if (c.weights.granularity == Granularity::kGroup) c.weights.group_size = 32;
        c.segments = rows;
        if (protect) c.protected_channels = {5, 70};
        std::vector<WeightRows> parts;
        int64_t r0 = 0;
        for (int64_t r : rows) {
          parts.push_back({w.data() + r0 * K, r});
          r0 += r;
        }
        Linear stacked(w.data(), N, K, bias ? b.data() : nullptr, c);
        Linear fused(parts, K, bias ? b.data() : nullptr, c);
        ASSERT_EQ(stacked.path(), fused.path());
        std::vector<float> y1(M * N), y2(M * N);
        stacked.forward(x.data(), M, y1.data(), protect ? mask.data() : nullptr, nullptr);
        fused.forward(x.data(), M, y2.data(), protect ? mask.data() : nullptr, nullptr);
        for (int64_t i = 0; i < M * N; ++i)
          ASSERT_EQ(y1[i], y2[i]) << name << " protect=" << protect << " bias=" << bias << " at " << i;
      }
    }
  }
}

// What a site owns besides the viewed model weights: nothing f32 on the fp and integer paths (the protected
// rows and channels read the model's tensors), the int8 codes on the integer path, and the dequantized matrix
// only where the fake path needs it.
TEST(LinearStorage, QuantizedSitesKeepNoF32WeightCopy) {
  const Model m = enginetest::random_model(enginetest::tiny_spec(), 3);
  size_t f32_bytes = 0, linear_params = 0;
  for (const LayerWeights& w : m.layers)
    for (const Tensor* t : {&w.wq, &w.wk, &w.wv, &w.wo, &w.w_gate, &w.w_up, &w.w_down}) linear_params += t->size();
  linear_params += m.lm_head.size();
  f32_bytes = linear_params * sizeof(float);
  Calibration calib;
  {
    Engine fp(m, parse_scheme("FP32"));
    const Engine::WeightBytes held = fp.weight_bytes_held();
    EXPECT_EQ(held.f32_matrices, 0u);
    EXPECT_LT(held.total, f32_bytes / 50) << "the fp engine copies weights";
    std::vector<std::vector<int32_t>> seqs = {enginetest::random_tokens(16, m.spec.vocab_size, 1)};
    calib = calibrate(fp, seqs, 1, 16, OutlierSettings{});
  }
  Protection both;
  both.tokens = both.channels = true;
  for (const char* name : {"W8A8", "W4A4", "W8A8-static"}) {
    Engine q(m, parse_scheme(name), both, calib);
    ASSERT_EQ(q.site_path(Site::kQ), "integer") << name;
    const Engine::WeightBytes held = q.weight_bytes_held();
    EXPECT_EQ(held.f32_matrices, 0u) << name;
    // int8 codes of the quantized sites (the lm_head stays fp; 8-bit codes held split in two halves on CPUs
    // without VNNI, matmul.h) plus per-row scales and sums.
    const size_t per_code = std::string(name) != "W4A4" && int8_pair_sums_saturate() ? 2 : 1;
    EXPECT_GE(held.total, (linear_params - m.lm_head.size()) * per_code) << name;
    EXPECT_LT(held.total, per_code * f32_bytes / 3) << name;
  }
  // Weight-only schemes run on the fake path: their dequantized f32 matrix is what that path multiplies.
  Engine g(m, parse_scheme("W4A16"));
  EXPECT_EQ(g.site_path(Site::kQ), "fake");
  EXPECT_GT(g.weight_bytes_held().f32_matrices, 0u);
}

TEST(Linear, GroupSizeThatDoesNotDivideIsAnInputError) {
  std::vector<float> w(8 * 96, 0.1f);
  LinearConfig c = {};
  c.weights = parse_scheme("W4A16-g128").weights;
  EXPECT_THROW({ Linear bad(w.data(), 8, 96, nullptr, c); }, qh::InputError);
}

}  // namespace
}  // namespace qh::engine
