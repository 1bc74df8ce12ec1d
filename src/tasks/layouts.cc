#include "src/tasks/layouts.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "src/core/error.h"
#include "src/tasks/lm_eval_text.h"

namespace qh::tasks {

using nlohmann::json;

const std::vector<std::string>& layout_names() {
  static const std::vector<std::string> names = {"hellaswag", "arc", "piqa", "winogrande", "lambada", "plain"};
  return names;
}

namespace {

// One line being read: messages start "FILE:LINE: <layout> item: ".
struct Line {
  const json& doc;
  std::string where;
  std::string layout;

  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(where + ": " + layout + " item: " + what);
  }
  const json& at(const char* key) const {
    if (!doc.contains(key) || doc.at(key).is_null()) fail(std::string("missing '") + key + "'");
    return doc.at(key);
  }
  std::string text(const char* key) const { return text_of(at(key), key); }
  std::string text_of(const json& v, const std::string& what) const {
    if (!v.is_string()) fail("'" + what + "' must be a string, got " + v.dump().substr(0, 60));
    return v.get<std::string>();
  }
  std::vector<std::string> texts(const json& v, const std::string& what) const {
    if (!v.is_array() || v.empty()) fail("'" + what + "' must be a non-empty list of strings");
    std::vector<std::string> out;
    for (size_t i = 0; i < v.size(); ++i) out.push_back(text_of(v[i], what + "[" + std::to_string(i) + "]"));
    return out;
  }
  // An index given as an integer or a string of digits, in [offset, offset + n).
  int index(const char* key, int64_t offset, size_t n) const {
    const json& v = at(key);
    int64_t i = -1;
    if (v.is_number_integer()) {
      i = v.get<int64_t>();
    } else if (v.is_string()) {
      const std::string s = v.get<std::string>();
      if (!s.empty() && s.size() < 10 && s.find_first_not_of("0123456789") == std::string::npos) i = std::stoll(s);
    }
    if (i < offset || i >= offset + static_cast<int64_t>(n))
      fail("'" + std::string(key) + "' must be an integer in [" + std::to_string(offset) + ", " +
           std::to_string(offset + static_cast<int64_t>(n) - 1) + "], got " + v.dump().substr(0, 60));
    return static_cast<int>(i - offset);
  }
};

std::string detect_layout(const json& d) {
  auto has = [&](const char* k) { return d.contains(k); };
  if (has("context") && has("choices") && has("gold")) return "plain";
  if (has("endings") && (has("ctx") || has("ctx_a")) && has("label")) return "hellaswag";
  if (has("question") && has("answerKey")) return "arc";
  if (has("goal") && has("sol1") && has("sol2")) return "piqa";
  if (has("sentence") && has("option1") && has("option2") && has("answer")) return "winogrande";
  if (has("text")) return "lambada";
  return "";
}

// Choices that share one context, each continuation " " + choice (lm-eval's target delimiter).
TaskItem shared_context(const std::string& context, const std::vector<std::string>& choices, int gold,
                        const std::string& delimiter) {
  TaskItem item;
  for (const auto& c : choices) item.choices.push_back({context, delimiter + c, code_points(c)});
  item.gold = gold;
  return item;
}

TaskItem hellaswag(const Line& l) {
  const std::vector<std::string> endings = l.texts(l.at("endings"), "endings");
  const int gold = l.index("label", 0, endings.size());
  if (l.doc.contains("ctx_a") && l.doc.contains("ctx_b") && l.doc.contains("activity_label")) {
    const std::string ctx = l.text("ctx_a") + " " + py_capitalize(l.text("ctx_b"));
    std::vector<std::string> choices;
    for (const auto& e : endings) choices.push_back(hellaswag_preprocess(e));
    return shared_context(hellaswag_preprocess(l.text("activity_label") + ": " + ctx), choices, gold, " ");
  }
  return shared_context(l.text("ctx"), endings, gold, " ");
}

TaskItem arc(const Line& l) {
  const json& q = l.at("question");
  std::string question;
  std::vector<std::string> texts, labels;
  if (q.is_object()) {  // the original ARC form
    question = l.text_of(q.contains("stem") ? q.at("stem") : json(), "question.stem");
    const json& cs = q.contains("choices") ? q.at("choices") : json();
    if (!cs.is_array() || cs.empty()) l.fail("'question.choices' must be a non-empty list of {text, label}");
    for (size_t i = 0; i < cs.size(); ++i) {
      const std::string p = "question.choices[" + std::to_string(i) + "]";
      if (!cs[i].is_object()) l.fail("'" + p + "' must be an object {text, label}");
      texts.push_back(l.text_of(cs[i].contains("text") ? cs[i].at("text") : json(), p + ".text"));
      labels.push_back(l.text_of(cs[i].contains("label") ? cs[i].at("label") : json(), p + ".label"));
    }
  } else {
    question = l.text_of(q, "question");
    const json& cs = l.at("choices");
    if (!cs.is_object() || !cs.contains("text") || !cs.contains("label"))
      l.fail("'choices' must be an object {\"text\": [...], \"label\": [...]}");
    texts = l.texts(cs.at("text"), "choices.text");
    labels = l.texts(cs.at("label"), "choices.label");
    if (texts.size() != labels.size()) l.fail("'choices.text' and 'choices.label' differ in length");
  }
  const json& key = l.at("answerKey");
  const std::string answer = key.is_number_integer() ? std::to_string(key.get<int64_t>()) : l.text_of(key, "answerKey");
  int gold = -1;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] == answer) gold = static_cast<int>(i);
  }
  if (gold < 0) l.fail("answerKey '" + answer + "' is not one of the choice labels");
  return shared_context("Question: " + question + "\nAnswer:", texts, gold, " ");
}

