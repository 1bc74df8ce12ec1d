#include "src/tasks/task_eval.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>

#include "src/core/error.h"
#include "src/engine/engine.h"
#include "src/engine/window_parallel.h"
#include "src/eval/case_forward.h"
#include "src/tasks/requests.h"
#include "src/tasks/scoring.h"

namespace qh::tasks {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

TaskMetrics make_metrics(const std::vector<uint8_t>& acc, const std::vector<uint8_t>& acc_norm,
                         const std::vector<uint8_t>& acc_fp, const std::vector<uint8_t>& acc_norm_fp, bool has_norm) {
  TaskMetrics m;
  m.n_items = static_cast<int64_t>(acc.size());
  m.has_norm = has_norm;
  m.acc = accuracy(acc);
  m.acc_fp = accuracy(acc_fp);
  m.acc_drop = paired_drop(acc_fp, acc);
  if (has_norm) {
    m.acc_norm = accuracy(acc_norm);
    m.acc_norm_fp = accuracy(acc_norm_fp);
    m.acc_norm_drop = paired_drop(acc_norm_fp, acc_norm);
  }
  return m;
}

}  // namespace

nlohmann::json TaskMetrics::to_json() const {
  const double nan = std::nan("");
  nlohmann::json j;
  j["acc"] = number_or_null(acc.mean);
  j["acc_stderr"] = number_or_null(acc.stderr_);
  j["acc_norm"] = number_or_null(has_norm ? acc_norm.mean : nan);
  j["acc_norm_stderr"] = number_or_null(has_norm ? acc_norm.stderr_ : nan);
  j["acc_fp"] = number_or_null(acc_fp.mean);
  j["acc_norm_fp"] = number_or_null(has_norm ? acc_norm_fp.mean : nan);
  j["acc_drop"] = number_or_null(acc_drop.drop);
  j["acc_drop_lo"] = number_or_null(acc_drop.lo);
  j["acc_drop_hi"] = number_or_null(acc_drop.hi);
  j["acc_drop_p"] = number_or_null(acc_drop.p_mcnemar);
  j["acc_norm_drop"] = number_or_null(has_norm ? acc_norm_drop.drop : nan);
  j["acc_norm_drop_lo"] = number_or_null(has_norm ? acc_norm_drop.lo : nan);
  j["acc_norm_drop_hi"] = number_or_null(has_norm ? acc_norm_drop.hi : nan);
  j["acc_norm_drop_p"] = number_or_null(has_norm ? acc_norm_drop.p_mcnemar : nan);
  j["n_items"] = n_items;
  return j;
}

nlohmann::json TaskCaseResult::to_json() const {
  nlohmann::json j = metrics.to_json();
  j["label"] = label;
  j["scheme"] = scheme;
  j["protection"] = protection;
  j["seconds"] = seconds;
  return j;
}

void check_vocabulary(const tok::Tokenizer& tokenizer, const qh::Model& model) {
  if (tokenizer.vocab_size() > model.spec.vocab_size)
    throw InputError("tokenizer " + tokenizer.describe() + " has " + std::to_string(tokenizer.vocab_size()) +
                     " ids but the model's vocabulary has " + std::to_string(model.spec.vocab_size) +
                     ": they do not belong together");
}

