// Tasks and perplexity protocols end to end: `qharness eval --task` and `qharness run` with a `tasks:` list on a
// byte-level text checkpoint (random weights: the numbers are checked elsewhere, here the plumbing, the JSON
// keys, the report tables and the exit-2 errors).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "models/checkpoint.h"
#include "models/tokenizer/load.h"
#include "reports/results.h"
#include "tests/engine/tiny_models.h"
#include "tests/command.h"

namespace qh {
namespace {

namespace fs = std::filesystem;

using qh::testutil::Command;
Command run(const std::string& args) { return qh::testutil::qharness(args); }

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class TasksCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::path(::testing::TempDir()) / ("qh_tasks_cli." + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ArchSpec a = enginetest::tiny_spec();
    a.vocab_size = 257;
    a.context = 64;
    a.bos_token_id = 256;
    a.recipe_json = R"({"task": "text", "data": "text:corpus.txt,len=32"})";
    save_checkpoint((dir_ / "text").string(), enginetest::random_model(a, 5));
    ArchSpec b = enginetest::tiny_spec();
    b.recipe_json = R"({"task": "bb", "data": "bb:seed=3,seqs=3,len=24,k=3,vocab=39"})";
    save_checkpoint((dir_ / "bb").string(), enginetest::random_model(b, 6));
    // A checkpoint folder with GPT-2's tokenizer.json (random weights over its 50257 ids), and one whose
    // vocabulary is too small for that tokenizer.
    const fs::path gpt2 = fs::path(QH_SOURCE_DIR) / "tests/tokenizer/data/gpt2/tokenizer.json";
    ArchSpec g = enginetest::tiny_spec();
    g.num_layers = 1;
    g.vocab_size = 50257;
    g.context = 64;
    g.bos_token_id = 50256;
    save_checkpoint((dir_ / "gpt2").string(), enginetest::random_model(g, 7));
    fs::copy_file(gpt2, dir_ / "gpt2" / "tokenizer.json");
    g.vocab_size = 1000;
    g.bos_token_id = 999;
    save_checkpoint((dir_ / "small").string(), enginetest::random_model(g, 8));
    fs::copy_file(gpt2, dir_ / "small" / "tokenizer.json");
    std::ofstream(dir_ / "corpus.txt") << "the cat sat on the mat and the dog sat on the log; the sun is hot.\n";
    std::ofstream(dir_ / "piqa.jsonl")
        << R"({"goal": "Open a jar", "sol1": "Twist the lid.", "sol2": "Eat the lid.", "label": 0})" << "\n"
        << R"({"goal": "Dry hands", "sol1": "Use a towel.", "sol2": "Use water.", "label": 0})" << "\n"
        << R"({"goal": "Cut bread", "sol1": "Use a spoon.", "sol2": "Use a knife.", "label": 1})" << "\n";
    std::ofstream(dir_ / "lambada.jsonl") << R"({"text": "the cat sat on the mat"})" << "\n"
                                          << R"({"text": "the sun is hot"})" << "\n";
    std::ofstream(dir_ / "bad.jsonl") << R"({"context": "a", "choices": ["b"], "gold": 0})" << "\n"
                                      << R"({"question_text": "?"})" << "\n";
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string p(const std::string& name) { return (dir_ / name).string(); }
  static fs::path dir_;
};
fs::path TasksCli::dir_;

TEST_F(TasksCli, EvalReportsAccuracyAndDropsPerTaskAndScheme) {
  const Command c = run("eval " + p("text") + " --task " + p("piqa.jsonl") + " --task " + p("lambada.jsonl") +
                        " --scheme W8A8 --scheme W4A4 --json " + p("tasks.json"));
  ASSERT_EQ(c.exit_code, 0) << c.output;
  EXPECT_NE(c.output.find("tokenizer bytes"), std::string::npos) << c.output;
  const nlohmann::json j = nlohmann::json::parse(slurp(dir_ / "tasks.json"));
  EXPECT_EQ(j["tokenizer"], "bytes");
  ASSERT_EQ(j["tasks"].size(), 2u);
  EXPECT_EQ(j["tasks"][0]["layout"], "piqa");
  EXPECT_EQ(j["tasks"][0]["items"], 3);
  EXPECT_EQ(j["tasks"][0]["requests"], 6);
  ASSERT_EQ(j["tasks"][0]["cases"].size(), 2u);
  for (const char* key : {"acc", "acc_norm", "acc_stderr", "acc_norm_stderr", "acc_drop", "acc_norm_drop",
                          "acc_drop_lo", "acc_drop_hi", "acc_drop_p", "acc_fp"})
    EXPECT_TRUE(j["tasks"][0]["cases"][1].contains(key)) << key;
  EXPECT_TRUE(j["tasks"][1]["cases"][0]["acc_norm"].is_null());  // LAMBADA: greedy match only
  EXPECT_FALSE(j.contains("cases"));  // no --data: tasks only
}

TEST_F(TasksCli, ACheckpointsTokenizerJsonTokenizesTheTasks) {
  Command c = run("eval " + p("gpt2") + " --task " + p("piqa.jsonl") + " --scheme W8A8 --quiet --json " +
                  p("gpt2.json"));
  ASSERT_EQ(c.exit_code, 0) << c.output;
  const nlohmann::json j = nlohmann::json::parse(slurp(dir_ / "gpt2.json"));
  EXPECT_NE(j["tokenizer"].get<std::string>().find("tokenizer.json"), std::string::npos) << j["tokenizer"];
  EXPECT_EQ(j["tasks"][0]["cases"][0]["n_items"], 3);
  c = run("eval " + p("small") + " --task " + p("piqa.jsonl") + " --scheme W8A8");
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("ids but the model's vocabulary has 1000"), std::string::npos) << c.output;
  c = run("eval " + p("text") + " --task " + p("piqa.jsonl") + " --tokenizer " + p("missing.json") +
          " --scheme W8A8");
  EXPECT_EQ(c.exit_code, 2) << c.output;
}

TEST_F(TasksCli, EvalPerplexityProtocols) {
  for (const char* protocol : {"windows", "strided:8", "half"}) {
    const Command c = run("eval " + p("text") + " --data text:" + p("corpus.txt") + " --window 16 --protocol " +
                          protocol + " --scheme W8A8 --quiet --json " + p("ppl.json"));
    ASSERT_EQ(c.exit_code, 0) << protocol << ": " << c.output;
    const nlohmann::json j = nlohmann::json::parse(slurp(dir_ / "ppl.json"));
    EXPECT_EQ(j["protocol"], protocol);
    EXPECT_EQ(j["tokenizer"], "bytes");
  }
}

TEST_F(TasksCli, BadInputExitsWithTwo) {
  Command c = run("eval " + p("text") + " --task " + p("bad.jsonl") + " --scheme W8A8");
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("bad.jsonl:2: unknown task layout"), std::string::npos) << c.output;
  c = run("eval " + p("bb") + " --task " + p("piqa.jsonl") + " --scheme W8A8");  // not a text model
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("no tokenizer"), std::string::npos) << c.output;
  c = run("eval " + p("text") + " --data text:" + p("corpus.txt") + " --protocol strided:0 --scheme W8A8");
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("strided:0"), std::string::npos) << c.output;
  c = run("eval " + p("text") + " --task " + p("missing.jsonl") + " --scheme W8A8");
  EXPECT_EQ(c.exit_code, 2) << c.output;
}

