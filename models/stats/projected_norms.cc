// Highway kernel of projected_norms.h, compiled once per target through foreach_target.h.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "models/stats/projected_norms.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "hwy/highway.h"
#include "models/stats/projected_norms.h"

#ifndef QH_STATS_PROJECTED_NORMS_SHARED
#define QH_STATS_PROJECTED_NORMS_SHARED
namespace qh::stats::detail {
constexpr int64_t kColumnBlock = 16;  // columns of R^T (rows of R) per block: one AVX-512 vector
constexpr int64_t kTileTokens = 4;    // tokens sharing each load of R^T
// Below this many multiply-adds one thread is faster than waking the team.
constexpr int64_t kParallelMinWork = int64_t{1} << 21;
}  // namespace qh::stats::detail
#endif

HWY_BEFORE_NAMESPACE();
namespace qh {
namespace stats {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::CappedTag<float, detail::kColumnBlock>;
using DD = hn::CappedTag<double, detail::kColumnBlock / 2>;
using DH = hn::Rebind<float, DD>;  // as many floats as DD has doubles

// norms of kTokens consecutive rows of v. Column vector [c, c + N) of R^T only meets rows j >= c of v (R is
// upper triangular), so its loop starts there. Each token's sums run in the same order whatever the tile.
template <int kTokens>
void TileNorms(const float* rt, int64_t rank, int64_t padded, int64_t n, const float* v, double* norms) {
  const DF d;
  const DD dd;
  const DH dh;
  const int64_t N = static_cast<int64_t>(hn::Lanes(d)), ND = static_cast<int64_t>(hn::Lanes(dd));
  hn::Vec<DD> sq[kTokens];
  for (int t = 0; t < kTokens; ++t) sq[t] = hn::Zero(dd);
  HWY_ALIGN float y[detail::kColumnBlock];
  for (int64_t c = 0; c < rank; c += N) {
    hn::Vec<DF> acc[kTokens];
    for (int t = 0; t < kTokens; ++t) acc[t] = hn::Zero(d);
    for (int64_t j = c; j < n; ++j) {
      const auto r = hn::LoadU(d, rt + j * padded + c);
      for (int t = 0; t < kTokens; ++t) acc[t] = hn::MulAdd(hn::Set(d, v[t * n + j]), r, acc[t]);
    }
    // Squares in double: the float products widened half a vector at a time.
    for (int t = 0; t < kTokens; ++t) {
      hn::Store(acc[t], d, y);
      for (int64_t h = 0; h < N; h += ND) {
        const auto w = hn::PromoteTo(dd, hn::Load(dh, y + h));
        sq[t] = hn::MulAdd(w, w, sq[t]);
      }
    }
  }
  for (int t = 0; t < kTokens; ++t) norms[t] = std::sqrt(hn::GetLane(hn::SumOfLanes(dd, sq[t])));
}

void RunProjectedNorms(const float* rt, int64_t rank, int64_t padded, int64_t n, const float* v, int64_t T,
                       double* norms) {
  constexpr int64_t kTile = detail::kTileTokens;
  const int64_t tiles = T / kTile;
  // Small inputs stay on the calling thread without entering an OpenMP region (a futex call in libgomp).
  if (T * rank * n >= detail::kParallelMinWork && !omp_in_parallel() && omp_get_max_threads() > 1) {
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < tiles; ++b) TileNorms<kTile>(rt, rank, padded, n, v + b * kTile * n, norms + b * kTile);
  } else {
    for (int64_t b = 0; b < tiles; ++b) TileNorms<kTile>(rt, rank, padded, n, v + b * kTile * n, norms + b * kTile);
  }
  for (int64_t i = tiles * kTile; i < T; ++i) TileNorms<1>(rt, rank, padded, n, v + i * n, norms + i);
}

}  // namespace HWY_NAMESPACE
}  // namespace stats
}  // namespace qh
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace qh::stats {

HWY_EXPORT(RunProjectedNorms);

ProjectedNorms::ProjectedNorms(const float* r, int64_t rank, int64_t n)
    : rank_(rank), n_(n), padded_((rank + detail::kColumnBlock - 1) / detail::kColumnBlock * detail::kColumnBlock),
      rt_(static_cast<size_t>(n * padded_), 0.0f) {
  for (int64_t k = 0; k < rank; ++k)
    for (int64_t j = k; j < n; ++j) rt_[j * padded_ + k] = r[k * n + j];
}

void ProjectedNorms::run(const float* v, int64_t T, double* norms) const {
  if (T <= 0) return;
  if (rank_ <= 0 || n_ <= 0) {
    std::fill(norms, norms + T, 0.0);
    return;
  }
  HWY_DYNAMIC_DISPATCH(RunProjectedNorms)(rt_.data(), rank_, padded_, n_, v, T, norms);
}

void projected_norms_reference(const float* r, int64_t rank, int64_t n, const float* v, int64_t T, double* norms) {
  for (int64_t i = 0; i < T; ++i) {
    double s = 0.0;
    for (int64_t k = 0; k < rank; ++k) {
      double y = 0.0;
      for (int64_t j = k; j < n; ++j) y += double(r[k * n + j]) * v[i * n + j];
      s += y * y;
    }
    norms[i] = std::sqrt(s);
  }
}

}  // namespace qh::stats
#endif  // HWY_ONCE
