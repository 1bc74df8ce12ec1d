// The limits and checks a data spec passes before anything is loaded: directories and missing files, the size
// of a bb: spec, --sequences bounding a flat stream, relative paths resolved against a suite's folder, and the
// text recipe's corpus as the default audit data.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "models/data/data_spec.h"
#include "src/core/error.h"
#include "src/core/limits.h"

namespace qh::data {
namespace {

namespace fs = std::filesystem;

class DataLimits : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "qh_data_limits." + std::to_string(::getpid());
    fs::create_directories(dir_);
    std::ofstream(dir_ + "/t.txt", std::ios::binary) << std::string(100, 'x');
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

template <typename F>
void expect_input_error(F&& f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "no InputError; expected one containing '" << fragment << "'";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST_F(DataLimits, DirectoriesAndMissingFilesAreInputErrors) {
  for (const std::string kind : {"text:", "tokens:"}) {
    expect_input_error([&] { load_data(kind + dir_, 0); }, "is a directory");
    expect_input_error([&] { validate_data_spec(kind + dir_); }, "is a directory");
    expect_input_error([&] { validate_data_spec(kind + dir_ + "/none.u16"); }, "cannot read file");
  }
  expect_input_error([&] { load_data("bb:vocab=8,k=2,text=" + dir_, 0); }, "is a directory");
  validate_data_spec("text:" + dir_ + "/t.txt,len=10");
}

TEST_F(DataLimits, BbSizeIsCheckedFromTheSpec) {
  expect_input_error([&] { validate_data_spec("bb:seqs=10000000,len=256"); }, "more than the");
  expect_input_error([&] { load_data("bb:seqs=10000000,len=256", 0); }, "more than the");
  validate_data_spec("bb:seqs=1000,len=256");  // 257k ids: fine
}

TEST_F(DataLimits, SequencesBoundEveryKindOfData) {
  Dataset flat = load_data("text:" + dir_ + "/t.txt", 0);
  ASSERT_TRUE(flat.flat);
  ASSERT_EQ(flat.sequences.size(), 1u);
  EXPECT_EQ(flat.sequences[0].size(), 101u);  // BOS + 100 bytes
  bound_sequences(&flat, 2, 16);
  EXPECT_EQ(flat.sequences[0].size(), 32u);
  Dataset split = load_data("text:" + dir_ + "/t.txt,len=10", 0);
  EXPECT_FALSE(split.flat);
  bound_sequences(&split, 3, 16);
  EXPECT_EQ(split.sequences.size(), 3u);
  EXPECT_EQ(split.sequences[0].size(), 10u);  // sequences of a split stream are not cut
  Dataset bb = load_data("bb:seqs=5,len=16", 0);
  bound_sequences(&bb, 0, 16);  // 0: all
  EXPECT_EQ(bb.sequences.size(), 5u);
  bound_sequences(&bb, 2, 16);
  EXPECT_EQ(bb.sequences.size(), 2u);
}

TEST_F(DataLimits, RelativePathsResolveAgainstTheGivenFolder) {
  EXPECT_EQ(resolve_spec_paths("tokens:ids.u16,len=8", "suites/x"), "tokens:suites/x/ids.u16,len=8");
  EXPECT_EQ(resolve_spec_paths("text:/abs/t.txt", "suites"), "text:/abs/t.txt");
  EXPECT_EQ(resolve_spec_paths("bb:seqs=2,text=c.txt", "s"), "bb:seqs=2,text=s/c.txt");
  EXPECT_EQ(resolve_spec_paths("text:../t.txt", "a/b"), "text:a/t.txt");
  EXPECT_EQ(resolve_spec_paths("tokens:ids.u16", ""), "tokens:ids.u16");
  EXPECT_EQ(data_spec_files("bb:seqs=2,text=c.txt"), std::vector<std::string>{"c.txt"});
  EXPECT_TRUE(data_spec_files("bb:seqs=2").empty());
}

TEST_F(DataLimits, TextRecipesNameTheirCorpusAsDefaultData) {
  EXPECT_EQ(default_eval_spec(R"({"task": "text", "data": "text:/c.txt,len=64"})"), "text:/c.txt,len=64");
  EXPECT_EQ(default_eval_spec(R"({"task": "x"})"), "");
}

}  // namespace
}  // namespace qh::data
