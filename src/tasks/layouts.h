// Task files: JSONL, one document per line (blank lines skipped), in one of the layouts users have:
//   hellaswag   {"ctx", "endings", "label"}; with "ctx_a", "ctx_b", "activity_label" lm-eval's preprocessing:
//               query = preprocess(activity_label + ": " + ctx_a + " " + capitalize(ctx_b)), choices =
//               preprocess(endings); without them the context is "ctx" and the choices the endings as given.
//   arc         {"question", "choices": {"text": [...], "label": [...]}, "answerKey"} (also the original ARC
//               form {"question": {"stem", "choices": [{"text", "label"}]}, "answerKey"}):
//               "Question: <question>\nAnswer:" + " <choice>"
//   piqa        {"goal", "sol1", "sol2", "label"}: "Question: <goal>\nAnswer:" + " <sol>"
//   winogrande  {"sentence", "option1", "option2", "answer": "1"|"2"}: partial scoring as lm-eval: context =
//               sentence up to "_" + option, continuation = " " + the stripped rest after "_", shared
//               by both options
//   lambada     {"text"}: context = all words but the last (split on " "), continuation = " " + last word;
//               acc = greedy match of the whole continuation
//   plain       {"context", "choices": [...], "gold": i}: continuations are the choices exactly as given
// Labels may be integers or strings of digits. The layout is recognised by its keys, line by line; every line
// must have the file's layout. Any problem is an InputError naming the file and line.
#pragma once

#include <string>
#include <vector>

#include "src/tasks/task.h"

namespace qh::tasks {

Task read_task_file(const std::string& path);

// The layout names, for help texts.
const std::vector<std::string>& layout_names();

}  // namespace qh::tasks
