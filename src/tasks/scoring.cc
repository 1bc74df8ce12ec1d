#include "src/tasks/scoring.h"

#include <cmath>

#include "src/core/error.h"
#include "src/eval/log_probs.h"
#include "src/eval/metrics.h"

namespace qh::tasks {

ChoiceScore score_rows(const float* rows, int64_t vocab, const int32_t* targets, int64_t n) {
  ChoiceScore s;
  s.greedy = true;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = rows + i * vocab;
    s.loglik += double(row[targets[i]]) - eval::log_sum_exp(row, vocab);  // log_softmax(row)[target]
    s.greedy = s.greedy && eval::argmax(row, vocab) == targets[i];
  }
  return s;
}

namespace {
// The first maximum, as numpy.argmax; a NaN score (non-finite logits) is never chosen over a number (numpy
// would pick the NaN).
size_t first_max(const std::vector<double>& v) {
  size_t best = 0;
  for (size_t i = 1; i < v.size(); ++i) {
    if (v[i] > v[best] || (std::isnan(v[best]) && !std::isnan(v[i]))) best = i;
  }
  return best;
}
}  // namespace

ItemOutcome decide(const TaskItem& item, TaskKind kind, const std::vector<ChoiceScore>& scores) {
  QH_CHECK(scores.size() == item.choices.size() && !scores.empty());
  ItemOutcome o;
  if (kind == TaskKind::kGreedy) {
    o.acc = o.acc_norm = scores[0].greedy;
    return o;
  }
  std::vector<double> ll, norm;
  for (size_t i = 0; i < scores.size(); ++i) {
    ll.push_back(scores[i].loglik);
    norm.push_back(scores[i].loglik / static_cast<double>(item.choices[i].norm_chars));
  }
  o.acc = first_max(ll) == static_cast<size_t>(item.gold);
  o.acc_norm = first_max(norm) == static_cast<size_t>(item.gold);
  return o;
}

}  // namespace qh::tasks
