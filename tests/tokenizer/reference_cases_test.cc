// Every reference case of tests/tokenizer/data: the ids of each stress text equal the reference
// implementation's, with and without special tokens; decoding gives the reference's text; and the whole
// TinyStories file tokenizes to the reference's ids.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "models/tokenizer/load.h"

namespace qh::tok {
namespace {

const std::string kData = std::string(QH_SOURCE_DIR) + "/tests/tokenizer/data";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<int32_t> read_u32(const std::string& path) {
  const std::string bytes = slurp(path);
  std::vector<int32_t> ids(bytes.size() / 4);
  for (size_t i = 0; i < ids.size(); ++i) {
    uint32_t v = 0;
    for (int k = 3; k >= 0; --k) v = (v << 8) | static_cast<unsigned char>(bytes[4 * i + k]);
    ids[i] = static_cast<int32_t>(v);
  }
  return ids;
}

struct Reference {
  const char* folder;
  const char* file;  // what load_tokenizer is given
};
// How gtest and ctest show a case ("gpt2/tokenizer.json"), instead of the struct's raw bytes.
void PrintTo(const Reference& r, std::ostream* os) { *os << r.folder << "/" << r.file; }

class ReferenceCases : public ::testing::TestWithParam<Reference> {};

TEST_P(ReferenceCases, IdsAndDecodeMatchEveryCase) {
  const Reference r = GetParam();
  const auto tok = load_tokenizer(kData + "/" + r.folder + "/" + r.file);
  std::istringstream lines(slurp(kData + "/" + r.folder + "/cases.jsonl"));
  std::string line;
  int cases = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    const auto c = nlohmann::json::parse(line);
    const std::string name = c.at("name").get<std::string>();
    const std::string text = c.at("text").get<std::string>();
    const auto ids = c.at("ids").get<std::vector<int32_t>>();
    const auto ids_special = c.at("ids_special").get<std::vector<int32_t>>();
    EXPECT_EQ(tok->encode(text, false), ids) << r.folder << " case " << name;
    EXPECT_EQ(tok->encode(text, true), ids_special) << r.folder << " case " << name << " (special)";
    EXPECT_EQ(tok->decode(ids, false), c.at("decoded").get<std::string>()) << r.folder << " decode " << name;
    if (c.contains("decoded_special_skip")) {
      EXPECT_EQ(tok->decode(ids_special, true), c.at("decoded_special_skip").get<std::string>())
          << r.folder << " decode skipping special " << name;
    }
    ++cases;
  }
  EXPECT_EQ(cases, 42);
}

TEST_P(ReferenceCases, WholeFileIdsMatch) {
  const Reference r = GetParam();
  const auto tok = load_tokenizer(kData + "/" + r.folder + "/" + r.file);
  const std::string text = slurp(kData + "/tinystories_head.txt");
  const std::vector<int32_t> expected = read_u32(kData + "/" + r.folder + "/tinystories_head.u32");
  ASSERT_GT(expected.size(), 40000u);
  const std::vector<int32_t> got = tok->encode(text, false);
  ASSERT_EQ(got.size(), expected.size()) << r.folder;
  size_t first_diff = got.size();
  for (size_t i = 0; i < got.size() && first_diff == got.size(); ++i)
    if (got[i] != expected[i]) first_diff = i;
  EXPECT_EQ(first_diff, got.size()) << r.folder << ": first differing id at position " << first_diff;
  EXPECT_EQ(tok->decode(got, false), text) << r.folder << ": decode does not give the file back";
}

TEST_P(ReferenceCases, ThreadsSharingOneTokenizerGetTheSameIds) {
  const Reference r = GetParam();
  const auto tok = load_tokenizer(kData + "/" + r.folder + "/" + r.file);
  const std::string text = slurp(kData + "/tinystories_head.txt");
  const std::vector<int32_t> expected = read_u32(kData + "/" + r.folder + "/tinystories_head.u32");
  std::vector<std::vector<int32_t>> got(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < got.size(); ++t)
    threads.emplace_back([&, t] { got[t] = tok->encode(text.substr(t * 1000), false); });  // overlapping texts
  for (auto& th : threads) th.join();
  EXPECT_EQ(got[0], expected);
  for (size_t t = 1; t < got.size(); ++t) EXPECT_EQ(got[t], tok->encode(text.substr(t * 1000), false)) << t;
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, ReferenceCases,
                         ::testing::Values(Reference{"gpt2", "tokenizer.json"}, Reference{"mistral", "tokenizer.json"},
                                           Reference{"mistral_spm", "tokenizer.model"},
                                           Reference{"gpt_neox_20b", "tokenizer.json"}),
                         [](const ::testing::TestParamInfo<Reference>& info) { return std::string(info.param.folder); });

TEST(ReferenceCases, FolderPrefersTokenizerJson) {
  const auto tok = load_tokenizer(kData + "/mistral");
  EXPECT_NE(tok->describe().find("hf-bpe tokenizer.json sha256:"), std::string::npos) << tok->describe();
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  const auto spm = load_tokenizer(kData + "/mistral_spm");
  EXPECT_NE(spm->describe().find("sentencepiece tokenizer.model sha256:"), std::string::npos) << spm->describe();
  EXPECT_EQ(spm->vocab_size(), 32000);
  EXPECT_EQ(spm->bos_id(), 1);
  EXPECT_EQ(spm->eos_id(), 2);
  const auto gpt2 = load_tokenizer(kData + "/gpt2");
  EXPECT_EQ(gpt2->vocab_size(), 50257);
  EXPECT_EQ(gpt2->bos_id(), std::nullopt);
  EXPECT_EQ(gpt2->eos_id(), 50256);  // <|endoftext|> separates documents
  EXPECT_EQ(load_tokenizer(kData + "/gpt_neox_20b")->vocab_size(), 50277);
}

}  // namespace
}  // namespace qh::tok
