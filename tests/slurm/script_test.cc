// `qharness slurm` without a cluster: the important lines of the generated scripts (golden), the validation of
// the sbatch options, the scripts' shell syntax, and what the shard and merge scripts execute (run under bash
// with $QHARNESS standing in for the binary).
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "src/core/error.h"
#include "src/suite/slurm.h"
#include "src/suite/suite.h"
#include "tests/command.h"

namespace qh::suite {
namespace {

namespace fs = std::filesystem;

using qh::testutil::Command;
using qh::testutil::sh;

const char* kSuite =
    "name: two models\nzoo: /z/zoo.yaml\nmodels: [m-a, m-b, {name: local, path: /ckpt/local}, m-a-copy]\n"
    "data: \"bb:seed=1,seqs=4,len=32\"\nschemes: [W8A8]\n";

SlurmOptions options() {
  SlurmOptions o;
  o.binary = "/opt/qh/bin/qharness";
  o.out_dir = "/scratch/run";
  o.zoo_cache = "/scratch/zoo";
  o.work_dir = "/home/me/project";
  o.shards = 3;
  o.cpus_per_task = 2;
  o.partition = "cpu";
  o.time = "1:30:00";
  o.mem = "8G";
  return o;
}

std::string script(const std::vector<SlurmScript>& scripts, const std::string& file) {
  for (const auto& s : scripts) {
    if (s.file == file) return s.text;
  }
  return "";
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(SlurmScripts, ImportantLinesOfEveryScript) {
  SuiteSpec s = parse_suite(kSuite, "/suites/two.yaml");
  s.models[3].zoo = "m-a";  // two labels of one zoo model: trained once
  const auto scripts = slurm_scripts(s, options());
  ASSERT_EQ(scripts.size(), 4u);

  const std::string train = script(scripts, "train.sbatch");
  for (const char* line : {"#!/bin/bash", "#SBATCH --job-name=qh-two_models-train", "#SBATCH --cpus-per-task=2",
                           "#SBATCH --output=/scratch/run/slurm/logs/train-%j.out",
                           "#SBATCH --chdir=/home/me/project", "#SBATCH --partition=cpu", "#SBATCH --time=1:30:00",
                           "#SBATCH --mem=8G", "#SBATCH --kill-on-invalid-dep=yes", "set -euo pipefail",
                           "QHARNESS=${QHARNESS:-'/opt/qh/bin/qharness'}",
                           "exec \"$QHARNESS\" train --zoo '/z/zoo.yaml' --only 'm-a' --only 'm-b' --cache "
                           "'/scratch/zoo' --jobs \"${SLURM_CPUS_PER_TASK:-1}\" --quiet"}) {
    EXPECT_TRUE(has_line(train, line)) << line << "\n---\n" << train;
  }

  const std::string shard = script(scripts, "shard.sbatch");
  for (const char* line : {"#SBATCH --job-name=qh-two_models-shard", "#SBATCH --array=1-3",
                           "#SBATCH --output=/scratch/run/slurm/logs/shard-%a-%A.out",
                           "part='/scratch/run/parts/'\"$SLURM_ARRAY_TASK_ID\"", "rm -f \"$part/results.json\"",
                           "exec \"$QHARNESS\" run '/suites/two.yaml' --shard \"$SLURM_ARRAY_TASK_ID/3\" --out "
                           "\"$part\" --cache '/scratch/zoo' --threads \"${SLURM_CPUS_PER_TASK:-1}\" --jobs 1 --quiet"}) {
    EXPECT_TRUE(has_line(shard, line)) << line << "\n---\n" << shard;
  }

  const std::string merge = script(scripts, "merge.sbatch");
  EXPECT_TRUE(has_line(merge, "exec \"$QHARNESS\" merge '/scratch/run/parts/1/results.json' "
                              "'/scratch/run/parts/2/results.json' '/scratch/run/parts/3/results.json' --suite "
                              "'/suites/two.yaml' --out '/scratch/run'"))
      << merge;
  EXPECT_EQ(merge.find("--array"), std::string::npos);

  const std::string submit = script(scripts, "submit.sh");
  for (const char* line : {"set -euo pipefail", "train=$(sbatch --parsable \"$dir/train.sbatch\")",
                           "train=${train%%;*}", "echo \"train $train\"",
                           "shards=$(sbatch --parsable --dependency=afterok:$train \"$dir/shard.sbatch\")",
                           "merge=$(sbatch --parsable --dependency=afterok:$shards \"$dir/merge.sbatch\")",
                           "echo \"merge $merge\"", "dir='/scratch/run/slurm'"}) {
    EXPECT_TRUE(has_line(submit, line)) << line << "\n---\n" << submit;
  }
}

TEST(SlurmScripts, NoTrainingJobWithoutZooModelsAndNoOptionalLinesWhenUnset) {
  const SuiteSpec s = parse_suite("models: [/ckpt/a]\ndata: \"bb:seed=1,seqs=4,len=32\"\nschemes: [W8A8]\n",
                                  "/suites/paths.yaml");
  SlurmOptions o = options();
  o.partition = o.time = o.mem = "";
  const auto scripts = slurm_scripts(s, o);
  EXPECT_EQ(script(scripts, "train.sbatch"), "");
  const std::string submit = script(scripts, "submit.sh");
  EXPECT_TRUE(has_line(submit, "shards=$(sbatch --parsable \"$dir/shard.sbatch\")")) << submit;
  EXPECT_EQ(submit.find("train"), std::string::npos) << submit;
  const std::string shard = script(scripts, "shard.sbatch");
  for (const char* absent : {"--partition", "--time", "--mem"}) EXPECT_EQ(shard.find(absent), std::string::npos);
}

TEST(SlurmScripts, BadOptionsAreRefusedNamingTheOption) {
  auto refused = [](SlurmOptions o) {
    try {
      validate_slurm_options(o);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  SlurmOptions o = options();
  EXPECT_EQ(refused(o), "");
  for (const char* ok : {"30", "10:00", "2:00:00", "1-12", "1-12:30", "1-12:30:00", "INFINITE"}) {
    o.time = ok;
    EXPECT_EQ(refused(o), "") << ok;
  }
  o.time = "1h";
  EXPECT_NE(refused(o).find("--time '1h'"), std::string::npos);
  o = options();
  o.mem = "8GB";
  EXPECT_NE(refused(o).find("--mem '8GB'"), std::string::npos);
  o = options();
  o.partition = "cpu\n#SBATCH --x";
  EXPECT_NE(refused(o).find("--partition"), std::string::npos);
  o = options();
  o.shards = 0;
  EXPECT_NE(refused(o).find("--shards 0"), std::string::npos);
  o = options();
  o.cpus_per_task = 0;
  EXPECT_NE(refused(o).find("--cpus-per-task 0"), std::string::npos);
  o = options();
  o.out_dir = "/scratch/my run";
  EXPECT_NE(refused(o).find("spaces"), std::string::npos);
}

TEST(SlurmScripts, ShellQuoting) {
  EXPECT_EQ(shell_quote("a b"), "'a b'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(sh("bash -c 'printf %s \"$0\"' " + shell_quote("it's $HOME `x`")).output, "it's $HOME `x`");
}

class SlurmCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("qh_slurm_cli." + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

const std::string kQharness = QH_BINARY;
const std::string kQuickstart = std::string(QH_SOURCE_DIR) + "/suites/quickstart.yaml";

TEST_F(SlurmCli, HelpShowsTheOptions) {
  const Command c = sh(kQharness + " slurm --help");
  EXPECT_EQ(c.exit_code, 0);
  for (const char* o : {"--out", "--shards", "--partition", "--time", "--cpus-per-task", "--mem", "--cache",
                        "--submit", "afterok", "trains the suite's zoo models once"}) {
    EXPECT_NE(c.output.find(o), std::string::npos) << o << "\n" << c.output;
  }
}

TEST_F(SlurmCli, WritesRunnableScripts) {
  const fs::path out = dir_ / "out";
  const Command c = sh(kQharness + " slurm " + kQuickstart + " --out " + out.string() + " --shards 3 --cache " +
                       (dir_ / "zoo").string());
  ASSERT_EQ(c.exit_code, 0) << c.output;
  for (const char* f : {"train.sbatch", "shard.sbatch", "merge.sbatch", "submit.sh"}) {
    const fs::path p = out / "slurm" / f;
    ASSERT_TRUE(fs::exists(p)) << f;
    EXPECT_EQ(::access(p.c_str(), X_OK), 0) << f;
    const Command syntax = sh("bash -n " + p.string());
    EXPECT_EQ(syntax.exit_code, 0) << f << ": " << syntax.output;
  }
  EXPECT_TRUE(fs::is_directory(out / "slurm/logs"));  // Slurm does not create the directory of --output
  // Task 2 of the array, with `echo` standing in for qharness: the command line it would run.
  const Command task = sh("SLURM_ARRAY_TASK_ID=2 SLURM_CPUS_PER_TASK=4 QHARNESS=echo bash " +
                          (out / "slurm/shard.sbatch").string());
  ASSERT_EQ(task.exit_code, 0) << task.output;
  EXPECT_EQ(task.output, "run " + kQuickstart + " --shard 2/3 --out " + out.string() + "/parts/2 --cache " +
                             (dir_ / "zoo").string() + " --threads 4 --jobs 1 --quiet\n");
  // The merge job run by hand before any shard ran: exit 2 naming the missing parts.
  const Command merge = sh("bash " + (out / "slurm/merge.sbatch").string());
  EXPECT_EQ(merge.exit_code, 2) << merge.output;
  EXPECT_NE(merge.output.find("no such part file: " + out.string() + "/parts/1/results.json"), std::string::npos)
      << merge.output;
}

TEST_F(SlurmCli, BadInputExitsTwoBeforeWritingAnything) {
  const fs::path out = dir_ / "bad";
  const Command time = sh(kQharness + " slurm " + kQuickstart + " --out " + out.string() + " --shards 2 --time 1h");
  EXPECT_EQ(time.exit_code, 2) << time.output;
  EXPECT_NE(time.output.find("--time '1h'"), std::string::npos) << time.output;
  EXPECT_FALSE(fs::exists(out));
  const Command shards = sh(kQharness + " slurm " + kQuickstart + " --out " + out.string() + " --shards 0");
  EXPECT_EQ(shards.exit_code, 2) << shards.output;
  const Command missing = sh(kQharness + " slurm " + kQuickstart + " --out " + out.string());
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_FALSE(fs::exists(out));
}

// Submitting when sbatch cannot reach a controller: exit 1 with sbatch's message, the scripts stay written.
TEST_F(SlurmCli, SubmitWithoutAClusterFailsWithSbatchsMessage) {
  if (sh("command -v sbatch").exit_code != 0) GTEST_SKIP() << "sbatch is not installed (Debian's slurm-wlm)";
  std::ofstream(dir_ / "slurm.conf") << "ClusterName=none\nSlurmctldHost=localhost(127.0.0.1)\nSlurmctldPort=9\n"
                                        "NodeName=localhost CPUs=1\nPartitionName=p Nodes=localhost Default=YES\n";
  const Command c = sh("SLURM_CONF=" + (dir_ / "slurm.conf").string() + " timeout 120 " + kQharness + " slurm " +
                       kQuickstart + " --out " + (dir_ / "s").string() + " --shards 2 --submit");
  EXPECT_EQ(c.exit_code, 1) << c.output;
  EXPECT_NE(c.output.find("submitting the jobs failed"), std::string::npos) << c.output;
  EXPECT_EQ(c.output.find("train "), std::string::npos) << "no id after a failed sbatch\n" << c.output;
  EXPECT_TRUE(fs::exists(dir_ / "s/slurm/submit.sh"));
}

}  // namespace
}  // namespace qh::suite
