// run_audit: one loop over windows. Each window runs the fp forward once (statistics, attention rows, sink
// tokens) and then every quantized case of every scheme against that same fp pass: the scheme itself (with
// attention fidelity and per-site error), the protections of the 2x2 design, and the sensitivity cases.
#include "src/audit/audit.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>

#include <fmt/format.h>

#include "models/stats/activations.h"
#include "models/stats/fused.h"
#include "models/weight_stats.h"
#include "src/audit/fidelity.h"
#include "src/audit/query_split.h"
#include "src/audit/stats_observer.h"
#include "src/engine/engine.h"
#include "src/engine/window_parallel.h"
#include "src/eval/log_probs.h"

namespace qh::audit {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

enum class CaseKind { kMain, kProtect, kLayer, kSite };

// A quantized case before its engine is built: the estimate counts the engines run_audit builds from this list.
struct CasePlan {
  size_t scheme_index = 0;
  CaseKind kind = CaseKind::kMain;
  int index = 0;  // protection 1..3 (tokens, channels, both), layer, or site
  Scheme scheme;  // the engine's scheme (one site kind only for a site's sensitivity)
  engine::Protection protection;
  int layer = -1;  // a layer's sensitivity: the only layer whose sites are quantized
};

struct Case {
  size_t scheme_index = 0;
  CaseKind kind = CaseKind::kMain;
  int index = 0;
  std::unique_ptr<engine::Engine> engine;
  eval::MetricsAccumulator acc;
};

struct Window {
  int64_t sequence, start, T;
};

std::vector<Window> make_windows(const data::Dataset& data, int64_t W, int64_t max_sequences) {
  std::vector<Window> out;
  const int64_t n = max_sequences > 0 ? std::min<int64_t>(max_sequences, data.sequences.size())
                                      : static_cast<int64_t>(data.sequences.size());
  for (int64_t s = 0; s < n; ++s) {
    const int64_t len = static_cast<int64_t>(data.sequences[s].size());
    for (int64_t start = 0; start < len; start += W) out.push_back({s, start, std::min(W, len - start)});
  }
  return out;
}

engine::Protection protection_for(int index, const AuditOptions& o) {
  engine::Protection p;
  p.tokens = index == 1 || index == 3;
  p.channels = index == 2 || index == 3;
  p.outliers = o.outliers;
  return p;
}

std::vector<CasePlan> plan_cases(const ArchSpec& a, const std::vector<Scheme>& schemes,
                                 const AuditOptions& options) {
  std::vector<CasePlan> out;
  const int L = a.num_layers;
  for (size_t si = 0; si < schemes.size(); ++si) {
    const Scheme& s = schemes[si];
    out.push_back({si, CaseKind::kMain, 0, s, {}, -1});
    if (options.attribution)
      for (int p = 1; p <= 3; ++p) out.push_back({si, CaseKind::kProtect, p, s, protection_for(p, options), -1});
    if (options.layer_sensitivity && L > 1)
      for (int l = 0; l < L; ++l) out.push_back({si, CaseKind::kLayer, l, s, {}, l});
    if (options.site_sensitivity)
      for (int site = 0; site < kNumSites; ++site) {
        if (static_cast<Site>(site) == Site::kGate && !is_glu(a.mlp)) continue;
        if (!s.sites[site]) continue;
        Scheme one = s;
        for (int k = 0; k < kNumSites; ++k) one.sites[k] = k == site;
        out.push_back({si, CaseKind::kSite, site, one, {}, -1});
      }
  }
  return out;
}

bool needs_calibration(const std::vector<Scheme>& schemes, const AuditOptions& options) {
  bool needs = options.attribution;
  for (const Scheme& s : schemes) needs |= engine::needs_calibration(s, engine::Protection{});
  return needs;
}

// Forwards of a window's cases running at once: one per thread when they run window-parallel
// (engine::windows_in_parallel), else one.
int case_forwards(size_t cases, int threads) {
  return threads > 1 && cases >= static_cast<size_t>(threads) ? threads : 1;
}

size_t calibration_bytes(const engine::Calibration& c) {
  size_t n = 0;
  for (const auto& layer : c.sites)
    for (const engine::SiteCalibration& s : layer)
      n += (s.col_absmax.capacity() + s.col_min.capacity() + s.col_max.capacity()) * sizeof(float);
  for (const engine::KvCalibration& kv : c.kv)
    n += (kv.k_min.capacity() + kv.k_max.capacity() + kv.v_min.capacity() + kv.v_max.capacity()) * sizeof(float);
  return n;
}

// Overall BB excess risk (all scored positions) of a metrics block.
double excess_risk(const eval::EvalMetrics& m) {
  const int64_t n = m.n_backcopy + m.n_bigram;
  return n ? (m.backcopy_risk * m.n_backcopy + m.bigram_risk * m.n_bigram) / n : 0.0;
}

}  // namespace

