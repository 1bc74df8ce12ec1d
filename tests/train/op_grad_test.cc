// Finite-difference gradient checks, in double, of every op of the trainer (models/train/ops.h,
// attention.h): each backward is compared with central differences of loss = sum(y * R) for a fixed random R.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "models/train/attention.h"
#include "models/train/ops.h"
#include "src/core/rng.h"

namespace qh::train {
namespace {

std::vector<double> randn(size_t n, uint64_t seed, double scale = 1.0) {
  Rng rng(seed);
  std::vector<double> v(n);
  for (double& x : v) x = scale * rng.normal();
  return v;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Compares analytic[i] with the central difference of loss() w.r.t. x[i] for every i.
void expect_grad(std::vector<double>& x, const std::vector<double>& analytic, const std::function<double()>& loss,
                 const char* what, double tol = 1e-6) {
  ASSERT_EQ(x.size(), analytic.size()) << what;
  const double eps = 1e-6;
  for (size_t i = 0; i < x.size(); ++i) {
    const double saved = x[i];
    x[i] = saved + eps;
    const double lp = loss();
    x[i] = saved - eps;
    const double lm = loss();
    x[i] = saved;
    const double fd = (lp - lm) / (2 * eps);
    EXPECT_NEAR(analytic[i], fd, tol * (1 + std::fabs(fd))) << what << " index " << i;
  }
}

TEST(OpGrad, Linear) {
  const int64_t n = 3, in = 4, out = 5;
  auto x = randn(n * in, 1), w = randn(out * in, 2), b = randn(out, 3), r = randn(n * out, 4);
  std::vector<double> y(n * out);
  auto loss = [&] {
    linear_forward(y.data(), x.data(), w.data(), b.data(), n, in, out);
    return dot(y, r);
  };
  std::vector<double> dx(n * in, 0.0), dw(out * in, 0.0), db(out, 0.0);
  linear_backward(dx.data(), dw.data(), db.data(), r.data(), x.data(), w.data(), n, in, out, false);
  expect_grad(x, dx, loss, "dx");
  expect_grad(w, dw, loss, "dw");
  expect_grad(b, db, loss, "db");
}

void check_norm(bool layer_norm, bool with_bias) {
  const int64_t n = 3, d = 6;
  auto x = randn(n * d, 5, 2.0), w = randn(d, 6), b = randn(d, 7), r = randn(n * d, 8);
  std::vector<double> y(n * d), xhat(n * d), rstd(n);
  auto loss = [&] {
    norm_forward(y.data(), xhat.data(), rstd.data(), x.data(), w.data(), with_bias ? b.data() : nullptr, n, d,
                 layer_norm, 1e-5);
    return dot(y, r);
  };
  loss();
  std::vector<double> dx(n * d, 0.0), dw(d, 0.0), db(d, 0.0);
  norm_backward(dx.data(), dw.data(), with_bias ? db.data() : nullptr, r.data(), xhat.data(), rstd.data(),
                w.data(), n, d, layer_norm);
  expect_grad(x, dx, loss, "dx");
  expect_grad(w, dw, loss, "dw");
  if (with_bias) expect_grad(b, db, loss, "db");
}

TEST(OpGrad, LayerNorm) { check_norm(true, true); }
TEST(OpGrad, LayerNormNoBias) { check_norm(true, false); }
TEST(OpGrad, RMSNorm) { check_norm(false, false); }

TEST(OpGrad, Activations) {
  for (Act a : {Act::kRelu, Act::kGeluTanh, Act::kGeluExact}) {
    auto x = randn(20, 9, 2.0), r = randn(20, 10);
    for (double& v : x)
      if (std::fabs(v) < 1e-3) v = 0.5;  // keep ReLU away from its kink
    std::vector<double> y(20), dx(20);
    auto loss = [&] {
      act_forward(y.data(), x.data(), 20, a);
      return dot(y, r);
    };
    act_backward(dx.data(), r.data(), x.data(), 20, a);
    expect_grad(x, dx, loss, "act");
  }
  // Hand values: GELU(1) tanh approximation and exact.
  EXPECT_NEAR(act_value(Act::kGeluTanh, 1.0), 0.8411919906082768, 1e-12);
  EXPECT_NEAR(act_value(Act::kGeluExact, 1.0), 0.8413447460685429, 1e-12);
}

TEST(OpGrad, SwiGLU) {
  auto g = randn(12, 11, 2.0), u = randn(12, 12), r = randn(12, 13);
  std::vector<double> h(12), dg(12), du(12);
  auto loss = [&] {
    swiglu_forward(h.data(), g.data(), u.data(), 12);
    return dot(h, r);
  };
  swiglu_backward(dg.data(), du.data(), r.data(), g.data(), u.data(), 12);
  expect_grad(g, dg, loss, "dg");
  expect_grad(u, du, loss, "du");
}

TEST(OpGrad, RopeBackwardIsTheTransposedRotation) {
  const int64_t n = 6, T = 3, heads = 2, hd = 4;
  auto x = randn(n * heads * hd, 14), r = randn(n * heads * hd, 15);
  std::vector<double> y(x.size());
  auto loss = [&] {
    y = x;
    rope_apply(y.data(), n, T, heads, hd, 10000.0, false);
    return dot(y, r);
  };
  std::vector<double> dx = r;
  rope_apply(dx.data(), n, T, heads, hd, 10000.0, true);
  expect_grad(x, dx, loss, "rope");
  // Position 0 is the identity; position 1, pair 0 rotates by exactly 1 radian.
  std::vector<double> v = {1, 0, 0, 0, 1, 0, 0, 0};
  rope_apply(v.data(), 2, 2, 1, 4, 10000.0, false);
  EXPECT_DOUBLE_EQ(v[0], 1.0);
  EXPECT_NEAR(v[4], std::cos(1.0), 1e-15);
  EXPECT_NEAR(v[6], std::sin(1.0), 1e-15);
}

TEST(OpGrad, CrossEntropy) {
  const int64_t n = 4, v = 5;
  auto logits = randn(n * v, 16);
  const std::vector<int32_t> targets = {1, -1, 4, 0};
  std::vector<double> row(n), dl(n * v);
  auto loss = [&] { return cross_entropy_forward_backward<double>(logits.data(), targets.data(), n, v, row.data(),
                                                                  nullptr, 1.0); };
  cross_entropy_forward_backward<double>(logits.data(), targets.data(), n, v, row.data(), dl.data(), 1.0);
  EXPECT_EQ(row[1], 0.0);
  expect_grad(logits, dl, loss, "dlogits");
  // Hand value: uniform logits over 5 classes -> loss log 5.
  std::vector<double> flat(v, 0.3), r1(1);
  const int32_t t0 = 2;
  EXPECT_NEAR(cross_entropy_forward_backward<double>(flat.data(), &t0, 1, v, r1.data(), nullptr, 1.0),
              std::log(5.0), 1e-12);
}

void check_attention(AttnKind kind) {
  const int64_t T = 5, hd = 4, ld = 8;  // head slice inside a wider row, as in the model
  AttnVariant<double> var;
  var.kind = kind;
  if (kind == AttnKind::kClipped) {
    var.zeta = 1.3;
    var.gamma = -0.1;
  }
  auto q = randn(T * ld, 17), k = randn(T * ld, 18), v = randn(T * ld, 19), r = randn(T * ld, 20);
  std::vector<double> sink = {0.4};
  std::vector<double> o(T * ld, 0.0), probs(T * T), aux(T * T);
  auto loss = [&] {
    attention_forward(o.data(), probs.data(), aux.data(), q.data(), k.data(), v.data(), T, hd, ld, var, sink[0]);
    double s = 0;
    for (int64_t i = 0; i < T; ++i)
      for (int64_t c = 0; c < hd; ++c) s += o[i * ld + c] * r[i * ld + c];
    return s;
  };
  loss();
  // Causality: no attention to future keys; softmax rows sum to 1, sink rows to less than 1.
  for (int64_t i = 0; i < T; ++i) {
    double sum = 0;
    for (int64_t j = 0; j < T; ++j) {
      if (j > i) {
        EXPECT_EQ(probs[i * T + j], 0.0);
      }
      sum += probs[i * T + j];
    }
    if (kind == AttnKind::kSoftmax) {
      EXPECT_NEAR(sum, 1.0, 1e-12);
    }
    if (kind == AttnKind::kSink) {
      EXPECT_LT(sum, 1.0);
    }
  }
  std::vector<double> dq(T * ld, 0.0), dk(T * ld, 0.0), dv(T * ld, 0.0), dp(T * T);
  const double dsink = attention_backward(dq.data(), dk.data(), dv.data(), dp.data(), r.data(), probs.data(),
                                          aux.data(), q.data(), k.data(), v.data(), T, hd, ld, var);
  expect_grad(q, dq, loss, "dq");
  expect_grad(k, dk, loss, "dk");
  expect_grad(v, dv, loss, "dv");
  if (kind == AttnKind::kSink) {
    std::vector<double> ds = {dsink};
    expect_grad(sink, ds, loss, "dsink");
  } else {
    EXPECT_EQ(dsink, 0.0);
  }
}

TEST(OpGrad, AttentionSoftmax) { check_attention(AttnKind::kSoftmax); }
TEST(OpGrad, AttentionRelu) { check_attention(AttnKind::kRelu); }
TEST(OpGrad, AttentionSink) { check_attention(AttnKind::kSink); }
TEST(OpGrad, AttentionClipped) { check_attention(AttnKind::kClipped); }

TEST(OpGrad, ReluAttentionDividesByOneBasedQueryPosition) {
  // q = k = e_0 scaled so every score is 2 (> 0): row i holds 2 / (i + 1) at each of its i + 1 keys.
  const int64_t T = 3, hd = 4;
  std::vector<double> q(T * hd, 0.0), k(T * hd, 0.0), v(T * hd, 1.0), o(T * hd), probs(T * T);
  for (int64_t i = 0; i < T; ++i) q[i * hd] = k[i * hd] = 2.0;  // q.k / sqrt(4) = 2
  AttnVariant<double> var;
  var.kind = AttnKind::kRelu;
  attention_forward(o.data(), probs.data(), static_cast<double*>(nullptr), q.data(), k.data(), v.data(), T, hd,
                    hd, var, 0.0);
  EXPECT_DOUBLE_EQ(probs[0], 2.0);
  EXPECT_DOUBLE_EQ(probs[1 * T + 1], 1.0);
  EXPECT_NEAR(probs[2 * T + 0], 2.0 / 3.0, 1e-15);
}

}  // namespace
}  // namespace qh::train
