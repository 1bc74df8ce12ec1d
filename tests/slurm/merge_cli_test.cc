// `qharness merge` as a job runs it: parts that are not shards 1..N of one suite, each exactly once, are bad
// input (exit 2) with a message naming the missing or repeated shard or the foreign part; a complete set merges.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "reports/results.h"
#include "tests/command.h"

namespace {

namespace fs = std::filesystem;

using qh::testutil::Command;
Command merge(const std::string& args) { return qh::testutil::qharness("merge " + args); }

class MergeCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("qh_merge_cli." + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // A part of suite "s" (hash `hash`) holding one case of model `model`.
  std::string part(const std::string& file, const std::string& shard, const std::string& model,
                   const std::string& hash = "1111111111111111") {
    qh::reports::Results r;
    r.suite = "s";
    r.suite_hash = hash;
    r.shard = shard;
    qh::reports::CaseResult c;
    c.model = model;
    c.data = "bb:seed=1,seqs=4,len=32";
    c.scheme = "W8A8";
    c.protection = "none";
    c.metrics.set("kld_mean", 0.125);
    r.cases.push_back(c);
    const std::string path = (dir_ / file).string();
    qh::reports::write_results(path, r);
    return path;
  }
  std::string out() const { return " --out " + (dir_ / "merged").string() + " --quiet"; }
  fs::path dir_;
};

TEST_F(MergeCli, OneOfThreeShardsIsRefused) {
  const Command c = merge(part("p1.json", "1/3", "a") + out());
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("shards 2/3, 3/3 are missing"), std::string::npos) << c.output;
  EXPECT_FALSE(fs::exists(dir_ / "merged" / "results.json"));
}

TEST_F(MergeCli, ARepeatedShardIsRefused) {
  const std::string p1 = part("p1.json", "1/2", "a"), p2 = part("p2.json", "2/2", "b");
  const Command c = merge(p1 + " " + p2 + " " + p2 + out());
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("shard 2/2 is given twice: " + p2 + " and " + p2), std::string::npos) << c.output;
}

TEST_F(MergeCli, PartsOfDifferentSuitesAreRefused) {
  const Command c = merge(part("p1.json", "1/2", "a") + " " + part("p2.json", "2/2", "b", "2222222222222222") + out());
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("(hash 2222222222222222) differs from suite 's' (hash 1111111111111111)"),
            std::string::npos)
      << c.output;
}

TEST_F(MergeCli, AMissingPartFileNamesTheFileAndTheShard) {
  const Command c = merge(part("p1.json", "1/2", "a") + " " + (dir_ / "p2.json").string() + out());
  EXPECT_EQ(c.exit_code, 2) << c.output;
  EXPECT_NE(c.output.find("no such part file: " + (dir_ / "p2.json").string() + "; merge: shard 2/2 is missing"),
            std::string::npos)
      << c.output;
}

TEST_F(MergeCli, ACompleteSetMerges) {
  const Command c = merge(part("p2.json", "2/2", "b") + " " + part("p1.json", "1/2", "a") + out());
  EXPECT_EQ(c.exit_code, 0) << c.output;
  const auto merged = qh::reports::read_results((dir_ / "merged" / "results.json").string());
  EXPECT_EQ(merged.cases.size(), 2u);
  EXPECT_EQ(merged.suite_hash, "1111111111111111");
  EXPECT_TRUE(merged.shard.empty());
}

}  // namespace