TEST_F(TasksCli, SuiteWithTasksRunsChecksAndReportsAccuracyTables) {
  // Task files (and data files) named relatively resolve against the suite's folder; the data is named absolutely.
  std::ofstream(dir_ / "suite.yaml") << "name: tasks\n"
                                        "models: [{name: text, path: text}]\n"
                                        "data: [\"text:" + p("corpus.txt") + ",len=32\"]\n"
                                        "tasks: [piqa.jsonl, lambada.jsonl]\n"
                                        "schemes: [W8A8, W4A4]\n"
                                        "eval: {protocol: \"strided:8\", window: 16}\n"
                                        "thresholds:\n"
                                        "  \"*\": {max_acc_drop: 100, max_kld_mean: 100}\n";
  const Command c = run("run " + p("suite.yaml") + " --out " + p("out") + " --quiet --threads 1");
  ASSERT_EQ(c.exit_code, 0) << c.output;
  const auto r = reports::read_results(p("out/results.json"));
  EXPECT_EQ(r.cases.size(), 3u * 2u);  // (text data, piqa, lambada) x schemes
  const auto* piqa = r.find_case("text", "task:" + p("piqa.jsonl"), "W4A4", "none");
  ASSERT_NE(piqa, nullptr);
  EXPECT_TRUE(piqa->metric("acc").has_value());
  EXPECT_TRUE(piqa->metric("acc_drop").has_value());
  EXPECT_EQ(piqa->tokenizer, "bytes");
  EXPECT_EQ(piqa->protocol, "task piqa");
  const auto* text = r.find_case("text", "text:" + p("corpus.txt") + ",len=32", "W8A8", "none");
  ASSERT_NE(text, nullptr);
  EXPECT_EQ(text->protocol, "strided:8 W=16");
  EXPECT_FALSE(text->metric("acc").has_value());
  // Thresholds apply to the cases that have the metric: kld on the text data, the accuracy drop on the tasks.
  EXPECT_EQ(r.verdicts.size(), 2u * 1u + 2u * 2u);
  EXPECT_TRUE(r.all_passed());
  const std::string md = slurp(dir_ / "out" / "report.md");
  EXPECT_NE(md.find("## Task accuracy (%)"), std::string::npos);
  EXPECT_NE(md.find("| model | scheme | piqa | lambada | average |"), std::string::npos) << md;
  EXPECT_NE(md.find("tokenizer bytes, protocol strided:8 W=16"), std::string::npos) << md;
  EXPECT_NE(slurp(dir_ / "out" / "report.html").find("Task accuracy (%)"), std::string::npos);
}