AuditResult run_audit(const qh::Model& model, const data::Dataset& data, const std::vector<Scheme>& schemes,
                      const AuditOptions& options) {
  const auto t_total = Clock::now();
  const ArchSpec& a = model.spec;
  if (data.sequences.empty()) throw InputError("audit: the data set '" + data.spec + "' has no sequences");
  for (const auto& s : data.sequences) {
    for (size_t t = 0; t < s.size(); ++t)
      if (s[t] < 0 || s[t] >= a.vocab_size)
        throw InputError(fmt::format("audit: token id {} at position {} of data '{}' is outside the model's "
                                     "vocabulary of {}",
                                     s[t], t, data.spec, a.vocab_size));
  }
  const AuditExtent extent = audit_extent(a, data, options);
  const int64_t W = extent.window;
  if (W > a.context)
    throw InputError(fmt::format("audit: window {} is longer than the model's context of {}", W, a.context));
  const std::vector<Window> windows = make_windows(data, W, options.max_sequences);
  const int64_t V = a.vocab_size;
  const int L = a.num_layers, H = a.num_heads;

  AuditResult res;
  res.options = options;
  res.data_spec = data.spec;
  res.architecture = a.architecture;
  res.attention = to_string(a.attn.kind);
  res.norm = to_string(a.norm);
  res.mlp = to_string(a.mlp);
  res.positions = to_string(a.positions);
  res.num_layers = L;
  res.num_heads = H;
  res.d_model = a.d_model;
  res.window = W;
  res.windows = static_cast<int64_t>(windows.size());
  for (int32_t id : options.query_class)
    if (id < 0 || id >= a.vocab_size)
      throw InputError(fmt::format("audit: query class token id {} is outside the model's vocabulary of {}", id,
                                   a.vocab_size));
  const QuerySplit split = choose_query_split(options.query_class, data.bb.get(), options.early_positions);
  res.dormant_split = split.name();
  res.dormant_labels = split.labels();
  res.weights = weight_stats(model, options.report_tau_channels);

  engine::check_finite_weights(model);
  engine::Engine fp(model, parse_scheme("FP32"));

  // Calibration (outlier channels, static scales) as the evaluator does it, sink rows excluded from the scales.
  const bool needs_calib = needs_calibration(schemes, options);
  engine::Calibration calib;
  std::vector<float> logits;
  if (needs_calib) {
    const size_t sequences = options.max_sequences > 0 ? static_cast<size_t>(options.max_sequences)
                                                       : data.sequences.size();
    calib = engine::calibrate(fp, data.sequences, sequences, W, options.outliers);
  }

  // Every quantized case, built once. The buffers that grow with the window or the data are allocated at their
  // final size before the first window (what estimate_audit_memory counts), so none grows by doubling.
  std::vector<Case> cases;
  for (const CasePlan& p : plan_cases(a, schemes, options)) {
    Case c;
    c.scheme_index = p.scheme_index;
    c.kind = p.kind;
    c.index = p.index;
    engine::EngineOptions eo;
    if (p.layer >= 0) {
      eo.quantized_layers.assign(L, 0);
      eo.quantized_layers[p.layer] = 1;
    }
    c.engine = std::make_unique<engine::Engine>(model, p.scheme, p.protection, calib, eo);
    c.acc.reserve(extent.scored_tokens);
    cases.push_back(std::move(c));
  }

  StatsObserver stats(model, options);
  stats.reserve(W);
  AttentionCapture capture(L, H, options.attention_rows);  // fp attention rows for the schemes' attention KL
  if (!schemes.empty()) capture.reserve(W);
  std::vector<FidelityObserver> fidelity(schemes.size(), FidelityObserver(L, H));
  for (auto& f : fidelity) f.set_reference(&capture);
  eval::MetricsAccumulator fp_acc;
  fp_acc.reserve(extent.scored_tokens);
  const bool bb = data.bb != nullptr;
  logits.reserve(static_cast<size_t>(W * V));
  std::vector<float> oracle;
  if (bb) oracle.reserve(static_cast<size_t>(W * V));
  // One buffer of quantized logits per thread running the cases (see engine::for_each_window).
  const bool cases_in_parallel = engine::windows_in_parallel(static_cast<int64_t>(cases.size()));
  std::vector<std::vector<float>> qlogits(cases.empty() ? 0 : cases_in_parallel ? omp_get_max_threads() : 1);
  for (auto& q : qlogits) q.reserve(static_cast<size_t>(W * V));
  std::vector<int32_t> targets;
  std::vector<uint8_t> domain, pos_class, backcopy;
  std::vector<double> fp_lse, oracle_log;
  fp_lse.reserve(static_cast<size_t>(W));
  if (bb) oracle_log.reserve(static_cast<size_t>(W * V));

  for (size_t w = 0; w < windows.size(); ++w) {
    const Window& win = windows[w];
    const std::vector<int32_t>& seq = data.sequences[win.sequence];
    const int32_t* tok = seq.data() + win.start;
    const int64_t T = win.T;
    logits.resize(T * V);
    domain.resize(T);
    split.fill(tok, T, domain.data());

    // One fp pass per window feeds the statistics, the attention rows and the sink tokens, and its logits are
    // the reference of every quantized case.
    engine::ResidualNormObserver rn;
    engine::ObserverList list;
    list.add(&stats);
    if (!schemes.empty()) list.add(&capture);
    list.add(&rn);
    stats.begin_window(win.sequence, win.start, domain.data());
    const auto t0 = Clock::now();
    fp.forward(tok, T, logits.data(), &list);
    res.stats_seconds += seconds_since(t0);
    const std::vector<uint8_t> sinks = rn.sink_tokens(options.outliers.tau_tokens);

    targets.assign(T, -1);
    pos_class.assign(T, static_cast<uint8_t>(eval::PosClass::kRest));
    for (int64_t t = 0; t < T; ++t) {
      const int64_t pos = win.start + t;
      if (pos + 1 < static_cast<int64_t>(seq.size())) targets[t] = seq[pos + 1];
      if (pos == 0) pos_class[t] = static_cast<uint8_t>(eval::PosClass::kFirst);
      else if (sinks[t]) pos_class[t] = static_cast<uint8_t>(eval::PosClass::kSink);
    }
    if (bb) {
      oracle.assign(T * V, 0.0f);
      backcopy.assign(T, 0);
      for (int64_t t = 0; t < T; ++t) {
        if (targets[t] < 0) continue;
        data.bb->oracle(seq.data(), win.start + t, oracle.data() + t * V);
        backcopy[t] = data.bb->is_backcopy(seq.data(), win.start + t) ? 1 : 0;
      }
    }
    eval::ScoredRows rows{logits.data(), nullptr, T, V, targets.data(), pos_class.data(),
                          bb ? oracle.data() : nullptr, bb ? backcopy.data() : nullptr};
    fp_lse.resize(T);  // the fp rows' normalisers, computed once for every case of the window
    for (int64_t t = 0; t < T; ++t) fp_lse[t] = targets[t] < 0 ? 0.0 : eval::log_sum_exp(logits.data() + t * V, V);
    rows.fp_lse = fp_lse.data();
    if (bb) {  // log(oracle) of the excess risks, once for every case
      oracle_log.resize(T * V);
      for (int64_t j = 0; j < T * V; ++j) oracle_log[j] = oracle[j] > 0.0f ? std::log(double(oracle[j])) : 0.0;
      rows.oracle_log = oracle_log.data();
    }
    fp_acc.add(rows);
    // The cases of the window are independent forward passes against the same fp logits: spread over the
    // threads as windows are (window_parallel.h). Each case's accumulator still takes the windows in order, and
    // a scheme's fidelity observer belongs to its main case alone, so no result depends on the thread count.
    engine::for_each_window(static_cast<int64_t>(cases.size()), [&](int64_t i) {
      Case& c = cases[i];
      engine::Observer* obs = c.kind == CaseKind::kMain ? &fidelity[c.scheme_index] : nullptr;
      std::vector<float>& q = qlogits[cases_in_parallel ? omp_get_thread_num() : 0];
      q.resize(T * V);
      c.engine->forward(tok, T, q.data(), obs, sinks.data());
      eval::ScoredRows case_rows = rows;
      case_rows.q_logits = q.data();
      c.acc.add(case_rows);
    });
    res.tokens += T;
    if (options.progress) options.progress(static_cast<int64_t>(w) + 1, static_cast<int64_t>(windows.size()));
  }

  res.held.engine_weights = fp.weight_bytes_held().total;
  res.held.statistics = stats.bytes_held() + capture.bytes_held() + fp_acc.bytes_held() + calibration_bytes(calib);
  for (const FidelityObserver& f : fidelity) res.held.statistics += f.bytes_held();
  for (const Case& c : cases) {
    res.held.engine_weights += c.engine->weight_bytes_held().total;
    res.held.statistics += c.acc.bytes_held();
  }
  res.held.logits = (logits.capacity() + oracle.capacity()) * sizeof(float) +
                    (oracle_log.capacity() + fp_lse.capacity()) * sizeof(double);
  for (const auto& q : qlogits) res.held.logits += q.capacity() * sizeof(float);

  stats.finish(&res);
  res.fp = fp_acc.finish();
  // The cases' summaries (sorts of their per-token values) are independent: spread over the threads as windows.
  std::vector<eval::EvalMetrics> case_metrics(cases.size());
  engine::for_each_window(static_cast<int64_t>(cases.size()), [&](int64_t i) { case_metrics[i] = cases[i].acc.finish(); });
  for (size_t si = 0; si < schemes.size(); ++si) {
    SchemeAudit sa;
    sa.scheme = schemes[si].name;
    sa.site_kld.fill(std::nan(""));  // sites without a sensitivity case (gate without SwiGLU) stay null
    sa.site_delta_ppl.fill(std::nan(""));
    sa.site_sqnr_db = fidelity[si].site_sqnr_db();
    sa.site_sqnr_total = fidelity[si].site_sqnr_total();
    sa.attn_kl = fidelity[si].mean_kl();
    sa.sink_mass_quant = fidelity[si].sink_mass();
    for (size_t ci = 0; ci < cases.size(); ++ci) {
      const Case& c = cases[ci];
      if (c.scheme_index != si) continue;
      const eval::EvalMetrics& m = case_metrics[ci];
      switch (c.kind) {
        case CaseKind::kMain: sa.metrics = m; sa.protected_metrics[0] = m; break;
        case CaseKind::kProtect: sa.protected_metrics[c.index] = m; sa.has_attribution = true; break;
        case CaseKind::kLayer:
          if (sa.layer_kld.empty()) sa.layer_kld.assign(L, 0.0), sa.layer_delta_ppl.assign(L, 0.0);
          sa.layer_kld[c.index] = m.kld_mean;
          sa.layer_delta_ppl[c.index] = m.delta_ppl;
          break;
        case CaseKind::kSite:
          sa.has_site_sensitivity = true;
          sa.site_kld[c.index] = m.kld_mean;
          sa.site_delta_ppl[c.index] = m.delta_ppl;
          break;
      }
    }
    if (sa.has_attribution) {
      const auto& pm = sa.protected_metrics;
      sa.kld = shapley2(pm[0].kld_mean, pm[1].kld_mean, pm[2].kld_mean, pm[3].kld_mean);
      sa.delta_ppl = shapley2(pm[0].delta_ppl, pm[1].delta_ppl, pm[2].delta_ppl, pm[3].delta_ppl);
      if (bb) {
        const double base = excess_risk(res.fp);
        sa.excess_risk = shapley2(excess_risk(pm[0]) - base, excess_risk(pm[1]) - base,
                                  excess_risk(pm[2]) - base, excess_risk(pm[3]) - base);
      }
    }
    res.schemes.push_back(std::move(sa));
  }
  res.total_seconds = seconds_since(t_total);
  return res;
}

