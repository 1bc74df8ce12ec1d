// A multiple-choice or cloze task as the scorer sees it, whatever layout its file had: items, each with one
// (context, continuation) request per choice. Shared contexts (HellaSwag, ARC, PIQA, plain) repeat the context
// in every choice; WinoGrande's partial scoring has one context per option and a shared continuation; LAMBADA
// has one choice scored by greedy match.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qh::tasks {

struct Choice {
  std::string context;       // the text the continuation is conditioned on
  std::string continuation;  // the text whose log-likelihood is scored (delimiter included, as lm-eval does)
  // lm-eval's acc_norm divides the log-likelihood by the length of the choice string in characters (Unicode
  // code points) of doc_to_choice, which excludes the target delimiter: " Paris" scores, "Paris" normalises.
  int64_t norm_chars = 0;
};

struct TaskItem {
  std::vector<Choice> choices;
  int gold = 0;     // index into choices
  int64_t line = 0; // 1-based line of the task file
};

enum class TaskKind {
  kMultipleChoice,  // acc = argmax log-likelihood == gold; acc_norm = argmax of log-likelihood / norm_chars
  kGreedy,          // one choice; acc = every continuation token is the model's argmax (LAMBADA)
};

struct Task {
  std::string path;    // the task file
  std::string name;    // file stem, shown in tables
  std::string layout;  // "hellaswag" | "arc" | "piqa" | "winogrande" | "lambada" | "plain"
  TaskKind kind = TaskKind::kMultipleChoice;
  std::vector<TaskItem> items;
};

}  // namespace qh::tasks