TaskItem piqa(const Line& l) {
  return shared_context("Question: " + l.text("goal") + "\nAnswer:", {l.text("sol1"), l.text("sol2")},
                        l.index("label", 0, 2), " ");
}

TaskItem winogrande(const Line& l) {
  const std::string sentence = l.text("sentence");
  const size_t blank = sentence.find('_');
  if (blank == std::string::npos) l.fail("'sentence' has no '_' to fill");
  const std::string continuation = " " + py_strip(sentence.substr(blank + 1));
  TaskItem item;
  for (const char* key : {"option1", "option2"}) {
    const std::string context = sentence.substr(0, blank) + l.text(key);
    item.choices.push_back({context, continuation, code_points(context)});
  }
  item.gold = l.index("answer", 1, 2);
  return item;
}

TaskItem lambada(const Line& l) {
  const std::string text = l.text("text");
  const size_t last = text.rfind(' ');
  TaskItem item;
  const std::string context = last == std::string::npos ? "" : text.substr(0, last);
  const std::string word = last == std::string::npos ? text : text.substr(last + 1);
  if (word.empty()) l.fail("'text' ends with a space: there is no last word to predict");
  item.choices.push_back({context, " " + word, code_points(word)});
  return item;
}

TaskItem plain(const Line& l) {
  const std::vector<std::string> choices = l.texts(l.at("choices"), "choices");
  return shared_context(l.text("context"), choices, l.index("gold", 0, choices.size()), "");
}

}  // namespace

Task read_task_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("task file " + path + ": cannot open it");
  Task task;
  task.path = path;
  task.name = std::filesystem::path(path).stem().string();
  std::string text;
  int64_t line_no = 0;
  while (std::getline(in, text)) {
    ++line_no;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (py_strip(text).empty()) continue;
    const std::string where = path + ":" + std::to_string(line_no);
    json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded())
      throw InputError(where + ": not a JSON document (a task file has one JSON object per line)");
    if (!doc.is_object()) throw InputError(where + ": expected a JSON object, got " + doc.dump().substr(0, 60));
    const std::string layout = detect_layout(doc);
    if (layout.empty())
      throw InputError(where + ": unknown task layout (keys of: HellaSwag ctx/endings/label, ARC "
                               "question/choices/answerKey, PIQA goal/sol1/sol2/label, WinoGrande "
                               "sentence/option1/option2/answer, LAMBADA text, or context/choices/gold)");
    if (task.layout.empty()) task.layout = layout;
    if (layout != task.layout)
      throw InputError(where + ": a " + layout + " item in a file whose first item is " + task.layout);
    const Line l{doc, where, layout};
    TaskItem item = layout == "hellaswag"    ? hellaswag(l)
                    : layout == "arc"        ? arc(l)
                    : layout == "piqa"       ? piqa(l)
                    : layout == "winogrande" ? winogrande(l)
                    : layout == "lambada"    ? lambada(l)
                                             : plain(l);
    for (const Choice& c : item.choices) {
      if (!valid_utf8(c.context) || !valid_utf8(c.continuation)) l.fail("text is not valid UTF-8");
    }
    item.line = line_no;
    task.items.push_back(std::move(item));
  }
  if (task.items.empty()) throw InputError("task file " + path + ": no items");
  task.kind = task.layout == "lambada" ? TaskKind::kGreedy : TaskKind::kMultipleChoice;
  return task;
}

}  // namespace qh::tasks
