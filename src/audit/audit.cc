// run_audit: one loop over windows. Each window runs the fp forward once (statistics, attention rows, sink
// tokens) and then every quantized case of every scheme against that same fp pass: the scheme itself (with
// attention fidelity and per-site error), the protections of the 2x2 design, and the sensitivity cases.
#include "src/audit/audit.h"

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

namespace qh::audit {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

enum class CaseKind { kMain, kProtect, kLayer, kSite };

struct Case {
  size_t scheme_index = 0;
  CaseKind kind = CaseKind::kMain;
  int index = 0;  // protection 1..3 (tokens, channels, both), layer, or site
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
  int64_t longest = 0;
  for (const auto& s : data.sequences) {
    longest = std::max<int64_t>(longest, s.size());
    for (size_t t = 0; t < s.size(); ++t)
      if (s[t] < 0 || s[t] >= a.vocab_size)
        throw InputError(fmt::format("audit: token id {} at position {} of data '{}' is outside the model's "
                                     "vocabulary of {}",
                                     s[t], t, data.spec, a.vocab_size));
  }
  int64_t W = options.window > 0 ? options.window : std::min<int64_t>(a.context, longest);
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
  bool needs_calib = options.attribution;
  for (const Scheme& s : schemes) needs_calib |= engine::needs_calibration(s, engine::Protection{});
  engine::Calibration calib;
  std::vector<float> logits;
  if (needs_calib) {
    const size_t sequences = options.max_sequences > 0 ? static_cast<size_t>(options.max_sequences)
                                                       : data.sequences.size();
    calib = engine::calibrate(fp, data.sequences, sequences, W, options.outliers);
  }

  // Every quantized case, built once.
  std::vector<Case> cases;
  auto add_case = [&](size_t si, CaseKind kind, int index, const Scheme& scheme, const engine::Protection& p,
                      const engine::EngineOptions& eo = {}) {
    Case c;
    c.scheme_index = si;
    c.kind = kind;
    c.index = index;
    c.engine = std::make_unique<engine::Engine>(model, scheme, p, calib, eo);
    cases.push_back(std::move(c));
  };
  for (size_t si = 0; si < schemes.size(); ++si) {
    const Scheme& s = schemes[si];
    add_case(si, CaseKind::kMain, 0, s, {});
    if (options.attribution)
      for (int p = 1; p <= 3; ++p) add_case(si, CaseKind::kProtect, p, s, protection_for(p, options));
    if (options.layer_sensitivity && L > 1)
      for (int l = 0; l < L; ++l) {
        engine::EngineOptions eo;
        eo.quantized_layers.assign(L, 0);
        eo.quantized_layers[l] = 1;
        add_case(si, CaseKind::kLayer, l, s, {}, eo);
      }
    if (options.site_sensitivity)
      for (int site = 0; site < kNumSites; ++site) {
        if (static_cast<Site>(site) == Site::kGate && !is_glu(a.mlp)) continue;
        if (!s.sites[site]) continue;
        Scheme one = s;
        for (int k = 0; k < kNumSites; ++k) one.sites[k] = k == site;
        add_case(si, CaseKind::kSite, site, one, {});
      }
  }

  StatsObserver stats(model, options);
  AttentionCapture capture(L, H, options.attention_rows);  // fp attention rows for the schemes' attention KL
  std::vector<FidelityObserver> fidelity(schemes.size(), FidelityObserver(L, H));
  for (auto& f : fidelity) f.set_reference(&capture);
  eval::MetricsAccumulator fp_acc;
  std::vector<float> oracle;
  std::vector<int32_t> targets;
  std::vector<uint8_t> domain, pos_class, backcopy;
  const bool bb = data.bb != nullptr;

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
    fp_acc.add(rows);
    // The cases of the window are independent forward passes against the same fp logits: spread over the
    // threads as windows are (window_parallel.h). Each case's accumulator still takes the windows in order, and
    // a scheme's fidelity observer belongs to its main case alone, so no result depends on the thread count.
    engine::for_each_window(static_cast<int64_t>(cases.size()), [&](int64_t i) {
      Case& c = cases[i];
      engine::Observer* obs = c.kind == CaseKind::kMain ? &fidelity[c.scheme_index] : nullptr;
      thread_local std::vector<float> qlogits;
      qlogits.resize(T * V);
      c.engine->forward(tok, T, qlogits.data(), obs, sinks.data());
      eval::ScoredRows case_rows = rows;
      case_rows.q_logits = qlogits.data();
      c.acc.add(case_rows);
    });
    res.tokens += T;
    if (options.progress) options.progress(static_cast<int64_t>(w) + 1, static_cast<int64_t>(windows.size()));
  }

  stats.finish(&res);
  res.fp = fp_acc.finish();
  for (size_t si = 0; si < schemes.size(); ++si) {
    SchemeAudit sa;
    sa.scheme = schemes[si].name;
    sa.site_kld.fill(std::nan(""));  // sites without a sensitivity case (gate without SwiGLU) stay null
    sa.site_delta_ppl.fill(std::nan(""));
    sa.site_sqnr_db = fidelity[si].site_sqnr_db();
    sa.site_sqnr_total = fidelity[si].site_sqnr_total();
    sa.attn_kl = fidelity[si].mean_kl();
    sa.sink_mass_quant = fidelity[si].sink_mass();
    for (Case& c : cases) {
      if (c.scheme_index != si) continue;
      const eval::EvalMetrics m = c.acc.finish();
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
