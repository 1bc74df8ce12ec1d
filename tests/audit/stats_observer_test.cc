// The audit's fast statistics (StatsObserver on the fused kernels of models/stats/fused.h, value norms through
// a triangular factor and a GEMM) against a naive recomputation written here with plain loops, sorts for every
// median and double accumulation, on random activations with adversarial rows (a channel large on every token,
// all-zero rows, ties, ReLU-like rows that are mostly zero), several windows of different lengths (T = 1 too),
// even and odd widths, with one and with two OpenMP threads.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "models/stats/activations.h"
#include "models/stats/fused.h"
#include "models/stats/row_median.h"
#include "models/stats/sinks.h"
#include "src/audit/stats_observer.h"

namespace qh::audit {
namespace {

constexpr int kL = 2, kH = 4, kKv = 2, kHd = 8, kD = 24, kFf = 37;  // d != H*hd, odd ff

double naive_median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double naive_row_kurtosis(const float* x, int64_t d) {
  double mu = 0;
  for (int64_t c = 0; c < d; ++c) mu += x[c];
  mu /= d;
  double m2 = 0, m4 = 0;
  for (int64_t c = 0; c < d; ++c) {
    m2 += (x[c] - mu) * (x[c] - mu);
    m4 += std::pow(x[c] - mu, 4);
  }
  m2 /= d;
  m4 /= d;
  return m2 > 0 ? m4 / (m2 * m2) : 0.0;
}

double naive_norm(const float* x, int64_t d) {
  double s = 0;
  for (int64_t c = 0; c < d; ++c) s += double(x[c]) * x[c];
  return std::sqrt(s);
}

// Random rows of width K with the adversarial cases mixed in; `kind` picks the row type.
std::vector<float> activations(int64_t T, int64_t K, std::mt19937& rng, bool relu_like) {
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(T * K));
  for (int64_t i = 0; i < T; ++i) {
    const int kind = static_cast<int>(rng() % 6);
    for (int64_t c = 0; c < K; ++c) {
      float v = g(rng);
      if (relu_like) v = v > 0.8f ? v : 0.0f;               // mostly zero: median 0, no hits
      if (kind == 1) v = 0.0f;                              // an all-zero row
      if (kind == 2) v = static_cast<float>((c % 3) - 1);   // ties at the median
      if (c == 5) v = 40.0f + static_cast<float>(i % 3);    // a channel large on every token
      if (kind == 3 && c == K - 1) v = -300.0f;             // one huge entry
      x[i * K + c] = v;
    }
  }
  return x;
}

// A causal attention matrix: random rows, some with >= 0.89 on key 0, some peaked on key 3.
std::vector<float> attention(int64_t T, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> p(static_cast<size_t>(T * T), 0.0f);
  for (int64_t i = 0; i < T; ++i) {
    float sum = 0;
    for (int64_t j = 0; j <= i; ++j) sum += p[i * T + j] = u(rng);
    for (int64_t j = 0; j <= i; ++j) p[i * T + j] /= sum;
    const int kind = static_cast<int>(rng() % 3);
    if (kind == 0) {
      for (int64_t j = 0; j <= i; ++j) p[i * T + j] = j == 0 ? 0.9f : 0.1f / std::max<int64_t>(i, 1);
      if (i == 0) p[0] = 1.0f;
    } else if (kind == 1 && i >= 3) {
      for (int64_t j = 0; j <= i; ++j) p[i * T + j] = j == 3 ? 0.8f : 0.2f / i;
    }
  }
  return p;
}

Model observer_model(std::mt19937& rng) {
  Model m;
  ArchSpec& a = m.spec;
  a.num_layers = kL;
  a.d_model = kD;
  a.num_heads = kH;
  a.num_kv_heads = kKv;
  a.head_dim = kHd;
  a.d_ff = kFf;
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (int l = 0; l < kL; ++l) {
    LayerWeights w;
    w.wo = Tensor({kD, kH * kHd});
    for (float& v : w.wo.data) v = g(rng);
    if (l == 1)  // a rank-deficient slice: head 0 reads only its first half
      for (int r = 0; r < kD; ++r)
        for (int c = kHd / 2; c < kHd; ++c) w.wo.data[r * kH * kHd + c] = 0.0f;
    m.layers.push_back(std::move(w));
  }
  return m;
}

void expect_rel(double got, double want, double rel, const char* what, int a, int b = 0) {
  EXPECT_LE(std::fabs(got - want), rel * std::fabs(want))
      << what << " [" << a << "][" << b << "]: fast " << got << ", naive " << want;
}

void run_and_compare(int threads) {
  omp_set_num_threads(threads);
  std::mt19937 rng(99);
  const Model model = observer_model(rng);
  AuditOptions options;
  options.tau_persistence = 5.0;
  options.report_tau_channels = 3.0;
  StatsObserver obs(model, options);

  const std::vector<int64_t> lengths = {17, 1400, 1, 2, 64};  // 1400 rows cross the parallel threshold
  // Naive accumulators.
  std::vector<double> peak(kL + 1, 0), kurt(kL + 1, 0), maxabs(kL + 1, 0);
  std::vector<int64_t> windows(kL + 1, 0), tokens(kL + 1, 0);
  struct Cand {
    double abs;
    int64_t seq, pos, ch;
    float value;
    double ratio;
  };
  std::vector<std::vector<Cand>> massive(kL + 1);
  std::vector<double> sink(kL * kH, 0), drain(kL * kH, 0);
  std::vector<int64_t> queries(kL * kH, 0), drain_windows(kL * kH, 0), dormant(kL * kH * 2, 0), total(kL * kH * 2, 0);
  std::vector<std::vector<double>> column(kL * kH, std::vector<double>(1400, 0.0));
  const int kSites[4] = {static_cast<int>(Site::kQ), static_cast<int>(Site::kO), static_cast<int>(Site::kUp),
                         static_cast<int>(Site::kDown)};
  auto site_width = [](int s) { return s == static_cast<int>(Site::kDown) ? kFf : s == static_cast<int>(Site::kO) ? kH * kHd : kD; };
  std::vector<std::vector<float>> chan_max(kL * 4);
  std::vector<std::vector<int64_t>> hits(kL * 4);
  std::vector<double> site_kurt(kL * 4, 0), site_max(kL * 4, 0);
  std::vector<int64_t> site_tokens(kL * 4, 0);

  for (size_t w = 0; w < lengths.size(); ++w) {
    const int64_t T = lengths[w];
    std::vector<uint8_t> domain(T);
    for (auto& x : domain) x = rng() % 2;
    obs.begin_window(static_cast<int64_t>(w), 100 * static_cast<int64_t>(w), domain.data());
    for (int l = -1; l < kL; ++l) {
      const std::vector<float> h = activations(T, kD, rng, false);
      obs.on_residual(l, h.data(), T, kD);
      const int li = l + 1;
      if (T >= 2) {
        std::vector<double> rest;
        for (int64_t i = 1; i < T; ++i) rest.push_back(naive_norm(h.data() + i * kD, kD));
        const double med = naive_median(rest);
        peak[li] += med > 0 ? naive_norm(h.data(), kD) / med : 0.0;
        ++windows[li];
      }
      std::vector<double> all_abs;
      for (int64_t i = 0; i < T; ++i) {
        kurt[li] += naive_row_kurtosis(h.data() + i * kD, kD);
        for (int c = 0; c < kD; ++c) {
          maxabs[li] = std::max(maxabs[li], double(std::fabs(h[i * kD + c])));
          all_abs.push_back(std::fabs(h[i * kD + c]));
        }
      }
      const double med_abs = naive_median(all_abs);
      for (int64_t i = 0; i < T; ++i)
        for (int c = 0; c < kD; ++c) {
          const float v = h[i * kD + c];
          massive[li].push_back({std::fabs(v), static_cast<int64_t>(w), 100 * static_cast<int64_t>(w) + i, c, v,
                                 med_abs > 0 ? std::fabs(v) / med_abs : 0.0});
        }
      tokens[li] += T;
      if (l < 0) continue;
      for (int s = 0; s < 4; ++s) {
        const int K = site_width(kSites[s]);
        const std::vector<float> x = activations(T, K, rng, kSites[s] == static_cast<int>(Site::kDown));
        obs.on_site_input(l, static_cast<Site>(kSites[s]), x.data(), T, K);
        const int k = l * 4 + s;
        if (chan_max[k].empty()) chan_max[k].assign(K, 0.0f), hits[k].assign(K, 0);
        for (int64_t i = 0; i < T; ++i) {
          std::vector<double> row;
          for (int c = 0; c < K; ++c) row.push_back(std::fabs(x[i * K + c]));
          const double thr = options.tau_persistence * naive_median(row);
          for (int c = 0; c < K; ++c) {
            chan_max[k][c] = std::max(chan_max[k][c], std::fabs(x[i * K + c]));
            site_max[k] = std::max(site_max[k], double(std::fabs(x[i * K + c])));
            if (thr > 0 && std::fabs(x[i * K + c]) >= thr) ++hits[k][c];
          }
          site_kurt[k] += naive_row_kurtosis(x.data() + i * K, K);
        }
        site_tokens[k] += T;
      }
      const Tensor& wo = model.layers[l].wo;
      std::vector<std::vector<float>> values(kKv);
      for (auto& v : values) v = activations(T, kHd, rng, false);
      for (int hh = 0; hh < kH; ++hh) {
        const std::vector<float> p = attention(T, rng);
        obs.on_attention(l, hh, p.data(), T);
        const std::vector<float>& v = values[hh / (kH / kKv)];
        obs.on_values(l, hh, v.data(), T, kHd);
        const int k = l * kH + hh;
        for (int64_t i = 1; i < T; ++i) {
          sink[k] += p[i * T];
          for (int64_t j = 0; j <= i; ++j) column[k][j] += p[i * T + j];
          ++total[k * 2 + domain[i]];
          dormant[k * 2 + domain[i]] += p[i * T] >= 0.89f;
        }
        if (T >= 2) {
          queries[k] += T - 1;
          std::vector<double> norms;
          for (int64_t i = 0; i < T; ++i) {
            double s2 = 0;
            for (int r = 0; r < kD; ++r) {
              double y = 0;
              for (int c = 0; c < kHd; ++c) y += double(wo.data[r * kH * kHd + hh * kHd + c]) * v[i * kHd + c];
              s2 += y * y;
            }
            norms.push_back(std::sqrt(s2));
          }
          const double med = naive_median(std::vector<double>(norms.begin() + 1, norms.end()));
          drain[k] += med > 0 ? norms[0] / med : 0.0;
          ++drain_windows[k];
        }
      }
    }
  }
  AuditResult r;
  obs.finish(&r);

  ASSERT_EQ(r.layers.size(), static_cast<size_t>(kL + 1));
  for (int li = 0; li <= kL; ++li) {
    const LayerStats& s = r.layers[li];
    expect_rel(s.residual_peak, peak[li] / windows[li], 1e-12, "residual_peak", li);
    expect_rel(s.kurtosis, kurt[li] / tokens[li], 1e-5, "kurtosis", li);  // float lanes
    EXPECT_EQ(s.max_abs, maxabs[li]) << li;
    // Top-3 |x| over all windows; ties: earlier window, then lower position, then lower channel.
    std::stable_sort(massive[li].begin(), massive[li].end(), [](const Cand& a, const Cand& b) { return a.abs > b.abs; });
    ASSERT_EQ(s.massive.size(), 3u);
    for (int k = 0; k < 3; ++k) {
      EXPECT_EQ(s.massive[k].sequence, massive[li][k].seq) << li << " " << k;
      EXPECT_EQ(s.massive[k].position, massive[li][k].pos) << li << " " << k;
      EXPECT_EQ(s.massive[k].channel, massive[li][k].ch) << li << " " << k;
      EXPECT_EQ(s.massive[k].value, massive[li][k].value) << li << " " << k;
      expect_rel(s.massive[k].ratio, massive[li][k].ratio, 1e-12, "massive ratio", li, k);
    }
  }
  ASSERT_EQ(r.heads.size(), static_cast<size_t>(kL * kH));
  for (int k = 0; k < kL * kH; ++k) {
    const HeadStats& s = r.heads[k];
    expect_rel(s.sink_mass, sink[k] / queries[k], 1e-12, "sink_mass", k);
    const auto top = std::max_element(column[k].begin(), column[k].end());
    EXPECT_EQ(s.sink_key, top - column[k].begin()) << k;
    expect_rel(s.sink_key_mass, *top / queries[k], 1e-12, "sink_key_mass", k);
    for (int dom = 0; dom < 2; ++dom) {
      EXPECT_EQ(s.domain_queries[dom], total[k * 2 + dom]) << k;
      expect_rel(s.dormant_frac_domain[dom], double(dormant[k * 2 + dom]) / total[k * 2 + dom], 1e-15, "dormant", k, dom);
    }
    expect_rel(s.value_drain, drain[k] / drain_windows[k], 1e-5, "value_drain", k);  // f32 GEMM
  }
  ASSERT_EQ(r.sites.size(), static_cast<size_t>(kL * 4));
  for (int k = 0; k < kL * 4; ++k) {
    const SiteStats& s = r.sites[k];
    EXPECT_EQ(static_cast<int>(s.site), kSites[k % 4]);
    expect_rel(s.kurtosis, site_kurt[k] / site_tokens[k], 1e-5, "site kurtosis", k);
    EXPECT_EQ(s.max_abs, site_max[k]) << k;
    EXPECT_EQ(s.outlier_channels, stats::outlier_channels(chan_max[k], options.report_tau_channels)) << k;
    // Channel 5 (40 on every token) and the last one (-300 on some rows) are outliers, the largest first.
    EXPECT_EQ(s.outlier_channels, (std::vector<int>{site_width(kSites[k % 4]) - 1, 5})) << k;
    for (size_t i = 0; i < s.outlier_channels.size(); ++i) {
      const int c = s.outlier_channels[i];
      EXPECT_EQ(s.outlier_chan_max[i], chan_max[k][c]) << k << " " << c;
      EXPECT_DOUBLE_EQ(s.outlier_persistence[i], double(hits[k][c]) / site_tokens[k]) << k << " " << c;
    }
  }
  // The adversarial rows did their job: channel 5 is persistent where rows have a median, and the mostly-zero
  // ReLU-like rows of the down site (median 0) never count.
  EXPECT_GT(r.sites[0].outlier_persistence[1], 0.5);
  EXPECT_LT(r.sites[0].outlier_persistence[0], 0.25);
  EXPECT_LT(r.sites[3].outlier_persistence[1], r.sites[0].outlier_persistence[1]);
}

TEST(StatsObserverFast, MatchesNaiveRecomputationOneThread) { run_and_compare(1); }
TEST(StatsObserverFast, MatchesNaiveRecomputationTwoThreads) { run_and_compare(2); }

TEST(StatsObserverFast, HeadFactorPreservesNormsEvenWhenRankDeficient) {
  std::mt19937 rng(4);
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (const auto& [d_model, heads, hd] : {std::tuple<int, int, int>{24, 3, 8}, {6, 2, 16}, {16, 1, 16}}) {
    std::vector<float> wo(d_model * heads * hd);
    for (float& x : wo) x = g(rng);
    for (int r = 0; r < d_model; ++r) wo[r * heads * hd + 2] = 0.0f;            // a zero column
    for (int r = 0; r < d_model; ++r) wo[r * heads * hd + 3] = wo[r * heads * hd + 1];  // a repeated column
    for (int h = 0; h < heads; ++h) {
      int64_t rank = 0;
      const std::vector<float> R = head_factor(wo.data(), d_model, heads * hd, h, hd, &rank);
      ASSERT_EQ(rank, std::min(d_model, hd));
      for (int64_t i = 0; i < rank; ++i)
        for (int64_t j = 0; j < std::min<int64_t>(i, hd); ++j) EXPECT_EQ(R[i * hd + j], 0.0f);  // upper triangular
      for (int trial = 0; trial < 5; ++trial) {
        std::vector<float> v(hd);
        for (float& x : v) x = g(rng);
        double want = 0, got = 0;
        for (int r = 0; r < d_model; ++r) {
          double y = 0;
          for (int c = 0; c < hd; ++c) y += double(wo[r * heads * hd + h * hd + c]) * v[c];
          want += y * y;
        }
        for (int64_t i = 0; i < rank; ++i) {
          double y = 0;
          for (int c = 0; c < hd; ++c) y += double(R[i * hd + c]) * v[c];
          got += y * y;
        }
        EXPECT_NEAR(std::sqrt(got), std::sqrt(want), 1e-5 * std::sqrt(want)) << d_model << " " << h;
      }
    }
  }
}

TEST(StatsObserverFast, FusedKernelsEqualThePureFunctions) {
  omp_set_num_threads(2);
  std::mt19937 rng(8);
  for (int64_t K : {1, 2, 5, 6, 33, 64}) {
    for (int64_t T : {1, 3, 2000}) {
      const std::vector<float> x = activations(T, K, rng, K == 33);
      stats::FusedScratch scratch;
      stats::ChannelStats cs;
      cs.add(x.data(), T, K, 3.0, &scratch);
      EXPECT_EQ(cs.chan_max, stats::channel_max(x.data(), T, K));
      const std::vector<double> pers = stats::persistence(x.data(), T, K, 3.0);
      for (int64_t c = 0; c < K; ++c) EXPECT_DOUBLE_EQ(double(cs.hits[c]) / T, pers[c]) << K << " " << T << " " << c;
      expect_rel(cs.kurtosis_sum / T, stats::kurtosis(x.data(), T, K), 1e-5, "kurtosis", static_cast<int>(K));
      EXPECT_EQ(cs.max_abs, stats::max_abs(x.data(), T, K));
      stats::ResidualWindow rw;
      stats::summarize_residual(x.data(), T, K, 3, &rw, &scratch);
      const std::vector<double> norms = stats::row_norms(x.data(), T, K);
      for (int64_t i = 0; i < T; ++i) expect_rel(rw.norms[i], norms[i], 1e-14, "norm", static_cast<int>(i));
      const auto want = stats::massive_activations(x.data(), T, K, 3);
      ASSERT_EQ(rw.massive.size(), want.size());
      for (size_t k = 0; k < want.size(); ++k) {
        EXPECT_EQ(rw.massive[k].token, want[k].token);
        EXPECT_EQ(rw.massive[k].channel, want[k].channel);
        EXPECT_EQ(rw.massive[k].value, want[k].value);
        const double med = stats::median_abs(x.data(), T * K, &scratch);
        EXPECT_DOUBLE_EQ(med > 0 ? std::fabs(rw.massive[k].value) / med : 0.0, want[k].ratio);
      }
    }
  }
  // Per row, the float-lane kurtosis is within 1e-5 of the double reference, exact on small integers.
  for (int64_t d : {1, 4, 7, 64, 4096}) {
    const std::vector<float> x = activations(3, d, rng, false);
    for (int i = 0; i < 3; ++i)
      expect_rel(stats::row_kurtosis_fast(x.data() + i * d, d), stats::row_kurtosis(x.data() + i * d, d), 1e-5,
                 "row kurtosis", static_cast<int>(d), i);
  }
  const float ints[8] = {1, -1, 1, -1, 0, 0, 0, 4};
  EXPECT_DOUBLE_EQ(stats::row_kurtosis_fast(ints, 4), 1.0);
  EXPECT_DOUBLE_EQ(stats::row_kurtosis_fast(ints + 4, 4), 21.0 / 9.0);
  double v[5] = {3, 1, 4, 1, 5};
  EXPECT_DOUBLE_EQ(stats::median_in_place(v, 5), 3.0);
  double w[4] = {4, 1, 3, 2};
  EXPECT_DOUBLE_EQ(stats::median_in_place(w, 4), 2.5);
  EXPECT_DOUBLE_EQ(stats::median_in_place(w, 0), 0.0);
}

// The persistence test's shortcuts (fused.cc: exclusion by rmax / tau_p, inclusion of the max alone by rmax and
// the second largest) must give the median's answer exactly: rows whose largest and second largest |x| sit at
// tau_p x median, one float step either side of it, or far away, in every combination.
TEST(StatsObserverFast, PersistenceShortcutsDecideExactlyAtTheThreshold) {
  std::mt19937 rng(12);
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (double tau : {5.0, 3.0}) {
    for (int64_t K : {5, 8, 9, 16, 31, 32, 33, 64}) {
      std::vector<float> x;
      int64_t T = 0;
      for (int rep = 0; rep < 4; ++rep)
        for (int first = 0; first < 5; ++first)
          for (int second = 0; second < 5; ++second) {
            std::vector<float> row(K);
            for (float& v : row) v = 0.1f + std::fabs(g(rng));  // |x| in [0.1, ~4]: below tau x median rarely
            std::vector<int64_t> order(K);
            for (int64_t c = 0; c < K; ++c) order[c] = c;
            std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return row[a] < row[b]; });
            // The two largest entries stay in the upper half whatever they become: the median is unchanged.
            const double med = stats::median_abs_row_reference(row.data(), K);
            const float at = static_cast<float>(tau * med);
            auto place = [&](int how) {
              switch (how) {
                case 0: return at;
                case 1: return std::nextafter(at, 0.0f);
                case 2: return std::nextafter(at, 1e30f);
                case 3: return at * 4.0f;
                default: return std::max(static_cast<float>(med) * 1.01f, at * 0.5f);
              }
            };
            row[order[K - 1]] = place(first) * (rep % 2 ? -1.0f : 1.0f);
            row[order[K - 2]] = place(second);
            ASSERT_EQ(stats::median_abs_row_reference(row.data(), K), med);
            x.insert(x.end(), row.begin(), row.end());
            ++T;
          }
      // Row by row (hits after each row against the reference's), then all rows in one call.
      stats::FusedScratch scratch;
      stats::ChannelStats by_row, at_once;
      std::vector<int64_t> want(K, 0);
      for (int64_t i = 0; i < T; ++i) {
        by_row.add(x.data() + i * K, 1, K, tau, &scratch);
        const std::vector<double> p = stats::persistence(x.data() + i * K, 1, K, tau);
        for (int64_t c = 0; c < K; ++c) want[c] += static_cast<int64_t>(p[c]);
        ASSERT_EQ(by_row.hits, want) << "tau " << tau << " K=" << K << " row " << i;
      }
      at_once.add(x.data(), T, K, tau, &scratch);
      EXPECT_EQ(at_once.hits, want) << "tau " << tau << " K=" << K;
    }
  }
}

}  // namespace
}  // namespace qh::audit
