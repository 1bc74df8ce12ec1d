// The evaluator: one fp pass per window shared by every case; see evaluator.h.
#include "src/eval/evaluator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include <omp.h>

#include "src/core/error.h"
#include "src/core/memory.h"
#include "src/engine/engine.h"
#include "src/engine/window_parallel.h"
#include "src/eval/case_forward.h"
#include "src/eval/log_probs.h"
#include "src/methods/prepare.h"

namespace qh::eval {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Sums activation quantization noise and signal per site over every layer and window.
class SiteErrorObserver : public engine::Observer {
 public:
  void on_site_error(int, Site s, const quant::ErrorStats& e) override {
    signal[static_cast<int>(s)] += e.signal;
    noise[static_cast<int>(s)] += e.noise;
  }
  bool wants_site_errors() const override { return true; }
  double signal[kNumSites] = {}, noise[kNumSites] = {};
};

double sqnr_db(double signal, double noise) {
  if (noise <= 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal / noise);
}

nlohmann::json finite_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

}  // namespace

nlohmann::json CaseResult::to_json() const {
  nlohmann::json j = metrics.to_json();
  j["label"] = label;
  j["scheme"] = scheme;
  j["scheme_desc"] = scheme_desc;
  j["protection"] = protection;
  j["method"] = method;
  j["method_desc"] = method_desc;
  j["method_notes"] = method_notes;
  j["method_seconds"] = method_seconds;
  j["sqnr_db"] = finite_or_null(sqnr_db);
  nlohmann::json sites = nlohmann::json::object(), paths = nlohmann::json::object();
  for (int s = 0; s < kNumSites; ++s) {
    sites[to_string(static_cast<Site>(s))] = finite_or_null(site_sqnr_db[s]);
    paths[to_string(static_cast<Site>(s))] = site_path[s];
  }
  j["site_sqnr_db"] = sites;
  j["site_path"] = paths;
  j["int8_impl"] = int8_impl;
  j["seconds"] = seconds;
  return j;
}

engine::MemoryEstimate estimate_eval_memory(const ArchSpec& spec, const std::vector<EvalCase>& cases, int64_t window,
                                            int forwards) {
  std::vector<Scheme> engines{parse_scheme("FP32")};
  std::set<std::string> methods;
  for (const EvalCase& c : cases) {
    engines.push_back(c.scheme);
    if (!c.method.is_rtn()) methods.insert(c.method.name());
  }
  return engine::estimate_memory(spec, engines, 1 + static_cast<int>(methods.size()), window, 0, forwards);
}

