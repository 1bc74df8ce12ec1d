// Task accuracy of each case (scheme + protection) against the fp model: every choice of every item is one
// forward of prefix + context + continuation (the engine runs one sequence at a time, without a KV cache, so
// choices that share a context cannot share its pass); the fp forward of a request is shared by all cases, and
// its residual norms give the sink rows for token protection. Static scales and outlier channels are calibrated
// on the first outliers.calib_sequences requests (first choice of the first items of the first task).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/model.h"
#include "models/tokenizer/tokenizer.h"
#include "src/engine/engine.h"
#include "src/eval/evaluator.h"
#include "src/tasks/statistics.h"
#include "src/tasks/task.h"

namespace qh::tasks {

// What the numbers are, for results and report headers.
inline constexpr const char* kTaskProtocol =
    "log-likelihood of each continuation given its context (lm-eval encoding); acc_norm divides by the "
    "choice's length in characters";

struct TaskOptions {
  engine::OutlierSettings outliers;  // sink tokens, protected channels, calibration items
  bool force_fake_quant = false;
  std::function<void(int64_t done, int64_t total)> progress;  // items over all tasks
};

// Accuracies in [0, 1]; drops in points (100 x (fp - quant)); acc_norm is undefined (NaN, null in JSON) for a
// greedy (cloze) task.
struct TaskMetrics {
  int64_t n_items = 0;
  bool has_norm = true;
  Accuracy acc, acc_norm, acc_fp, acc_norm_fp;
  PairedDrop acc_drop, acc_norm_drop;
  // acc, acc_stderr, acc_norm, acc_norm_stderr, acc_fp, acc_norm_fp, acc_drop, acc_drop_lo, acc_drop_hi,
  // acc_drop_p, acc_norm_drop, acc_norm_drop_lo, acc_norm_drop_hi, acc_norm_drop_p, n_items.
  nlohmann::json to_json() const;
};

struct TaskCaseResult {
  std::string label, scheme, protection;
  TaskMetrics metrics;
  double seconds = 0;  // this case's forwards
  nlohmann::json to_json() const;
};

struct TaskReport {
  std::string name, path, layout;
  int64_t items = 0, requests = 0;
  std::vector<TaskCaseResult> cases;
  std::vector<std::vector<double>> fp_loglik;  // [item][choice] log-likelihoods of the fp model
};

struct TasksReport {
  std::string tokenizer;  // Tokenizer::describe()
  std::vector<TaskReport> tasks;
  double fp_seconds = 0;
  std::string f32_impl;
};

// Throws InputError before any forward on a tokenizer whose ids do not fit the model, or a request that
// cannot be scored (named by file:line).
TasksReport evaluate_tasks(const qh::Model& model, const tok::Tokenizer& tokenizer, const std::vector<Task>& tasks,
                           const std::vector<eval::EvalCase>& cases, const TaskOptions& options);

// Throws InputError when the tokenizer can produce ids the model has no embedding for.
void check_vocabulary(const tok::Tokenizer& tokenizer, const qh::Model& model);

}  // namespace qh::tasks