AuditExtent audit_extent(const ArchSpec& a, const data::Dataset& data, const AuditOptions& options) {
  AuditExtent x;
  int64_t longest = 0;
  for (const auto& s : data.sequences) longest = std::max<int64_t>(longest, s.size());
  x.window = options.window > 0 ? options.window : std::min<int64_t>(a.context, longest);
  const size_t n = options.max_sequences > 0 ? std::min<size_t>(options.max_sequences, data.sequences.size())
                                             : data.sequences.size();
  for (size_t s = 0; s < n; ++s)  // every position but a sequence's last has a target
    x.scored_tokens += std::max<int64_t>(static_cast<int64_t>(data.sequences[s].size()) - 1, 0);
  x.bb = data.bb != nullptr;
  return x;
}

engine::MemoryEstimate estimate_audit_memory(const ArchSpec& a, const std::vector<Scheme>& schemes,
                                             const AuditOptions& options, const AuditExtent& x, int threads) {
  if (threads <= 0) threads = omp_get_max_threads();
  threads = std::max(threads, 1);
  const std::vector<CasePlan> plan = plan_cases(a, schemes, options);
  const uint64_t T = static_cast<uint64_t>(std::max<int64_t>(x.window, 1)), V = a.vocab_size;
  const uint64_t L = a.num_layers, H = a.num_heads, KV = a.num_kv_heads, d = a.d_model, hd = a.head_dim;
  const uint64_t ff = a.d_ff, attn_width = H * hd, threads_u = static_cast<uint64_t>(threads);
  constexpr uint64_t kF32 = sizeof(float), kF64 = sizeof(double);

  engine::MemoryEstimate m;
  m.one_model = m.model_weights = engine::model_f32_bytes(a);
  // Engines: the fp engine derives nothing; a layer's sensitivity engine quantizes one layer's sites.
  uint64_t scratch = engine::forward_scratch_bytes(a, parse_scheme("FP32"), x.window);
  for (const CasePlan& c : plan) {
    m.engine_weights += engine::derived_weight_bytes(a, c.scheme, c.layer >= 0 ? 1 : -1);
    scratch = std::max(scratch, engine::forward_scratch_bytes(a, c.scheme, x.window));
  }
  // Forward scratch per thread running forwards (the fp pass runs on the calling thread, one of them); logits:
  // the fp pass's, the BB oracle's and its log (doubles: two rows of floats) and one quantized buffer per
  // thread running cases; the fp rows' normalisers (a double per row).
  const uint64_t forwards = static_cast<uint64_t>(case_forwards(plan.size(), threads));
  const uint64_t logit_rows = 1 + (x.bb ? 3 : 0) + (plan.empty() ? 0 : forwards);
  m.activations = forwards * scratch + logit_rows * T * V * kF32 + T * sizeof(double) +
                  threads_u * engine::kPerThreadScratchBytes;

  // The statistics observer (stats_observer.h): per head the per-key sums of attention and the triangular
  // factor of its W_O slice (padded to blocks of 16 rows), per layer the channel maxima and persistence counts
  // of the q, o, up and down inputs; its per-window scratch (|x| of a residual stream or per-block rows,
  // per-block channel maxima and hits, per-row moments, norms) grows by doubling: counted twice.
  const uint64_t rank_padded = (std::min(d, hd) + 15) / 16 * 16;
  const uint64_t widest = std::max({d, attn_width, ff}), blocks = std::min(threads_u, T);
  uint64_t st = L * H * (T * kF64 + hd * rank_padded * kF32);
  st += L * (2 * d + attn_width + ff) * (sizeof(float) + sizeof(int64_t));
  st += 2 * (std::max(T * d, blocks * (widest + 16)) * kF32 + blocks * widest * (kF32 + sizeof(int32_t)) +
             T * sizeof(stats::RowMoments) + 2 * T * kF64);
  st += (L + 1) * T * kF32 + T;  // the residual norms of the sink-token rule, and its mask
  if (!schemes.empty()) {
    // The fp attention rows kept for the attention KL: every head, up to attention_rows rows of the window.
    st += L * H * kept_rows(static_cast<int64_t>(T), options.attention_rows).size() * T * kF32;
    // Per scheme, the fidelity observer's per-head sums and per-site error statistics.
    st += schemes.size() * L * (H * 2 * (kF64 + sizeof(int64_t)) + kNumSites * (sizeof(quant::ErrorStats) + 1));
  }
  // Calibration: three per-channel vectors of every site's input (q/k/v, gate/up share d), per-head KV ranges.
  if (needs_calibration(schemes, options)) st += L * (3 * (5 * d + attn_width + ff) + 4 * KV) * kF32;
  // Every accumulator (the fp pass's and each case's) keeps two doubles per scored token (the KL percentiles).
  st += (plan.size() + 1) * static_cast<uint64_t>(std::max<int64_t>(x.scored_tokens, 0)) * 2 * kF64;
  m.statistics = st;
  return m;
}