// A suite on a checkpoint folder holding a tokenizer.json (GPT-2's, over random weights): its text data and its
// task are tokenized with that tokenizer, not as bytes, and results.json and the report header say so.
TEST_F(TasksCli, SuiteWithTasksOnACheckpointWithItsOwnTokenizerJson) {
  std::ofstream(dir_ / "hf_suite.yaml") << "name: hf\n"
                                           "models: [{name: g, path: gpt2}]\n"
                                           "data: [\"text:corpus.txt,len=32\"]\n"
                                           "tasks: [piqa.jsonl]\n"
                                           "schemes: [W8A8]\n";
  const Command c = run("run " + p("hf_suite.yaml") + " --out " + p("hf_out") + " --quiet --threads 1");
  ASSERT_EQ(c.exit_code, 0) << c.output;
  const auto r = reports::read_results(p("hf_out/results.json"));
  ASSERT_EQ(r.cases.size(), 2u);  // (text data, piqa) x W8A8
  const auto* text = r.find_case("g", "text:corpus.txt,len=32", "W8A8", "none");
  const auto* piqa = r.find_case("g", "task:" + p("piqa.jsonl"), "W8A8", "none");
  ASSERT_NE(text, nullptr);
  ASSERT_NE(piqa, nullptr);
  for (const auto* k : {text, piqa}) {
    EXPECT_NE(k->tokenizer.find("hf-bpe tokenizer.json sha256:"), std::string::npos) << k->tokenizer;
    EXPECT_NE(k->tokenizer.find("vocab=50257"), std::string::npos) << k->tokenizer;
  }
  // GPT-2 adds no BOS: one sequence of the text's ids, every next token scored (bytes would score 67).
  const auto ids = tok::load_tokenizer(p("gpt2"))->encode(slurp(dir_ / "corpus.txt"), false);
  ASSERT_LT(ids.size(), 32u);
  ASSERT_TRUE(text->metric("n_tokens").has_value());
  EXPECT_EQ(*text->metric("n_tokens"), static_cast<double>(ids.size() - 1));
  EXPECT_TRUE(piqa->metric("acc").has_value());
  EXPECT_EQ(piqa->protocol, "task piqa");
  const std::string md = slurp(dir_ / "hf_out" / "report.md");
  EXPECT_NE(md.find("tokenizer hf-bpe tokenizer.json sha256:"), std::string::npos) << md;
  EXPECT_NE(md.find("## Task accuracy (%)"), std::string::npos) << md;
}

TEST_F(TasksCli, SuiteValidatesTaskFilesAndTaskThresholds) {
  std::ofstream(dir_ / "bad_suite.yaml") << "models: [{name: text, path: text}]\n"
                                            "tasks:\n"
                                            "  - piqa.jsonl\n"
                                            "  - bad.jsonl\n"
                                            "schemes: [W8A8]\n";
  Command c = run("run " + p("bad_suite.yaml") + " --out " + p("bad_out") + " --quiet");
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("bad_suite.yaml:4:5: tasks[1]:"), std::string::npos) << c.output;
  EXPECT_NE(c.output.find("bad.jsonl:2: unknown task layout"), std::string::npos) << c.output;
  std::ofstream(dir_ / "no_tasks.yaml") << "models: [{name: text, path: text}]\n"
                                           "data: [\"text:" + p("corpus.txt") + "\"]\n"
                                           "schemes: [W8A8]\n"
                                           "thresholds: {W8A8: {max_acc_drop: 1.5}}\n";
  c = run("run " + p("no_tasks.yaml") + " --out " + p("bad_out") + " --quiet");
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("no_tasks.yaml:4:21: thresholds.W8A8.max_acc_drop: 'acc_drop' is a task metric"),
            std::string::npos)
      << c.output;
}

}  // namespace
}  // namespace qh
