// Causal attention core of one (sequence, head), forward and backward, for every variant of ARCHITECTURE.md 1.3:
//   softmax: P = softmax(S) with S = Q K^T / sqrt(hd), j <= i
//   relu:    P_ij = ReLU(S_ij) / (i + 1)                      (i 0-based here, so i + 1 is the 1-based query)
//   sink:    P_ij = exp(S_ij) / (exp(s_h) + sum_k exp(S_ik))   (s_h: learnable per-head logit)
//   clipped: P = clip((zeta - gamma) softmax(S) + gamma, 0, 1)
// (the gated variant's output gate is applied outside, on the concatenated head outputs).
// Q, K, V, O are [T, hd] slices of row-major buffers with row stride ld. P (and for clipped the unclipped
// softmax in aux) are the explicit caches, [T, T] with zeros above the diagonal.
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <cstdint>

#include "models/arch.h"

namespace qh::train {

template <typename S>
struct AttnVariant {
  AttnKind kind = AttnKind::kSoftmax;
  S zeta = 1, gamma = 0;  // clipped
};

template <typename S>
using StridedMap = Eigen::Map<Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0,
                              Eigen::OuterStride<>>;
template <typename S>
using CStridedMap = Eigen::Map<const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0,
                               Eigen::OuterStride<>>;
template <typename S>
using SquareMap = Eigen::Map<Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

// Softmax of row i over keys 0..i with an optional extra logit (the sink) in the denominator.
template <typename S>
void causal_softmax_row(S* p, int64_t i, bool with_sink, S sink_logit) {
  S mx = p[0];
  for (int64_t j = 1; j <= i; ++j) mx = p[j] > mx ? p[j] : mx;
  if (with_sink && sink_logit > mx) mx = sink_logit;
  S z = with_sink ? std::exp(sink_logit - mx) : S(0);
  for (int64_t j = 0; j <= i; ++j) {
    p[j] = std::exp(p[j] - mx);
    z += p[j];
  }
  for (int64_t j = 0; j <= i; ++j) p[j] /= z;
}

template <typename S>
void attention_forward(S* o, S* probs, S* aux, const S* q, const S* k, const S* v, int64_t T, int64_t hd,
                       int64_t ld, const AttnVariant<S>& var, S sink_logit) {
  const S scale = S(1) / std::sqrt(static_cast<S>(hd));
  CStridedMap<S> Q(q, T, hd, Eigen::OuterStride<>(ld)), K(k, T, hd, Eigen::OuterStride<>(ld)),
      V(v, T, hd, Eigen::OuterStride<>(ld));
  SquareMap<S> P(probs, T, T);
  P.noalias() = (Q * K.transpose()) * scale;
  for (int64_t i = 0; i < T; ++i) {
    S* row = probs + i * T;
    switch (var.kind) {
      case AttnKind::kRelu:
        for (int64_t j = 0; j <= i; ++j) row[j] = row[j] > 0 ? row[j] / static_cast<S>(i + 1) : S(0);
        break;
      case AttnKind::kClipped: {
        causal_softmax_row(row, i, false, S(0));
        for (int64_t j = 0; j <= i; ++j) {
          aux[i * T + j] = row[j];
          const S u = (var.zeta - var.gamma) * row[j] + var.gamma;
          row[j] = u < 0 ? S(0) : (u > 1 ? S(1) : u);
        }
        for (int64_t j = i + 1; j < T; ++j) aux[i * T + j] = 0;
        break;
      }
      case AttnKind::kSink:
        causal_softmax_row(row, i, true, sink_logit);
        break;
      default:
        causal_softmax_row(row, i, false, S(0));
        break;
    }
    for (int64_t j = i + 1; j < T; ++j) row[j] = 0;
  }
  StridedMap<S>(o, T, hd, Eigen::OuterStride<>(ld)).noalias() = P * V;
}

// Overwrites dq, dk, dv (slices with stride ld); dp is a [T, T] scratch; returns d(loss)/d(sink_logit)
// (0 unless the variant is sink).
template <typename S>
S attention_backward(S* dq, S* dk, S* dv, S* dp, const S* dout, const S* probs, const S* aux, const S* q,
                     const S* k, const S* v, int64_t T, int64_t hd, int64_t ld, const AttnVariant<S>& var) {
  const S scale = S(1) / std::sqrt(static_cast<S>(hd));
  const Eigen::OuterStride<> st(ld);
  CStridedMap<S> Q(q, T, hd, st), K(k, T, hd, st), V(v, T, hd, st), DO(dout, T, hd, st);
  Eigen::Map<const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> P(probs, T, T);
  SquareMap<S> DP(dp, T, T);
  StridedMap<S>(dv, T, hd, st).noalias() = P.transpose() * DO;
  DP.noalias() = DO * V.transpose();
  S dsink = 0;
  for (int64_t i = 0; i < T; ++i) {
    S* d = dp + i * T;
    const S* p = probs + i * T;
    switch (var.kind) {
      case AttnKind::kRelu:
        for (int64_t j = 0; j <= i; ++j) d[j] = p[j] > 0 ? d[j] / static_cast<S>(i + 1) : S(0);
        break;
      case AttnKind::kClipped: {
        const S* s = aux + i * T;
        S dot = 0;
        for (int64_t j = 0; j <= i; ++j) {
          const S u = (var.zeta - var.gamma) * s[j] + var.gamma;
          d[j] = (u > 0 && u < 1) ? d[j] * (var.zeta - var.gamma) : S(0);
          dot += d[j] * s[j];
        }
        for (int64_t j = 0; j <= i; ++j) d[j] = s[j] * (d[j] - dot);
        break;
      }
      default: {  // softmax and sink share the Jacobian p_j (delta_jk - p_k)
        S dot = 0;
        for (int64_t j = 0; j <= i; ++j) dot += d[j] * p[j];
        for (int64_t j = 0; j <= i; ++j) d[j] = p[j] * (d[j] - dot);
        if (var.kind == AttnKind::kSink) {
          S psum = 0;
          for (int64_t j = 0; j <= i; ++j) psum += p[j];
          dsink -= (S(1) - psum) * dot;
        }
        break;
      }
    }
    for (int64_t j = i + 1; j < T; ++j) d[j] = 0;
  }
  StridedMap<S>(dq, T, hd, st).noalias() = (DP * K) * scale;
  StridedMap<S>(dk, T, hd, st).noalias() = (DP.transpose() * Q) * scale;
  return dsink;
}

}  // namespace qh::train
