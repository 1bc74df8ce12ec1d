// Hostile and mistaken input, end to end: every case must exit with code 2 and one clear line (file, field, what
// was expected) before any expensive work, never crash, never mean something else silently. Also the stated
// limits (threads, data size) and that --sequences bounds every kind of data.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "models/checkpoint.h"
#include "reports/results.h"
#include "src/core/limits.h"
#include "tests/engine/tiny_models.h"
#include "tests/command.h"

namespace qh {
namespace {

namespace fs = std::filesystem;

using qh::testutil::Command;
Command run(const std::string& args) { return qh::testutil::qharness(args); }

void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

#define EXPECT_BAD_INPUT(cmd, needle)                                                  \
  do {                                                                                 \
    const Command c_ = (cmd);                                                          \
    EXPECT_EQ(c_.exit_code, 2) << c_.output;                                           \
    EXPECT_NE(c_.output.find(needle), std::string::npos) << "expected '" << (needle) << "' in: " << c_.output; \
  } while (0)

class BadInput : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::path(::testing::TempDir()) / ("qh_bad_input." + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "sub");
    ArchSpec a = enginetest::tiny_spec();
    a.recipe_json = R"({"task": "bb", "data": "bb:seed=3,seqs=3,len=24,k=3,vocab=39"})";
    save_checkpoint((dir_ / "ckpt").string(), enginetest::random_model(a, 77));
    // 200 ids below the vocabulary of 40, as one flat u16 stream.
    std::ofstream ids(dir_ / "sub" / "ids.u16", std::ios::binary);
    for (int i = 0; i < 200; ++i) {
      const uint16_t id = static_cast<uint16_t>((i * 5) % 39);
      ids.write(reinterpret_cast<const char*>(&id), 2);
    }
    ids.close();
    write(dir_ / "zoo.yaml",
          "version: 1\n"
          "defaults: {task: bb, vocab: 16, k: 2, seq_len: 32, d_model: 16, heads: 1, layers: 1, steps: 40}\n"
          "models:\n"
          "  - {name: tiny}\n");
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string ckpt() { return (dir_ / "ckpt").string(); }
  // A suite in dir_ (zoo.yaml next to it; the zoo cache in dir_/cache) with `body` after the zoo line.
  static std::string suite(const std::string& name, const std::string& body) {
    write(dir_ / name, "zoo: zoo.yaml\n" + body);
    return (dir_ / name).string();
  }
  static std::string run_args(const std::string& suite_file, const std::string& out = "out") {
    return "run " + suite_file + " --out " + (dir_ / out).string() + " --cache " + (dir_ / "cache").string() +
           " --quiet --jobs 1";
  }
  static bool zoo_trained() { return fs::exists(dir_ / "cache") && !fs::is_empty(dir_ / "cache"); }
  static fs::path dir_;
};
fs::path BadInput::dir_;

// Result files of a schema version this build does not read, or of another kind (an audit.json, an eval
// --json file), are refused by every reader (compare, merge, --baseline) with exit 2 naming the field.
TEST_F(BadInput, ResultFilesOfAnotherVersionOrKindAreRefused) {
  write(dir_ / "newer.json", "{\"schema_version\": 999, \"cases\": []}");
  write(dir_ / "older.json", "{\"schema_version\": 0, \"cases\": []}");
  write(dir_ / "audit.json", "{\"schema_version\": 1, \"kind\": \"audit\"}");
  const std::string newer = (dir_ / "newer.json").string(), older = (dir_ / "older.json").string();
  EXPECT_BAD_INPUT(run("compare " + newer + " " + newer), "schema_version: unsupported version 999: written by a newer");
  EXPECT_BAD_INPUT(run("compare " + older + " " + older), "written by an older qharness");
  EXPECT_BAD_INPUT(run("merge " + newer + " --out " + (dir_ / "merged").string()), "written by a newer");
  EXPECT_BAD_INPUT(run("compare " + (dir_ / "audit.json").string() + " " + newer),
                   "kind: the file's kind is 'audit'; expected 'results'");
}

TEST_F(BadInput, DataSpecsNamingADirectoryAreRefused) {
  EXPECT_BAD_INPUT(run("eval " + ckpt() + " --data text:" + dir_.string() + " --scheme W8A8"), "is a directory");
  EXPECT_BAD_INPUT(run("eval " + ckpt() + " --data tokens:" + dir_.string() + " --scheme W8A8"), "is a directory");
  EXPECT_BAD_INPUT(run("audit " + ckpt() + " --data text:" + dir_.string()), "is a directory");
}

TEST_F(BadInput, ThreadCountsAboveTheLimitAreRefused) {
  const std::string over = std::to_string(kMaxThreads + 1);
  EXPECT_BAD_INPUT(run("eval " + ckpt() + " --scheme W8A8 --threads 100000"), "--threads 100000");
  EXPECT_BAD_INPUT(run("eval " + ckpt() + " --scheme W8A8 --threads " + over), std::to_string(kMaxThreads));
  EXPECT_BAD_INPUT(run("audit " + ckpt() + " --threads 100000"), "--threads 100000");
  EXPECT_BAD_INPUT(run("train --task bb --out " + (dir_ / "t").string() + " --threads 100000"), "--threads 100000");
  const std::string s = suite("threads.yaml", "models: [tiny]\ndata: \"bb:seqs=2,len=32,vocab=16,k=2\"\nschemes: [W8A8]\n");
  EXPECT_BAD_INPUT(run(run_args(s) + " --threads 100000"), "--threads 100000");
  EXPECT_BAD_INPUT(run("run " + s + " --out " + (dir_ / "out").string() + " --jobs 100000"), "--jobs 100000");
  EXPECT_FALSE(zoo_trained());
}

TEST_F(BadInput, NegativeSequenceCountsAreRefused) {
  EXPECT_BAD_INPUT(run("eval " + ckpt() + " --scheme W8A8 --sequences -1"), "--sequences -1");
  EXPECT_BAD_INPUT(run("audit " + ckpt() + " --max-seqs -4"), "--max-seqs -4");
}

TEST_F(BadInput, AHugeBbSpecIsRefusedBeforeAnythingIsGenerated) {
  const Command c = run("eval " + ckpt() + " --data bb:seqs=10000000,len=256,vocab=39,k=3 --scheme W8A8");
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("more than the " + std::to_string(kMaxDataTokens)), std::string::npos) << c.output;
  EXPECT_LT(c.seconds, 10.0);  // refused from the spec, not after generating gigabytes
}