std::vector<WeightStats> weight_stats(const qh::Model& model, double report_tau_channels) {
  std::vector<WeightStats> out;
  stats::FusedScratch scratch;
  for (size_t l = 0; l < model.layers.size(); ++l) {
    const LayerWeights& w = model.layers[l];
    const std::pair<Site, const Tensor*> mats[] = {{Site::kQ, &w.wq},       {Site::kK, &w.wk},   {Site::kV, &w.wv},
                                                   {Site::kO, &w.wo},       {Site::kGate, &w.w_gate},
                                                   {Site::kUp, &w.w_up},    {Site::kDown, &w.w_down}};
    for (const auto& [site, t] : mats) {
      if (t->empty()) continue;
      WeightStats s;
      s.layer = static_cast<int>(l);
      s.site = site;
      const int64_t rows = t->rows(), cols = t->cols();
      const std::vector<float> col_max = stats::channel_max(t->ptr(), rows, cols);
      s.max_abs = col_max.empty() ? 0.0 : *std::max_element(col_max.begin(), col_max.end());
      s.kurtosis = qh::weight_kurtosis(*t);
      const double med = stats::median_abs(t->ptr(), rows * cols, &scratch);
      s.max_to_median = med > 0.0 ? s.max_abs / med : 0.0;
      s.outlier_in_channels = stats::outlier_channels(col_max, report_tau_channels);
      out.push_back(std::move(s));
    }
  }
  return out;
}

}  // namespace qh::audit