EvalReport evaluate_report(const qh::Model& model, const data::Dataset& data, const std::vector<EvalCase>& cases,
                           const EvalOptions& options) {
  const ArchSpec& a = model.spec;
  if (data.sequences.empty()) throw InputError("data " + data.spec + ": no sequences");
  size_t n_seqs = data.sequences.size();
  if (options.max_sequences > 0) n_seqs = std::min(n_seqs, static_cast<size_t>(options.max_sequences));
  int64_t longest = 0;
  for (size_t s = 0; s < n_seqs; ++s) {
    longest = std::max(longest, static_cast<int64_t>(data.sequences[s].size()));
    for (size_t t = 0; t < data.sequences[s].size(); ++t) {
      const int32_t id = data.sequences[s][t];
      if (id < 0 || id >= a.vocab_size)
        throw InputError("data " + data.spec + ": sequence " + std::to_string(s) + " position " +
                         std::to_string(t) + " has token id " + std::to_string(id) +
                         ", outside the model's vocabulary (size " + std::to_string(a.vocab_size) + ")");
    }
  }
  if (longest < 2) throw InputError("data " + data.spec + ": every sequence is shorter than 2 tokens");
  if (options.window > a.context)
    throw InputError("window " + std::to_string(options.window) + " is longer than the model's context " +
                     std::to_string(a.context));
  if (options.window < 0 || options.stride < 0) throw InputError("window and stride must be positive");
  const int64_t window = options.window > 0 ? options.window : std::min<int64_t>(a.context, longest);
  Protocol protocol = options.protocol;
  if (options.stride > 0) {  // the --stride shorthand
    if (protocol.kind != ProtocolKind::kWindows && protocol.name() != "strided:" + std::to_string(options.stride))
      throw InputError("give either a stride or the protocol " + protocol.name() + ", not both");
    protocol = {ProtocolKind::kStrided, options.stride};
  }
  if (window < 2 && longest > window) throw InputError("window must be at least 2 tokens");
  const std::vector<Window> windows = plan_windows(data.sequences, n_seqs, window, protocol);
  if (windows.empty())
    throw InputError("data " + data.spec + ": no window to score under protocol " + protocol.name() +
                     " (half needs a sequence of at least " + std::to_string(window) + " tokens)");
  engine::check_finite_weights(model);
  {  // before any engine is built: the window is known now (ARCHITECTURE.md 2.4)
    const int64_t n_windows = static_cast<int64_t>(windows.size());
    const int forwards = engine::windows_in_parallel(n_windows) ? omp_get_max_threads() : 1;
    const engine::MemoryEstimate need = estimate_eval_memory(a, cases, window, forwards);
    if (options.max_memory) engine::check_memory_fits(need, window, {options.max_memory, "--max-memory"}, "evaluation");
    else engine::check_memory_fits(need, window, available_memory(), "evaluation", need.one_model);
  }

  EvalReport report;
  report.window = window;
  report.stride = protocol.kind == ProtocolKind::kStrided ? protocol.stride : window;
  report.protocol = protocol.name();
  const Scheme fp_scheme = parse_scheme("FP32");
  engine::Engine fp(model, fp_scheme);
  engine::EngineOptions eopt;
  eopt.force_fake_quant = options.force_fake_quant;

  // Calibration (static scales, outlier channels) on the first windows of the first sequences: fp passes of
  // the model each case runs (a method's transformed model with its online transforms).
  auto calibrate = [&](const qh::Model& m, const engine::EngineOptions& o) {
    engine::Engine e(m, fp_scheme, {}, {}, o);
    return engine::calibrate(e, data.sequences, n_seqs, window, options.outliers);
  };

  // One prepared model per method (rtn: the model itself).
  struct MethodState {
    std::unique_ptr<methods::PreparedModel> prepared;
    engine::EngineOptions options;
    engine::Calibration calib;
    bool calibrated = false;
  };
  std::map<std::string, MethodState> method_states;
  std::vector<std::vector<int32_t>> method_windows;
  for (const EvalCase& c : cases) {
    if (!c.method.needs_calibration() || !method_windows.empty()) continue;
    if (!options.method_data || options.method_data->sequences.empty())
      throw InputError("method " + c.method.label() + " needs calibration data (kept apart from the evaluated data)");
    const data::Dataset& md = *options.method_data;
    for (size_t s = 0; s < md.sequences.size() && static_cast<int>(method_windows.size()) < options.method_sequences; ++s) {
      const auto& seq = md.sequences[s];
      for (size_t t = 0; t < seq.size(); ++t)
        if (seq[t] < 0 || seq[t] >= a.vocab_size)
          throw InputError("calibration data " + md.spec + ": sequence " + std::to_string(s) + " position " +
                           std::to_string(t) + " has token id " + std::to_string(seq[t]) +
                           ", outside the model's vocabulary");
      if (seq.empty()) continue;
      method_windows.emplace_back(seq.begin(), seq.begin() + std::min<int64_t>(window, static_cast<int64_t>(seq.size())));
    }
  }
  struct CaseState {
    std::unique_ptr<engine::Engine> engine;
    MetricsAccumulator acc;
    SiteErrorObserver errors;
    double seconds = 0;
    double method_seconds = 0;
    const MethodState* method = nullptr;
  };
  std::vector<CaseState> states(cases.size());
  for (size_t c = 0; c < cases.size(); ++c) {
    const methods::MethodSpec& m = cases[c].method;
    MethodState& ms = method_states[m.name()];
    if (!ms.prepared && !m.is_rtn()) {
      ms.prepared = std::make_unique<methods::PreparedModel>(methods::prepare(model, m, method_windows, {options.method_cache_dir}));
      ms.options = ms.prepared->engine_options(eopt);
    } else if (m.is_rtn()) {
      ms.options = eopt;
    }
    const qh::Model& cm = ms.prepared ? ms.prepared->model : model;
    if (engine::needs_calibration(cases[c].scheme, cases[c].protection) && !ms.calibrated) {
      ms.calib = calibrate(cm, ms.options);
      ms.calibrated = true;
    }
    const double before = ms.prepared ? *ms.prepared->quantizer_seconds : 0.0;
    engine::Protection p = cases[c].protection;
    p.outliers = options.outliers;
    states[c].engine = std::make_unique<engine::Engine>(cm, cases[c].scheme, p, ms.calib, ms.options);
    if (ms.prepared) states[c].method_seconds = ms.prepared->seconds + (*ms.prepared->quantizer_seconds - before);
    states[c].method = &ms;
  }

  const int64_t V = a.vocab_size;
  const bool oracle = data.bb && data.bb->vocab_size() == V;
  // Each window's contribution is computed on its own (window-parallel when there are enough windows,
  // src/engine/window_parallel.h) and reduced below in window order, so every number is the same on any thread
  // count.
  struct WindowResult {
    std::vector<MetricsAccumulator> acc;      // [case]
    std::vector<SiteErrorObserver> errors;    // [case]
    std::vector<double> seconds;              // [case]
    double fp_seconds = 0;
    int64_t scored = 0;
  };
  std::vector<WindowResult> results(windows.size());
  std::mutex progress_mu;
  int64_t windows_done = 0;
  auto run_window = [&](int64_t w) {
    thread_local std::vector<float> fp_logits, q_logits, oracle_probs;
    thread_local std::vector<double> fp_lse, oracle_log;
    thread_local std::vector<int32_t> targets, bos_window;
    thread_local std::vector<uint8_t> pos_class, backcopy;
    WindowResult& out = results[w];
    out.acc.resize(cases.size());
    out.errors.resize(cases.size());
    out.seconds.assign(cases.size(), 0.0);
    const Window& win = windows[w];
    const auto& seq = data.sequences[win.seq];
    const int64_t T = win.end - win.start;
    const int32_t* tok = seq.data() + win.start;
    if (protocol.kind == ProtocolKind::kHalf && options.bos >= 0) {  // llama.cpp: each chunk starts with BOS
      bos_window.assign(tok, tok + T);
      bos_window[0] = options.bos;
      tok = bos_window.data();
    }
    fp_logits.resize(T * V);
    engine::ResidualNormObserver norms;
    auto t0 = Clock::now();
    fp.forward(tok, T, fp_logits.data(), &norms);
    out.fp_seconds = seconds_since(t0);
    const auto sinks = norms.sink_tokens(options.outliers.tau_tokens);
    // Rows of the window scored here (the protocol's choice); row r predicts sequence token start + r + 1.
    const int64_t r0 = win.row_begin, n = std::max<int64_t>(0, win.row_end - win.row_begin);
    targets.resize(n);
    pos_class.resize(n);
    backcopy.assign(n, 0);
    if (oracle) oracle_probs.resize(n * V);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t r = r0 + i, t = win.start + r;
      targets[i] = seq[t + 1];
      pos_class[i] = static_cast<uint8_t>(t == 0 ? PosClass::kFirst : sinks[r] ? PosClass::kSink : PosClass::kRest);
      if (oracle) {
        data.bb->oracle(seq.data(), t, oracle_probs.data() + i * V);
        backcopy[i] = data.bb->is_backcopy(seq.data(), t) ? 1 : 0;
      }
    }
    fp_lse.resize(n);  // the fp rows' normalisers, shared by every case's metrics
    for (int64_t i = 0; i < n; ++i) fp_lse[i] = log_sum_exp(fp_logits.data() + (r0 + i) * V, V);
    ScoredRows rows;
    rows.fp_logits = fp_logits.data() + r0 * V;
    rows.fp_lse = fp_lse.data();
    if (oracle) {  // log(oracle) of the excess risks, once for every case
      oracle_log.resize(n * V);
      for (int64_t j = 0; j < n * V; ++j)
        oracle_log[j] = oracle_probs[j] > 0.0f ? std::log(double(oracle_probs[j])) : 0.0;
      rows.oracle_log = oracle_log.data();
    }
    rows.n = n;
    rows.vocab = V;
    rows.targets = targets.data();
    rows.pos_class = pos_class.data();
    rows.oracle = oracle ? oracle_probs.data() : nullptr;
    rows.backcopy = oracle ? backcopy.data() : nullptr;
    for (size_t c = 0; c < cases.size(); ++c) {
      auto t1 = Clock::now();
      rows.q_logits = case_logits(*states[c].engine, cases[c], tok, T, fp_logits.data(), norms,
                                  options.outliers.tau_tokens, &q_logits, &out.errors[c]) +
                      r0 * V;
      out.seconds[c] = seconds_since(t1);
      if (n > 0) {
        out.acc[c].reserve(n);  // one allocation per window and case, not one per doubling
        out.acc[c].add(rows);
      }
    }
    out.scored = n;
    if (options.progress) {
      std::lock_guard<std::mutex> lock(progress_mu);
      options.progress(++windows_done, static_cast<int64_t>(windows.size()));
    }
  };
  engine::for_each_window(static_cast<int64_t>(windows.size()), run_window);
  int64_t scored_total = 0;
  for (const WindowResult& r : results) scored_total += r.scored;
  for (CaseState& st : states) st.acc.reserve(scored_total);
  for (WindowResult& r : results) {  // in window order
    report.fp_seconds += r.fp_seconds;
    report.scored_tokens += r.scored;
    for (size_t c = 0; c < cases.size(); ++c) {
      CaseState& st = states[c];
      st.acc.merge(r.acc[c]);
      r.acc[c] = MetricsAccumulator();  // merged: its per-token values are not held twice
      for (int s = 0; s < kNumSites; ++s) {
        st.errors.signal[s] += r.errors[c].signal[s];
        st.errors.noise[s] += r.errors[c].noise[s];
      }
      st.seconds += r.seconds[c];
    }
  }
  report.windows = static_cast<int64_t>(windows.size());
  report.f32_impl = fp.f32_impl();
  // The summaries sort every case's per-token values: independent per case, so the cases are spread over the
  // threads as windows are (each case's numbers are computed alone, whichever thread does it).
  std::vector<EvalMetrics> metrics(cases.size());
  engine::for_each_window(static_cast<int64_t>(cases.size()), [&](int64_t c) { metrics[c] = states[c].acc.finish(); });
  for (size_t c = 0; c < cases.size(); ++c) {
    CaseState& st = states[c];
    CaseResult r;
    r.scheme = cases[c].scheme.name;
    r.protection = cases[c].protection.name();
    r.label = case_label(cases[c]);
    r.method = cases[c].method.label();
    r.method_desc = cases[c].method.name();
    if (st.method->prepared) r.method_notes = st.method->prepared->notes;
    r.method_seconds = st.method_seconds;
    r.scheme_desc = describe(cases[c].scheme);
    r.metrics = std::move(metrics[c]);
    double sig = 0, noi = 0;
    for (int s = 0; s < kNumSites; ++s) {
      r.site_sqnr_db[s] = sqnr_db(st.errors.signal[s], st.errors.noise[s]);
      r.site_path[s] = st.engine->site_path(static_cast<Site>(s));
      sig += st.errors.signal[s];
      noi += st.errors.noise[s];
    }
    r.sqnr_db = sqnr_db(sig, noi);
    r.int8_impl = st.engine->int8_impl();
    r.seconds = st.seconds;
    report.cases.push_back(std::move(r));
  }
  return report;
}

std::vector<CaseResult> evaluate(const qh::Model& model, const data::Dataset& data,
                                 const std::vector<EvalCase>& cases, const EvalOptions& options) {
  return evaluate_report(model, data, cases, options).cases;
}

}  // namespace qh::eval