// The memory estimate is checked before the checkpoint is loaded: an evaluation that cannot fit is refused
// with exit 2 naming the checkpoint, the estimate and the available figure.
TEST_F(BadInput, AnEvaluationThatDoesNotFitInMemoryIsRefused) {
  for (const std::string window : {" --window 16", ""}) {
    const Command c = run("eval " + ckpt() + " --scheme W8A8 --max-memory 64k" + window);
    EXPECT_EQ(c.exit_code, 2) << c.output;
    for (const char* needle : {"does not fit in memory: needs about weights", "65.5 kB is available (--max-memory)"})
      EXPECT_NE(c.output.find(needle), std::string::npos) << needle << " in: " << c.output;
    EXPECT_NE(c.output.find(ckpt()), std::string::npos) << c.output;
  }
  EXPECT_BAD_INPUT(run("eval " + ckpt() + " --scheme W8A8 --max-memory 7X"), "--max-memory '7X': expected a size");
  // With room, the estimate is printed before loading and the evaluation runs.
  const Command ok = run("eval " + ckpt() + " --scheme W8A8 --window 16 --max-memory 8G");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("memory: about weights"), std::string::npos) << ok.output;
}

// The audit estimates its memory as eval does, from config.json and the data before any weight is read: an audit
// that cannot fit is refused with exit 2 naming the checkpoint, the estimate (with the audit's statistics) and
// the figure it exceeded, and writes nothing. What does not depend on the data is checked before the data is
// read: a missing data file is not reached.
TEST_F(BadInput, AnAuditThatDoesNotFitInMemoryIsRefused) {
  const fs::path out = dir_ / "audit_memory";
  for (const std::string& extra : {std::string(" --window 16"), std::string(),
                                  " --data tokens:" + (dir_ / "missing.u16").string()}) {
    const Command c = run("audit " + ckpt() + " --out " + out.string() + " --max-memory 64k" + extra);
    EXPECT_EQ(c.exit_code, 2) << c.output;
    for (const char* needle : {"does not fit in memory: needs about weights", " + statistics ",
                               "65.5 kB is available (--max-memory)", "--no-sensitivity"})
      EXPECT_NE(c.output.find(needle), std::string::npos) << needle << " in: " << c.output;
    EXPECT_NE(c.output.find(ckpt() + ": does not fit"), std::string::npos) << c.output;
    EXPECT_FALSE(fs::exists(out)) << extra;
  }
  EXPECT_BAD_INPUT(run("audit " + ckpt() + " --max-memory 7X"), "--max-memory '7X': expected a size");
  // With room, the estimate is printed before loading and the audit runs; --quiet leaves it out.
  const Command ok = run("audit " + ckpt() + " --out " + out.string() + " --window 16 --max-memory 8G");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("memory: about weights"), std::string::npos) << ok.output;
  EXPECT_NE(ok.output.find("(window 16) + statistics "), std::string::npos) << ok.output;
  EXPECT_TRUE(fs::exists(out / "audit.json"));
  const Command quiet = run("audit " + ckpt() + " --out " + out.string() + " --window 16 --max-memory 8G --quiet");
  EXPECT_EQ(quiet.exit_code, 0) << quiet.output;
  EXPECT_EQ(quiet.output.find("memory:"), std::string::npos) << quiet.output;
}

