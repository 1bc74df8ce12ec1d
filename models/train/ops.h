// Forward / backward pairs of the trainer's elementwise and matmul ops (llm.c style: each X_forward writes
// what its X_backward needs into an explicit cache; backward functions ACCUMULATE into parameter gradients
// and OVERWRITE or ACCUMULATE input gradients as documented). Templated on the scalar so the finite-difference
// gradient checks run in double while training runs in float. All matrices are row-major; N = rows (tokens).
// Reductions over rows run serially in row order, so results are deterministic for any thread count; matmuls
// go through Eigen (threaded by OpenMP, deterministic for a given thread count).
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <vector>

namespace qh::train {

template <typename S>
using MatRM = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename S>
using MapM = Eigen::Map<MatRM<S>>;
template <typename S>
using CMapM = Eigen::Map<const MatRM<S>>;

// y[N,out] = x[N,in] W[out,in]^T + b[out] (b may be null).
template <typename S>
void linear_forward(S* y, const S* x, const S* w, const S* b, int64_t n, int64_t in, int64_t out) {
  MapM<S> Y(y, n, out);
  Y.noalias() = CMapM<S>(x, n, in) * CMapM<S>(w, out, in).transpose();
  if (b) Y.rowwise() += Eigen::Map<const Eigen::Matrix<S, 1, Eigen::Dynamic>>(b, out);
}

// dx[N,in] (+)= dy W (accumulate when accumulate_dx, else overwrite; dx may be null);
// dw[out,in] += dy^T x; db[out] += column sums of dy (db may be null).
template <typename S>
void linear_backward(S* dx, S* dw, S* db, const S* dy, const S* x, const S* w, int64_t n, int64_t in,
                     int64_t out, bool accumulate_dx) {
  CMapM<S> DY(dy, n, out);
  if (dx) {
    MapM<S> DX(dx, n, in);
    if (accumulate_dx) {
      DX.noalias() += DY * CMapM<S>(w, out, in);
    } else {
      DX.noalias() = DY * CMapM<S>(w, out, in);
    }
  }
  MapM<S>(dw, out, in).noalias() += DY.transpose() * CMapM<S>(x, n, in);
  if (db) {
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < out; ++c) db[c] += dy[r * out + c];
  }
}

// LayerNorm (layer_norm = true) or RMSNorm over the last dimension, with weight w and optional bias b.
// Cache: xhat[N,d] (normalized input before the affine part) and rstd[N].
template <typename S>
void norm_forward(S* y, S* xhat, S* rstd, const S* x, const S* w, const S* b, int64_t n, int64_t d,
                  bool layer_norm, S eps) {
  for (int64_t r = 0; r < n; ++r) {
    const S* xr = x + r * d;
    S mean = 0;
    if (layer_norm) {
      for (int64_t c = 0; c < d; ++c) mean += xr[c];
      mean /= static_cast<S>(d);
    }
    S var = 0;
    for (int64_t c = 0; c < d; ++c) var += (xr[c] - mean) * (xr[c] - mean);
    var /= static_cast<S>(d);
    const S rs = S(1) / std::sqrt(var + eps);
    rstd[r] = rs;
    for (int64_t c = 0; c < d; ++c) {
      const S xh = (xr[c] - mean) * rs;
      xhat[r * d + c] = xh;
      y[r * d + c] = xh * w[c] + (b ? b[c] : S(0));
    }
  }
}

// dx[N,d] += ..., dw[d] += ..., db[d] += ... (db may be null).
template <typename S>
void norm_backward(S* dx, S* dw, S* db, const S* dy, const S* xhat, const S* rstd, const S* w, int64_t n,
                   int64_t d, bool layer_norm) {
  for (int64_t r = 0; r < n; ++r) {
    const S* dyr = dy + r * d;
    const S* xh = xhat + r * d;
    S mean_g = 0, mean_gx = 0;  // means of g = dy*w and of g*xhat
    for (int64_t c = 0; c < d; ++c) {
      const S g = dyr[c] * w[c];
      mean_g += g;
      mean_gx += g * xh[c];
      dw[c] += dyr[c] * xh[c];
      if (db) db[c] += dyr[c];
    }
    mean_g /= static_cast<S>(d);
    mean_gx /= static_cast<S>(d);
    if (!layer_norm) mean_g = 0;
    for (int64_t c = 0; c < d; ++c) {
      const S g = dyr[c] * w[c];
      dx[r * d + c] += rstd[r] * (g - mean_g - xh[c] * mean_gx);
    }
  }
}

enum class Act { kRelu, kGeluTanh, kGeluExact };

template <typename S>
S act_value(Act a, S x) {
  switch (a) {
    case Act::kRelu: return x > 0 ? x : S(0);
    case Act::kGeluTanh: {
      const S k = std::sqrt(S(2) / S(M_PI));
      return S(0.5) * x * (S(1) + std::tanh(k * (x + S(0.044715) * x * x * x)));
    }
    case Act::kGeluExact: return S(0.5) * x * (S(1) + std::erf(x / std::sqrt(S(2))));
  }
  return x;
}

