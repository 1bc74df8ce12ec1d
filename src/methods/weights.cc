// Weight edits of the methods; see weights.h.
#include "src/methods/weights.h"

#include "src/core/error.h"

namespace qh::methods {

void rotate_input(Tensor& w, const engine::HadamardTransform& q, bool per_block) {
  if (w.empty()) return;
  const int64_t N = w.dim(0), K = w.dim(1), n = q.n();
  QH_CHECK(per_block ? K % n == 0 : K == n);
  for (int64_t off = 0; off < K; off += n) q.apply(w.ptr() + off, N, K);
}

void rotate_output(Tensor& w, Tensor& b, const engine::HadamardTransform& q, bool per_block) {
  if (w.empty()) return;
  const int64_t N = w.dim(0), K = w.dim(1), n = q.n();
  QH_CHECK(per_block ? N % n == 0 : N == n);
  // Q^T W = (W^T Q)^T: the rows of W^T times Q, per block of n output channels.
  std::vector<float> t(K * N);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t k = 0; k < K; ++k) t[k * N + i] = w.data[i * K + k];
  for (int64_t off = 0; off < N; off += n) q.apply(t.data() + off, K, N);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t k = 0; k < K; ++k) w.data[i * K + k] = t[k * N + i];
  if (!b.empty())
    for (int64_t off = 0; off < N; off += n) q.apply(b.ptr() + off, 1, N);
}

void scale_input(Tensor& w, const std::vector<double>& s) {
  if (w.empty()) return;
  const int64_t N = w.dim(0), K = w.dim(1);
  QH_CHECK(static_cast<int64_t>(s.size()) == K);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t k = 0; k < K; ++k) w.data[i * K + k] = static_cast<float>(w.data[i * K + k] * s[k]);
}

void scale_output(Tensor& w, Tensor& b, const std::vector<double>& s) {
  if (w.empty()) return;
  const int64_t N = w.dim(0), K = w.dim(1);
  QH_CHECK(static_cast<int64_t>(s.size()) == N);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t k = 0; k < K; ++k) w.data[i * K + k] = static_cast<float>(w.data[i * K + k] * s[i]);
  if (!b.empty())
    for (int64_t i = 0; i < N; ++i) b.data[i] = static_cast<float>(b.data[i] * s[i]);
}

void center_output(Tensor& w, Tensor& b) {
  if (w.empty()) return;
  const int64_t N = w.dim(0), K = w.dim(1);
  for (int64_t k = 0; k < K; ++k) {
    double mean = 0;
    for (int64_t i = 0; i < N; ++i) mean += w.data[i * K + k];
    mean /= static_cast<double>(N);
    for (int64_t i = 0; i < N; ++i) w.data[i * K + k] = static_cast<float>(w.data[i * K + k] - mean);
  }
  if (!b.empty()) {
    double mean = 0;
    for (float v : b.data) mean += v;
    mean /= static_cast<double>(N);
    for (float& v : b.data) v = static_cast<float>(v - mean);
  }
}

}  // namespace qh::methods