// The total of a memory refusal ("... = 72.2 MB, but 65.5 kB is available"), in bytes (format_bytes: powers of
// 1000, three significant digits); 0 when the output has none.
double refused_total(const std::string& output) {
  const size_t but = output.find(", but ");
  const size_t eq = output.rfind("= ", but);
  if (but == std::string::npos || eq == std::string::npos) return 0;
  size_t unit = 0;
  const double v = std::stod(output.substr(eq + 2), &unit);
  const std::string u = output.substr(eq + 2 + unit + 1, but - (eq + 2 + unit + 1));
  const double scale = u == "kB" ? 1e3 : u == "MB" ? 1e6 : u == "GB" ? 1e9 : u == "TB" ? 1e12 : 1;
  return v * scale;
}

// A suite with `audit: true` checks the audit's own estimate (its statistics grow with the scored tokens, which
// the evaluator's estimate does not count) before the group's audit or evaluation runs, as `qharness audit` does:
// with --max-memory between the two estimates, the audited suite is refused with exit 2 naming the audit and the
// model, and writes no report and no cached case; the same suite without the audit passes the check and runs.
TEST_F(BadInput, ASuiteWhoseAuditDoesNotFitInMemoryIsRefused) {
  // Many short sequences: the audit's per-token accumulators make its estimate clearly exceed the evaluation's.
  const std::string body = "models: [{name: m, path: ckpt}]\ndata: \"bb:seed=3,seqs=10000,len=24,k=3,vocab=39\"\n"
                           "schemes: [W8A8]\n";
  const std::string audited = suite("audited.yaml", body + "audit: true\n");
  const std::string plain = suite("plain.yaml", body + "audit: false\n");
  // --threads 1: one forward at a time in both, so that the two estimates differ only by what the audit adds.
  auto run_with = [&](const std::string& file, const std::string& out, const std::string& budget) {
    fs::remove_all(dir_ / out);
    return run(run_args(file, out) + " --threads 1 --max-memory " + budget);
  };
  // Each estimate, from the refusal of a budget too small for either.
  const Command tiny_audit = run_with(audited, "mem_audit", "64k");
  ASSERT_EQ(tiny_audit.exit_code, 2) << tiny_audit.output;
  const Command tiny_eval = run_with(plain, "mem_plain", "64k");
  ASSERT_EQ(tiny_eval.exit_code, 2) << tiny_eval.output;
  EXPECT_NE(tiny_eval.output.find("evaluation: does not fit in memory"), std::string::npos) << tiny_eval.output;
  const double audit_need = refused_total(tiny_audit.output), eval_need = refused_total(tiny_eval.output);
  ASSERT_GT(eval_need, 0) << tiny_eval.output;
  ASSERT_GT(audit_need, eval_need * 1.02) << tiny_audit.output;  // room for the three significant digits
  const std::string between = std::to_string(static_cast<uint64_t>((audit_need + eval_need) / 2));

  const Command refused = run_with(audited, "mem_audit", between);
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  for (const char* needle : {"audit of model 'm' on bb:seed=3,seqs=10000", ": does not fit in memory: needs about",
                             " + statistics ", "is available (--max-memory)", "set audit: false"})
    EXPECT_NE(refused.output.find(needle), std::string::npos) << needle << " in: " << refused.output;
  EXPECT_FALSE(fs::exists(dir_ / "mem_audit" / "results.json"));
  EXPECT_TRUE(fs::is_empty(dir_ / "mem_audit" / ".cache")) << "a case or audit was cached before the refusal";

  const Command ok = run_with(plain, "mem_plain", between);
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_TRUE(fs::exists(dir_ / "mem_plain" / "results.json"));
}