template <typename S>
S act_derivative(Act a, S x) {
  switch (a) {
    case Act::kRelu: return x > 0 ? S(1) : S(0);
    case Act::kGeluTanh: {
      const S k = std::sqrt(S(2) / S(M_PI));
      const S u = k * (x + S(0.044715) * x * x * x);
      const S t = std::tanh(u);
      const S du = k * (S(1) + S(3) * S(0.044715) * x * x);
      return S(0.5) * (S(1) + t) + S(0.5) * x * (S(1) - t * t) * du;
    }
    case Act::kGeluExact: {
      const S pdf = std::exp(-S(0.5) * x * x) / std::sqrt(S(2) * S(M_PI));
      return S(0.5) * (S(1) + std::erf(x / std::sqrt(S(2)))) + x * pdf;
    }
  }
  return 1;
}

template <typename S>
void act_forward(S* y, const S* x, int64_t n, Act a) {
  for (int64_t i = 0; i < n; ++i) y[i] = act_value(a, x[i]);
}
// dx = dy * act'(x) (overwrites).
template <typename S>
void act_backward(S* dx, const S* dy, const S* x, int64_t n, Act a) {
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * act_derivative(a, x[i]);
}

template <typename S>
S sigmoid(S x) {
  return S(1) / (S(1) + std::exp(-x));
}

// SwiGLU: h = silu(g) * u.
template <typename S>
void swiglu_forward(S* h, const S* g, const S* u, int64_t n) {
  for (int64_t i = 0; i < n; ++i) h[i] = g[i] * sigmoid(g[i]) * u[i];
}
// dg, du overwritten.
template <typename S>
void swiglu_backward(S* dg, S* du, const S* dh, const S* g, const S* u, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const S s = sigmoid(g[i]);
    const S silu = g[i] * s;
    du[i] = dh[i] * silu;
    dg[i] = dh[i] * u[i] * (s + g[i] * s * (S(1) - s));
  }
}

// RoPE, rotate-half convention (Llama / HF): for each head and i < hd/2, the pair (x[i], x[i + hd/2]) at
// position p is rotated by angle p * theta^(-2i/hd). Applied in place on x[N, heads*hd]; row r has position
// r % seq_len. inverse = true applies the transposed rotation (the backward pass).
template <typename S>
void rope_apply(S* x, int64_t n, int64_t seq_len, int64_t heads, int64_t hd, double theta, bool inverse) {
  const int64_t half = hd / 2;
  for (int64_t r = 0; r < n; ++r) {
    const double pos = static_cast<double>(r % seq_len);
    for (int64_t i = 0; i < half; ++i) {
      const double ang = pos * std::pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(hd));
      const S c = static_cast<S>(std::cos(ang));
      const S s = static_cast<S>(inverse ? -std::sin(ang) : std::sin(ang));
      for (int64_t h = 0; h < heads; ++h) {
        S* v = x + r * heads * hd + h * hd;
        const S a = v[i], b = v[i + half];
        v[i] = a * c - b * s;
        v[i + half] = b * c + a * s;
      }
    }
  }
}

// Softmax cross-entropy over rows of logits[N,V]; targets < 0 are ignored. Writes per-row losses (0 for
// ignored rows) and, when dlogits is non-null, dlogits = (softmax - onehot) * scale for counted rows (0 for
// ignored rows). Returns the summed loss of the counted rows (double accumulation).
template <typename S>
double cross_entropy_forward_backward(const S* logits, const int32_t* targets, int64_t n, int64_t v,
                                      S* row_loss, S* dlogits, S scale) {
  double total = 0;
  for (int64_t r = 0; r < n; ++r) {
    const S* l = logits + r * v;
    S* dl = dlogits ? dlogits + r * v : nullptr;
    if (targets[r] < 0) {
      row_loss[r] = 0;
      if (dl)
        for (int64_t c = 0; c < v; ++c) dl[c] = 0;
      continue;
    }
    S mx = l[0];
    for (int64_t c = 1; c < v; ++c) mx = l[c] > mx ? l[c] : mx;
    double z = 0;
    for (int64_t c = 0; c < v; ++c) z += std::exp(static_cast<double>(l[c] - mx));
    const double lse = static_cast<double>(mx) + std::log(z);
    const double loss = lse - static_cast<double>(l[targets[r]]);
    row_loss[r] = static_cast<S>(loss);
    total += loss;
    if (dl) {
      for (int64_t c = 0; c < v; ++c)
        dl[c] = static_cast<S>(std::exp(static_cast<double>(l[c]) - lse)) * scale;
      dl[targets[r]] -= scale;
    }
  }
  return total;
}

}  // namespace qh::train