TasksReport evaluate_tasks(const qh::Model& model, const tok::Tokenizer& tokenizer, const std::vector<Task>& tasks,
                           const std::vector<eval::EvalCase>& cases, const TaskOptions& options) {
  check_vocabulary(tokenizer, model);
  const int64_t context = model.spec.context, V = model.spec.vocab_size;
  // Every request is encoded (and checked) before any forward.
  const std::vector<int32_t> prefix = special_prefix(tokenizer);
  std::vector<std::vector<std::vector<Request>>> requests(tasks.size());  // [task][item][choice]
  int64_t total_items = 0;
  for (size_t t = 0; t < tasks.size(); ++t) {
    for (const TaskItem& item : tasks[t].items) {
      const std::string where = tasks[t].path + ":" + std::to_string(item.line);
      std::vector<Request> rs;
      for (const Choice& c : item.choices) rs.push_back(encode_request(tokenizer, prefix, c, context, where));
      for (const Request& r : rs)
        for (int32_t id : r.tokens)
          if (id < 0 || id >= V)
            throw InputError(where + ": token id " + std::to_string(id) + " is outside the model's vocabulary of " +
                             std::to_string(V));
      requests[t].push_back(std::move(rs));
    }
    total_items += static_cast<int64_t>(tasks[t].items.size());
  }
  engine::check_finite_weights(model);

  engine::Engine fp(model, parse_scheme("FP32"));
  engine::EngineOptions eopt;
  eopt.force_fake_quant = options.force_fake_quant;
  std::vector<std::vector<int32_t>> calib_inputs;
  const size_t n_calib = static_cast<size_t>(std::max(options.outliers.calib_sequences, 1));
  for (size_t t = 0; t < tasks.size() && calib_inputs.size() < n_calib; ++t) {
    for (size_t i = 0; i < requests[t].size() && calib_inputs.size() < n_calib; ++i) {
      const Request& r = requests[t][i][0];
      const int64_t s = input_start(r, context);
      calib_inputs.emplace_back(r.tokens.begin() + s, r.tokens.end() - 1);
    }
  }
  engine::Calibration calib;
  if (eval::any_needs_calibration(cases))
    calib = engine::calibrate(fp, calib_inputs, calib_inputs.size(), context, options.outliers);
  std::vector<std::unique_ptr<engine::Engine>> engines;
  for (const auto& c : cases) {
    engine::Protection p = c.protection;
    p.outliers = options.outliers;
    engines.push_back(std::make_unique<engine::Engine>(model, c.scheme, p, calib, eopt));
  }

  TasksReport report;
  report.tokenizer = tokenizer.describe();
  // What one item gives: filled by whichever thread scores it, reduced below in item order.
  struct ItemResult {
    std::vector<double> fp_loglik;
    ItemOutcome fp;
    std::vector<ItemOutcome> q;
    double fp_seconds = 0;
    std::vector<double> case_seconds;
  };
  int64_t done = 0;
  std::mutex progress_mu;
  for (size_t t = 0; t < tasks.size(); ++t) {
    const Task& task = tasks[t];
    const size_t n_items = task.items.size();
    std::vector<ItemResult> results(n_items);
    // Items are independent (each request's fp pass and its cases' passes): spread over the threads as windows
    // are (window_parallel.h), every pass single-threaded, so no number depends on the thread count.
    engine::for_each_window(static_cast<int64_t>(n_items), [&](int64_t i) {
      thread_local std::vector<float> fp_logits, q_logits;
      const TaskItem& item = task.items[i];
      ItemResult& out = results[i];
      out.case_seconds.assign(cases.size(), 0.0);
      std::vector<ChoiceScore> fp_scores;
      std::vector<std::vector<ChoiceScore>> q_scores(cases.size());
      for (const Request& r : requests[t][i]) {
        const int64_t s = input_start(r, context);
        const int32_t* input = r.tokens.data() + s;
        const int64_t T = static_cast<int64_t>(r.tokens.size()) - 1 - s;
        const int32_t* targets = r.tokens.data() + r.tokens.size() - r.continuation;
        const int64_t first_row = T - r.continuation;  // row T - 1 predicts the last token
        fp_logits.resize(static_cast<size_t>(T * V));
        engine::ResidualNormObserver norms;
        const auto t0 = Clock::now();
        fp.forward(input, T, fp_logits.data(), &norms);
        out.fp_seconds += seconds_since(t0);
        fp_scores.push_back(score_rows(fp_logits.data() + first_row * V, V, targets, r.continuation));
        for (size_t c = 0; c < cases.size(); ++c) {
          const auto t1 = Clock::now();
          const float* logits = eval::case_logits(*engines[c], cases[c], input, T, fp_logits.data(), norms,
                                                  options.outliers.tau_tokens, &q_logits, nullptr);
          q_scores[c].push_back(score_rows(logits + first_row * V, V, targets, r.continuation));
          out.case_seconds[c] += seconds_since(t1);
        }
      }
      for (const ChoiceScore& sc : fp_scores) out.fp_loglik.push_back(sc.loglik);
      out.fp = decide(item, task.kind, fp_scores);
      for (size_t c = 0; c < cases.size(); ++c) out.q.push_back(decide(item, task.kind, q_scores[c]));
      if (options.progress) {
        std::lock_guard<std::mutex> lock(progress_mu);
        options.progress(++done, total_items);
      }
    });
    std::vector<uint8_t> fp_acc(n_items), fp_norm(n_items);
    std::vector<std::vector<uint8_t>> q_acc(cases.size(), std::vector<uint8_t>(n_items)),
        q_norm(cases.size(), std::vector<uint8_t>(n_items));
    TaskReport tr;
    tr.name = task.name;
    tr.path = task.path;
    tr.layout = task.layout;
    tr.items = static_cast<int64_t>(n_items);
    std::vector<double> case_seconds(cases.size(), 0.0);
    for (size_t i = 0; i < n_items; ++i) {  // in item order
      const ItemResult& r = results[i];
      tr.requests += static_cast<int64_t>(requests[t][i].size());
      tr.fp_loglik.push_back(r.fp_loglik);
      report.fp_seconds += r.fp_seconds;
      fp_acc[i] = r.fp.acc;
      fp_norm[i] = r.fp.acc_norm;
      for (size_t c = 0; c < cases.size(); ++c) {
        q_acc[c][i] = r.q[c].acc;
        q_norm[c][i] = r.q[c].acc_norm;
        case_seconds[c] += r.case_seconds[c];
      }
    }
    for (size_t c = 0; c < cases.size(); ++c) {
      TaskCaseResult r;
      r.scheme = cases[c].scheme.name;
      r.protection = cases[c].protection.name();
      r.label = eval::case_label(cases[c]);
      r.metrics = make_metrics(q_acc[c], q_norm[c], fp_acc, fp_norm, task.kind == TaskKind::kMultipleChoice);
      r.seconds = case_seconds[c];
      tr.cases.push_back(std::move(r));
    }
    report.tasks.push_back(std::move(tr));
  }
  report.f32_impl = fp.f32_impl();
  return report;
}

}  // namespace qh::tasks