TEST_F(BadInput, SequencesBoundAFlatTokenFile) {
  auto scored = [&](const std::string& extra) {
    const std::string out = (dir_ / "flat.json").string();
    const Command c = run("eval " + ckpt() + " --data tokens:" + (dir_ / "sub" / "ids.u16").string() +
                          " --scheme W8A8 --window 20 --quiet --json " + out + extra);
    EXPECT_EQ(c.exit_code, 0) << c.output;
    std::ifstream in(out);
    return nlohmann::json::parse(in)["scored_tokens"].get<int64_t>();
  };
  const int64_t all = scored("");
  const int64_t two = scored(" --sequences 2");
  EXPECT_GT(all, 100);
  EXPECT_LE(two, 2 * 20);  // two windows' worth of the single flat sequence
  EXPECT_GT(two, 0);
}

TEST_F(BadInput, HugeWeightsGiveAClearErrorNotNaN) {
  ArchSpec a = enginetest::tiny_spec();
  Model m = enginetest::random_model(a, 78);
  for (float& w : m.layers[0].wq.data) w = 3e38f;
  for (float& w : m.layers[0].wk.data) w = 3e38f;
  save_checkpoint((dir_ / "huge").string(), m);
  for (const char* scheme : {"W8A8", "W4A16"})
    EXPECT_BAD_INPUT(run("eval " + (dir_ / "huge").string() + " --data bb:seqs=2,len=24,vocab=39,k=3 --scheme " + scheme),
                     "the full-precision pass gives non-finite log-probabilities");
  EXPECT_BAD_INPUT(run("audit " + (dir_ / "huge").string() + " --data bb:seqs=2,len=24,vocab=39,k=3"),
                   "the full-precision pass gives non-finite log-probabilities");
}

TEST_F(BadInput, TrainRefusesOptionsOfTheOtherMode) {
  EXPECT_BAD_INPUT(run("train --zoo " + (dir_ / "zoo.yaml").string() + " --task bb --out " + (dir_ / "x").string()),
                   "cannot be combined");
  EXPECT_BAD_INPUT(run("train --task bb --out " + (dir_ / "x").string() + " --only tiny"), "only apply with --zoo");
  EXPECT_FALSE(fs::exists(dir_ / "x"));
}

TEST_F(BadInput, AuditOfATextModelUsesTheCorpusItsRecipeRecords) {
  write(dir_ / "corpus.txt", std::string(400, 'a') + "the quick brown fox jumps over the lazy dog. " +
                                 std::string(100, 'b'));
  const std::string out = (dir_ / "textmodel").string();
  const Command t = run("train --task text --text " + (dir_ / "corpus.txt").string() +
                        " --steps 3 --set warmup=0 --d-model 16 --seq-len 16 --quiet --out " + out);
  ASSERT_EQ(t.exit_code, 0) << t.output;
  const Command a = run("audit " + out + " --out " + (dir_ / "textaudit").string() + " --quiet --no-sensitivity");
  EXPECT_EQ(a.exit_code, 0) << a.output;
  EXPECT_TRUE(fs::exists(dir_ / "textaudit" / "audit.json"));
}

