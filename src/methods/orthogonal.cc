// Seeded orthogonal matrices; see orthogonal.h.
#include "src/methods/orthogonal.h"

#include <cmath>

#include <Eigen/QR>

#include "src/core/error.h"

namespace qh::methods {

namespace {

// Uniform in (0, 1) from the top 53 bits.
double uniform(std::mt19937_64& rng) { return (static_cast<double>(rng() >> 11) + 0.5) * 0x1.0p-53; }

double gaussian(std::mt19937_64& rng) {
  const double u = uniform(rng), v = uniform(rng);
  return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * M_PI * v);
}

}  // namespace

std::vector<float> random_signs(int64_t n, std::mt19937_64& rng) {
  std::vector<float> s(n);
  for (float& x : s) x = (rng() >> 63) ? -1.0f : 1.0f;
  return s;
}

std::vector<float> random_orthogonal(int64_t n, std::mt19937_64& rng) {
  Eigen::MatrixXd g(n, n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) g(i, j) = gaussian(rng);
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(g);
  Eigen::MatrixXd q = qr.householderQ();
  const Eigen::MatrixXd r = qr.matrixQR().triangularView<Eigen::Upper>();
  for (int64_t j = 0; j < n; ++j)
    if (r(j, j) < 0) q.col(j) *= -1.0;  // Haar measure: Q diag(sign(diag R))
  std::vector<float> out(n * n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) out[i * n + j] = static_cast<float>(q(i, j));
  return out;
}

engine::HadamardTransform make_rotation(int64_t n, RotationKind kind, bool signs, std::mt19937_64& rng,
                                        const std::string& what) {
  QH_CHECK(n >= 1 && kind != RotationKind::kNone);
  constexpr int64_t kMaxBlock = 4096;
  const int64_t m = kind == RotationKind::kRandom ? n : n / engine::pow2_factor(n);
  if (m > kMaxBlock)
    throw InputError(what + " " + std::to_string(n) + ": the rotation needs a dense orthogonal block of order " +
                     std::to_string(m) + " (at most " + std::to_string(kMaxBlock) + " is supported)");
  std::vector<float> block = m > 1 ? random_orthogonal(m, rng) : std::vector<float>{};
  std::vector<float> s = signs && kind == RotationKind::kHadamard ? random_signs(n, rng) : std::vector<float>{};
  return engine::HadamardTransform(n, m, std::move(block), std::move(s));
}

}  // namespace qh::methods
