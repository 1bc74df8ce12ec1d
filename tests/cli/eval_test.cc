// `qharness eval` end to end: a good run writes the ARCHITECTURE.md 2.7 keys; bad input exits with code 2 and a message.
#include <gtest/gtest.h>
#include <unistd.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "models/checkpoint.h"
#include "tests/engine/tiny_models.h"

namespace qh {
namespace {

class EvalCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // One directory per process: ctest runs the tests of this suite as parallel processes.
    dir_ = new std::string(::testing::TempDir() + "qh_eval_cli." + std::to_string(::getpid()));
    std::system(("rm -rf '" + *dir_ + "' && mkdir -p '" + *dir_ + "'").c_str());
    ArchSpec a = enginetest::tiny_spec();
    a.recipe_json = R"({"task": "bb", "data": "bb:seed=3,seqs=3,len=24,k=3,vocab=39"})";
    save_checkpoint(*dir_ + "/ckpt", enginetest::random_model(a, 77));
    std::ofstream(*dir_ + "/empty.u16").flush();
  }
  static void TearDownTestSuite() {
    std::system(("rm -rf '" + *dir_ + "'").c_str());
    delete dir_;
  }

  // Runs qharness with `args`; returns the exit code, stderr in *err.
  static int run(const std::string& args, std::string* err = nullptr) {
    const std::string err_file = *dir_ + "/stderr.txt";
    const int rc = std::system((std::string(QH_BINARY) + " " + args + " > /dev/null 2> '" + err_file + "'").c_str());
    std::ifstream in(err_file);
    std::stringstream ss;
    ss << in.rdbuf();
    if (err) *err = ss.str();
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
  static std::string ckpt() { return *dir_ + "/ckpt"; }
  static std::string* dir_;
};
std::string* EvalCli::dir_ = nullptr;

TEST_F(EvalCli, WritesJsonWithDesignKeys) {
  const std::string out = *dir_ + "/out.json";
  ASSERT_EQ(run("eval " + ckpt() + " --data bb:seed=9,seqs=2,len=24,k=3,vocab=39 --scheme W8A8 --scheme W4A4 "
                "--protect none --protect both --json " + out + " --quiet"), 0);
  std::ifstream in(out);
  const nlohmann::json j = nlohmann::json::parse(in);
  ASSERT_EQ(j["cases"].size(), 4u);
  for (const char* key : {"ppl", "ppl_fp", "delta_ppl", "ppl_ratio", "kld_mean", "kld_mean_se", "kld_median",
                          "kld_p90", "kld_p99", "kld_max", "top1_agree", "delta_p_mean", "sqnr_db",
                          "backcopy_risk", "bigram_risk", "backcopy_acc"})
    EXPECT_TRUE(j["cases"][0].contains(key)) << key;
  EXPECT_EQ(j["cases"][3]["label"], "W4A4+both");
  EXPECT_GT(j["cases"][2]["kld_mean"].get<double>(), 0.0);
}

// The table a user reads: the data line, one row per case, and what the evaluation cost (wall time, threads,
// the passes it made and their throughput).
TEST_F(EvalCli, PrintsTheCasesAndWhatTheEvaluationCost) {
  const std::string out_file = *dir_ + "/stdout.txt";
  ASSERT_EQ(std::system((std::string(QH_BINARY) + " eval " + ckpt() +
                         " --data bb:seed=9,seqs=2,len=24,k=3,vocab=39 --scheme W8A8 --scheme W4A4 --threads 1 > '" +
                         out_file + "' 2> /dev/null").c_str()),
            0);
  std::ifstream in(out_file);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string out = ss.str();
  EXPECT_NE(out.find("2 windows of 24, 46 scored tokens"), std::string::npos) << out;
  EXPECT_NE(out.find("\nW8A8 "), std::string::npos) << out;
  EXPECT_NE(out.find("\nW4A4 "), std::string::npos) << out;
  const size_t time = out.find("\ntime: ");
  ASSERT_NE(time, std::string::npos) << out;
  EXPECT_NE(out.find(" on 1 thread, 3 passes (fp + 2 cases) over 2 windows of 24: ", time), std::string::npos) << out;
  EXPECT_NE(out.find(" tokens/s\n", time), std::string::npos) << out;
}

TEST_F(EvalCli, DataFromTheRecipeWhenOmitted) { EXPECT_EQ(run("eval " + ckpt() + " --scheme W8A8 --quiet"), 0); }

TEST_F(EvalCli, BadInputExitsWithTwo) {
  std::string err;
  EXPECT_EQ(run("eval " + ckpt() + " --data bb:seed=x --scheme W8A8", &err), 2);
  EXPECT_NE(err.find("seed"), std::string::npos) << err;
  EXPECT_EQ(run("eval " + ckpt() + " --data bb:seed=1,seqs=2,len=24,k=3,vocab=64 --scheme W8A8", &err), 2);
  EXPECT_NE(err.find("vocab"), std::string::npos) << err;
  EXPECT_EQ(run("eval " + ckpt() + " --data tokens:" + *dir_ + "/empty.u16 --scheme W8A8", &err), 2);
  EXPECT_EQ(run("eval " + ckpt() + " --scheme W5A5", &err), 2);
  EXPECT_NE(err.find("W5A5"), std::string::npos) << err;
  EXPECT_EQ(run("eval " + ckpt() + " --scheme W8A8 --window 33", &err), 2);
  EXPECT_NE(err.find("context"), std::string::npos) << err;
  EXPECT_EQ(run("eval " + ckpt() + " --scheme W8A8 --protect sinks", &err), 2);
  EXPECT_EQ(run("eval " + *dir_ + "/missing --scheme W8A8", &err), 2);
  EXPECT_EQ(run("eval " + ckpt(), &err), 2);  // no --scheme
}

TEST_F(EvalCli, MethodsAreCasesWithTheirTimeAndCalibration) {
  const std::string out = *dir_ + "/methods.json";
  ASSERT_EQ(run("eval " + ckpt() + " --data bb:seed=9,seqs=2,len=24,k=3,vocab=39 --scheme W4A4 --method rtn "
                "--method rotate --method gptq:act_order=1 --calib-sequences 3 --cache " + *dir_ + "/cache --json " +
                out + " --quiet"), 0);
  std::ifstream in(out);
  const nlohmann::json j = nlohmann::json::parse(in);
  ASSERT_EQ(j["cases"].size(), 3u);
  EXPECT_EQ(j["cases"][0]["method"], "rtn");
  EXPECT_EQ(j["cases"][1]["method"], "rotate");
  EXPECT_EQ(j["cases"][2]["method"], "gptq:act_order=1");
  EXPECT_EQ(j["cases"][2]["label"], "W4A4 [gptq:act_order=1]");
  EXPECT_GT(j["cases"][2]["method_seconds"].get<double>(), 0.0);
  // Calibration from the recipe's BB task with another seed than the evaluated data's.
  EXPECT_EQ(j["method_calibration"]["sequences"], 3);
  EXPECT_NE(j["method_calibration"]["data"], j["data"]);
  // gptq's Hessians went to the cache under --cache (rotate reads no calibration data); --no-cache adds none.
  auto cached = [&] {
    int n = 0;
    if (std::filesystem::exists(*dir_ + "/cache/methods"))
      for (const auto& e : std::filesystem::directory_iterator(*dir_ + "/cache/methods"))
        n += e.path().extension() == ".qhstats" ? 1 : 0;
    return n;
  };
  EXPECT_EQ(cached(), 1);
  EXPECT_EQ(run("eval " + ckpt() + " --data bb:seed=9,seqs=2,len=24,k=3,vocab=39 --scheme W4A4 --method gptq "
                "--calib-sequences 2 --cache " + *dir_ + "/cache --no-cache --quiet"), 0);
  EXPECT_EQ(cached(), 1);
  std::string err;
  EXPECT_EQ(run("eval " + ckpt() + " --scheme W4A4 --method rotate+smoothquant --quiet", &err), 2);
  EXPECT_NE(err.find("smoothquant+rotate"), std::string::npos) << err;
  EXPECT_EQ(run("eval " + ckpt() + " --data bb:seed=9,seqs=2,len=24,k=3,vocab=39 --scheme W4A4 --method gptq "
                "--calib-data bb:seed=9,seqs=2,len=24,k=3,vocab=39 --quiet", &err), 2);
  EXPECT_NE(err.find("kept apart"), std::string::npos) << err;
}

}  // namespace
}  // namespace qh