TEST_F(BadInput, SuiteProblemsAreFoundBeforeTrainingAtTheirLine) {
  const std::string head = "models: [tiny]\n";
  EXPECT_BAD_INPUT(run(run_args(suite("d.yaml", head + "data: [\"bb:seqs=2,len=32,vocab=16,k=2\", \"tokens:nothere.u16\"]\n"
                                                       "schemes: [W8A8]\n"))),
                   "d.yaml:3:41: data[1]: 'tokens:nothere.u16': cannot read file");
  EXPECT_BAD_INPUT(run(run_args(suite("w.yaml", head + "data: \"bb:seqs=2,len=32,vocab=16,k=2\"\nschemes: [W8A8]\n"
                                                       "eval: {window: 64}\n"))),
                   "w.yaml:5:16: eval.window: 64 is longer than the context of model 'tiny' (32 tokens)");
  EXPECT_BAD_INPUT(run(run_args(suite("g.yaml", head + "data: \"bb:seqs=2,len=32,vocab=16,k=2\"\nschemes:\n"
                                                       "  - {name: g12, base: W4A16, w_granularity: \"group:12\"}\n"))),
                   "g.yaml:5:5: scheme 'g12': weight group size 12 does not divide the input width 16");
  EXPECT_BAD_INPUT(run(run_args(suite("u.yaml", "models: [tiny, nosuch]\ndata: \"bb:seqs=2,len=32,vocab=16,k=2\"\n"
                                                "schemes: [W8A8]\n"))),
                   "u.yaml:2:16: model 'nosuch': ");
  const std::string ok = suite("ok.yaml", head + "data: \"bb:seqs=2,len=32,vocab=16,k=2\"\nschemes: [W8A8]\n");
  write(dir_ / "afile", "x");
  EXPECT_BAD_INPUT(run(run_args(ok, "afile/out")), "not writable");
  EXPECT_FALSE(zoo_trained());
}

TEST_F(BadInput, DuplicateKeysAndNaNThresholdsAreRefused) {
  const std::string head = "models: [tiny]\ndata: \"bb:seqs=2,len=32,vocab=16,k=2\"\nschemes: [W8A8]\n";
  EXPECT_BAD_INPUT(run(run_args(suite("dup.yaml", head + "thresholds:\n  W8A8: {max_kld_mean: 1, max_kld_mean: 2}\n"))),
                   "dup.yaml:6:27: duplicate key 'max_kld_mean' (first given at 6:10)");
  EXPECT_BAD_INPUT(run(run_args(suite("nan.yaml", head + "thresholds:\n  W8A8: {max_kld_mean: .nan}\n"))),
                   "nan.yaml:6:24: thresholds.W8A8.max_kld_mean: expected a finite number");
  EXPECT_FALSE(zoo_trained());
}

TEST_F(BadInput, NllThresholdsAndAttributionAreMeasured) {
  // A path checkpoint and a token file named relative to the suite's own folder (sub/), run from elsewhere.
  write(dir_ / "sub" / "nll.yaml",
        "models: [{name: m, path: ../ckpt}]\ndata: \"tokens:ids.u16,len=40\"\nschemes: [W8A8]\n"
        "attribution: {metrics: [nll, kld_mean]}\n"
        "thresholds:\n  W8A8: {max_nll: 1000, max_nll_fp: 1000}\n");
  const Command c = run("run " + (dir_ / "sub" / "nll.yaml").string() + " --out " + (dir_ / "nllout").string() +
                        " --quiet --jobs 1");
  EXPECT_EQ(c.exit_code, 0) << c.output;
  const reports::Results r = reports::read_results((dir_ / "nllout" / "results.json").string());
  ASSERT_FALSE(r.cases.empty());
  EXPECT_TRUE(r.cases[0].metrics.has("nll"));
  EXPECT_TRUE(r.cases[0].metrics.has("nll_fp"));
  bool nll_attributed = false;
  for (const auto& c0 : r.cases)
    for (const auto& at : c0.attribution) nll_attributed = nll_attributed || at.metric == "nll";
  EXPECT_TRUE(nll_attributed);
  for (const auto& v : r.verdicts) EXPECT_TRUE(v.passed) << v.name << ": " << v.message;
}

}  // namespace
}  // namespace qh
