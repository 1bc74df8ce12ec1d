#include "models/stats/fused.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "models/stats/row_median.h"
#include "models/stats/small_median.h"
#include "src/core/median.h"


namespace qh::stats {
namespace {

// Below this many values one thread is faster than waking the team.
constexpr int64_t kParallelMinValues = 1 << 15;

int64_t blocks_for(int64_t T, int64_t width) {
  if (omp_in_parallel() || T < 2 || T * width < kParallelMinValues) return 1;
  return std::max<int64_t>(1, std::min<int64_t>(omp_get_max_threads(), T));
}

// body(b) for each of nb blocks, on nb threads. One block runs on the calling thread without entering an
// OpenMP region: libgomp makes a futex system call per region even when it runs on one thread, and a small
// window's statistics entered six such regions.
template <class Body>
void for_blocks(int64_t nb, Body body) {
  if (nb == 1) return body(int64_t{0});
#pragma omp parallel for schedule(static) num_threads(nb)
  for (int64_t b = 0; b < nb; ++b) body(b);
}

// Persistence hits of one row (ARCHITECTURE.md 1.2): channels with |x[c]| >= tau_p * median_j |x[j]|, counted into hits.
// m holds the row's max |x| and its counts against persistence_bound (row_moments.h); buf has room for n + 16
// floats; guess is the median of the previous row that needed one (rows of one site have similar scales), and
// is updated.
void row_persistence(const float* x, int64_t n, const RowMoments& m, double tau_p, float* buf, float* guess,
                     int32_t* hits) {
  if (!(m.max_abs > 0.0f) || !(tau_p > 0.0)) return;  // median 0 or tau_p <= 0: the threshold is not > 0, no hits
  // Exclusion without the median: if more than half the row exceeds rmax / tau_p, then the median (which is
  // at least the lower middle value) times tau_p exceeds rmax and no entry can reach it. The bound is rounded
  // up, so the test only ever errs towards computing the median.
  // Likewise a row that is zero on more than half its entries (ReLU outputs) has median 0: no hits.
  const int64_t k = (n - 1) / 2;  // index of the lower middle value
  if (m.at_most <= k || m.zeros >= n / 2 + 1) return;
  persistence_hits(x, n, m.max_abs, tau_p, guess, buf, hits);
}

using TopEntry = TopAbs;

// Massive-activation order: larger |value| first, then the lower flat index.
bool before(const TopEntry& a, const TopEntry& b) { return a.abs != b.abs ? a.abs > b.abs : a.index < b.index; }

// Keeps the n best of a scan in index order: an entry equal to the n-th best never displaces it (lower index).
void push_top(TopEntry* top, int* size, int n, float a, int64_t index) {
  if (std::isnan(a)) return;
  if (*size == n && !(a > top[n - 1].abs)) return;
  int i = *size < n ? (*size)++ : n - 1;
  while (i > 0 && a > top[i - 1].abs) {
    top[i] = top[i - 1];
    --i;
  }
  top[i] = {a, index};
}

}  // namespace

double row_kurtosis_fast(const float* row, int64_t d) {
  RowMoments m;
  row_moments(row, 1, d, 0.0, nullptr, &m);
  return m.kurtosis;
}

double median_in_place(double* v, int64_t n) {
  if (n <= 0) return 0.0;
  if (n <= kSmallMedianMax) {
    double buf[kSmallMedianMax + 8];
    return median_small(v, n, buf);
  }
  return qh::median_in_place(v, n);
}

void ChannelStats::add(const float* x, int64_t T, int64_t K, double tau_p, FusedScratch* s) {
  if (chan_max.empty()) {
    chan_max.assign(static_cast<size_t>(K), 0.0f);
    hits.assign(static_cast<size_t>(K), 0);
  }
  tokens += T;
  if (T <= 0 || K <= 0) return;
  const int64_t nb = blocks_for(T, K);
  const int64_t buf_width = K + 16;  // median_abs_row's room
  s->abs.resize(static_cast<size_t>(nb * buf_width));
  s->chan_max.assign(static_cast<size_t>(nb * K), 0.0f);
  s->hits.assign(static_cast<size_t>(nb * K), 0);
  s->rows.resize(static_cast<size_t>(T));
  float* abs = s->abs.data();
  float* cm = s->chan_max.data();
  int32_t* hit = s->hits.data();
  RowMoments* rows = s->rows.data();
  for_blocks(nb, [&](int64_t b) {
    const int64_t lo = T * b / nb, hi = T * (b + 1) / nb;
    // Kurtosis, max |x|, column maxima and the persistence counts of the block in one Highway kernel; the
    // persistence test is run only for rows the counts cannot exclude.
    row_moments(x + lo * K, hi - lo, K, tau_p, cm + b * K, rows + lo);
    float guess = median_guess;  // only a starting point: results do not depend on it
    for (int64_t i = lo; i < hi; ++i)
      row_persistence(x + i * K, K, rows[i], tau_p, abs + b * buf_width, &guess, hit + b * K);
    if (b == nb - 1) median_guess = guess;
  });
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t c = 0; c < K; ++c) chan_max[c] = std::max(chan_max[c], cm[b * K + c]);
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t c = 0; c < K; ++c) hits[c] += hit[b * K + c];
  for (int64_t c = 0; c < K; ++c) max_abs = std::max(max_abs, double(chan_max[c]));
  for (int64_t i = 0; i < T; ++i) kurtosis_sum += rows[i].kurtosis;
}

