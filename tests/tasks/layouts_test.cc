// Every task layout read from small files written here (the harness ships no benchmark data), lm-eval's text
// handling (HellaSwag preprocessing, str.capitalize / strip), and bad files naming their line.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "src/core/error.h"
#include "src/tasks/layouts.h"
#include "src/tasks/lm_eval_text.h"

namespace qh::tasks {
namespace {

namespace fs = std::filesystem;

std::string write(const std::string& name, const std::string& text) {
  const fs::path dir = fs::temp_directory_path() / ("qh_layouts." + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / name).string();
  std::ofstream(path) << text;
  return path;
}

void expect_error(const std::string& file_text, const std::string& needle) {
  const std::string path = write("bad.jsonl", file_text);
  try {
    read_task_file(path);
    FAIL() << "no error for: " << file_text;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(LmEvalText, PythonStringMethodsAndHellaSwagPreprocess) {
  EXPECT_EQ(py_capitalize("hE IS Running"), "He is running");
  EXPECT_EQ(py_capitalize("élan ÉCOLE"), "Élan école");
  EXPECT_EQ(py_capitalize(""), "");
  EXPECT_EQ(py_strip(" \t a b \n"), "a b");
  EXPECT_EQ(py_strip("\xC2\xA0x\xE2\x80\x83"), "x");  // NBSP and EM SPACE are str.isspace
  EXPECT_EQ(py_trailing_space_bytes("ab \n"), 2u);
  EXPECT_EQ(code_points("naïve"), 5);
  EXPECT_EQ(code_points("日本"), 2);
  // strip; " [title]" -> ". " ("Intro.  How"); "[header]", "[step]" removed ("it  Step   one"); then one
  // left-to-right pass of "  " -> " " turns the three spaces before "one" into two.
  EXPECT_EQ(hellaswag_preprocess("  Intro [title] How to do it [header] Step [step]  one  "),
            "Intro. How to do it Step  one");
  EXPECT_EQ(hellaswag_preprocess("a   b"), "a  b");  // one pass of str.replace("  ", " ")
  EXPECT_EQ(hellaswag_preprocess("keep [open bracket"), "keep [open bracket");
}

TEST(TaskLayouts, HellaSwagWithAndWithoutLmEvalPreprocessing) {
  const Task t = read_task_file(write(
      "hs.jsonl",
      R"({"ctx_a": "A man is sitting on a roof.", "ctx_b": "he STARTS", "activity_label": "Roofing", "ctx": "x", "endings": ["pulling up [title] shingles.", "is dancing."], "label": "1"})"
      "\n\n"
      R"({"ctx": "She opens the door", "endings": ["and walks in.", "and flies."], "label": 0})"
      "\n"));
  EXPECT_EQ(t.layout, "hellaswag");
  EXPECT_EQ(t.name, "hs");
  ASSERT_EQ(t.items.size(), 2u);
  const TaskItem& a = t.items[0];
  EXPECT_EQ(a.line, 1);
  EXPECT_EQ(a.gold, 1);
  EXPECT_EQ(a.choices[0].context, "Roofing: A man is sitting on a roof. He starts");
  EXPECT_EQ(a.choices[0].continuation, " pulling up. shingles.");
  EXPECT_EQ(a.choices[0].norm_chars, 21);  // "pulling up. shingles." without the delimiter
  EXPECT_EQ(t.items[1].line, 3);           // the blank line is skipped but counted
  EXPECT_EQ(t.items[1].choices[1].context, "She opens the door");
  EXPECT_EQ(t.items[1].choices[1].continuation, " and flies.");
}

TEST(TaskLayouts, ArcBothFormsPiqaWinoGrandeLambadaPlain) {
  const Task arc = read_task_file(write(
      "arc.jsonl",
      R"({"question": "Which is a gas?", "choices": {"text": ["ice", "steam"], "label": ["A", "B"]}, "answerKey": "B"})"
      "\n"
      R"({"question": {"stem": "2+2?", "choices": [{"text": "4", "label": "1"}, {"text": "5", "label": "2"}]}, "answerKey": "1"})"
      "\n"));
  EXPECT_EQ(arc.layout, "arc");
  EXPECT_EQ(arc.items[0].gold, 1);
  EXPECT_EQ(arc.items[0].choices[1].context, "Question: Which is a gas?\nAnswer:");
  EXPECT_EQ(arc.items[0].choices[1].continuation, " steam");
  EXPECT_EQ(arc.items[0].choices[1].norm_chars, 5);
  EXPECT_EQ(arc.items[1].gold, 0);
  EXPECT_EQ(arc.items[1].choices[0].context, "Question: 2+2?\nAnswer:");

  const Task piqa = read_task_file(
      write("piqa.jsonl", R"({"goal": "Open a jar", "sol1": "Twist the lid.", "sol2": "Eat the lid.", "label": 0})"));
  EXPECT_EQ(piqa.layout, "piqa");
  EXPECT_EQ(piqa.items[0].choices[1].context, "Question: Open a jar\nAnswer:");
  EXPECT_EQ(piqa.items[0].choices[1].continuation, " Eat the lid.");
  EXPECT_EQ(piqa.items[0].gold, 0);

  const Task wino = read_task_file(write(
      "wino.jsonl",
      R"({"sentence": "The trophy does not fit in the case because _ is too big.", "option1": "the trophy", "option2": "the case", "answer": "2"})"));
  EXPECT_EQ(wino.layout, "winogrande");
  const TaskItem& w = wino.items[0];
  EXPECT_EQ(w.gold, 1);
  EXPECT_EQ(w.choices[0].context, "The trophy does not fit in the case because the trophy");
  EXPECT_EQ(w.choices[1].context, "The trophy does not fit in the case because the case");
  EXPECT_EQ(w.choices[0].continuation, " is too big.");  // shared: partial scoring
  EXPECT_EQ(w.choices[1].continuation, " is too big.");
  EXPECT_EQ(w.choices[1].norm_chars, 52);  // lm-eval's choices are the option-filled contexts

  const Task lam = read_task_file(write("lambada.jsonl", R"({"text": "he gave the ball to his dog"})"));
  EXPECT_EQ(lam.layout, "lambada");
  EXPECT_EQ(lam.kind, TaskKind::kGreedy);
  EXPECT_EQ(lam.items[0].choices[0].context, "he gave the ball to his");
  EXPECT_EQ(lam.items[0].choices[0].continuation, " dog");

  const Task plain = read_task_file(write("plain.jsonl", R"({"context": "1 + 1 =", "choices": [" 2", " 3"], "gold": 0})"));
  EXPECT_EQ(plain.layout, "plain");
  EXPECT_EQ(plain.items[0].choices[0].continuation, " 2");  // as given: no delimiter added
  EXPECT_EQ(plain.items[0].choices[0].norm_chars, 2);
}

TEST(TaskLayouts, BadFilesNameTheLine) {
  const std::string good = R"({"context": "a", "choices": ["b", "c"], "gold": 0})";
  expect_error(good + "\n" + good + "\n" + R"({"prompt": "x", "answer": 1})" + "\n", "bad.jsonl:3: unknown task layout");
  expect_error(good + "\nnot json\n", "bad.jsonl:2: not a JSON document");
  expect_error(good + "\n[1, 2]\n", "bad.jsonl:2: expected a JSON object");
  expect_error(good + "\n" + R"({"text": "a b"})" + "\n", "bad.jsonl:2: a lambada item in a file whose first item is plain");
  expect_error(R"({"context": "a", "choices": ["b", "c"], "gold": 2})", "bad.jsonl:1: plain item: 'gold' must be an integer in [0, 1]");
  expect_error(R"({"context": "a", "choices": [], "gold": 0})", "'choices' must be a non-empty list");
  expect_error(R"({"context": 3, "choices": ["b"], "gold": 0})", "'context' must be a string");
  expect_error(R"({"sentence": "no blank", "option1": "a", "option2": "b", "answer": "1"})", "has no '_'");
  expect_error(R"({"sentence": "a _ b", "option1": "a", "option2": "b", "answer": "3"})", "'answer' must be an integer in [1, 2]");
  expect_error(R"({"question": "q", "choices": {"text": ["a"], "label": ["A"]}, "answerKey": "C"})", "answerKey 'C' is not one");
  expect_error(R"({"ctx": "c", "endings": ["a", "b"], "label": "x"})", "'label' must be an integer");
  expect_error(R"({"text": "ends with space "})", "no last word");
  expect_error("\n\n", "no items");
  EXPECT_THROW(read_task_file("/nonexistent/tasks.jsonl"), InputError);
}

}  // namespace
}  // namespace qh::tasks
