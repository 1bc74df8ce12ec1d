// Scoring one request from a forward's logits, and an item's decisions from its choices' scores.
//   loglik = sum over continuation tokens of log_softmax(row)[token] (double, computed stably);
//   greedy = every continuation token is its row's argmax (ties: the lowest id, as torch.argmax).
//   acc: argmax_i loglik_i == gold; acc_norm: argmax_i loglik_i / norm_chars_i == gold (ties: the first
//   choice, as numpy.argmax); a greedy (cloze) task: acc = greedy of its one choice.
#pragma once

#include <cstdint>
#include <vector>

#include "src/tasks/task.h"

namespace qh::tasks {

struct ChoiceScore {
  double loglik = 0;
  bool greedy = false;
};

// rows: logits [n, vocab] of the rows predicting targets[0..n).
ChoiceScore score_rows(const float* rows, int64_t vocab, const int32_t* targets, int64_t n);

struct ItemOutcome {
  bool acc = false, acc_norm = false;
};
ItemOutcome decide(const TaskItem& item, TaskKind kind, const std::vector<ChoiceScore>& scores);

}  // namespace qh::tasks