void summarize_residual(const float* h, int64_t T, int64_t d, int n_massive, ResidualWindow* out,
                        FusedScratch* s) {
  out->norms.resize(static_cast<size_t>(std::max<int64_t>(T, 0)));
  out->kurtosis_sum = 0.0;
  out->max_abs = 0.0;
  out->massive.clear();
  if (T <= 0 || d <= 0) return;
  const int n = std::max(0, n_massive);
  const int64_t nb = blocks_for(T, d);
  const int64_t width = std::max(n, 1);
  s->rows.resize(static_cast<size_t>(T));
  RowMoments* rows = s->rows.data();
  s->top.resize(static_cast<size_t>(nb * width));
  s->top_sizes.assign(static_cast<size_t>(nb), 0);
  TopEntry* tops = s->top.data();
  double* norms = out->norms.data();
  for_blocks(nb, [&](int64_t b) {
    TopEntry* top = tops + b * width;
    int size = 0;
    const int64_t lo = T * b / nb, hi = T * (b + 1) / nb;
    row_moments(h + lo * d, hi - lo, d, 0.0, nullptr, rows + lo, true);  // kurtosis, max |x|, norms (Highway)
    for (int64_t i = lo; i < hi; ++i) {
      const float* row = h + i * d;
      norms[i] = std::sqrt(rows[i].sumsq);
      // Rows whose max cannot enter the top are not scanned.
      if (n == 0 || (size == n && !(rows[i].max_abs > top[n - 1].abs))) continue;
      for (int64_t c = 0; c < d; ++c) {
        const float a = std::fabs(row[c]);
        if (size < n || a > top[n - 1].abs) push_top(top, &size, n, a, i * d + c);
      }
    }
    s->top_sizes[b] = size;
  });
  // Compact the blocks' candidates to the front of the scratch and take the n best of them.
  int64_t count = 0;
  for (int64_t i = 0; i < T; ++i) out->max_abs = std::max(out->max_abs, double(rows[i].max_abs));
  for (int64_t b = 0; b < nb; ++b)
    for (int k = 0; k < s->top_sizes[b]; ++k) tops[count++] = tops[b * width + k];
  for (int64_t i = 0; i < T; ++i) out->kurtosis_sum += rows[i].kurtosis;
  std::sort(tops, tops + count, before);
  for (int64_t r = 0; r < count && r < n; ++r) {
    MassiveActivation m;
    m.token = tops[r].index / d;
    m.channel = tops[r].index % d;
    m.value = h[tops[r].index];
    out->massive.push_back(m);
  }
}

double median_abs(const float* x, int64_t n, FusedScratch* s) {
  if (n <= 0) return 0.0;
  s->abs.resize(static_cast<size_t>(n));
  float* a = s->abs.data();
  const int64_t nb = n >= 4 * kParallelMinValues && !omp_in_parallel() ? omp_get_max_threads() : 1;
  for_blocks(nb, [&](int64_t b) {
    for (int64_t i = n * b / nb; i < n * (b + 1) / nb; ++i) a[i] = std::fabs(x[i]);
  });
  const int64_t mid = n / 2;
  std::nth_element(a, a + mid, a + n);
  const double hi = a[mid];
  if (n % 2) return hi;
  return 0.5 * (double(*std::max_element(a, a + mid)) + hi);
}

}  // namespace qh::stats
