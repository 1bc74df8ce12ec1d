// text: and jsonl: data specs with real tokenizers: which tokenizer is used (tokenizer=, the caller's, the
// checkpoint folder's, bytes only for the byte-level vocabulary), how documents are joined (BOS template,
// EOS between documents), and every refusal (no tokenizer for a non-byte vocabulary, a tokenizer larger than
// the model's vocabulary, broken JSONL lines, invalid UTF-8).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "models/data/data_spec.h"
#include "models/tokenizer/load.h"
#include "src/core/error.h"

namespace qh::data {
namespace {

using Ids = std::vector<int32_t>;

const std::string kTok = std::string(QH_SOURCE_DIR) + "/tests/tokenizer/data";

class TextData : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "qh_text_data." + std::to_string(::getpid());
    std::system(("rm -rf '" + dir_ + "' && mkdir -p '" + dir_ + "'").c_str());
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  std::string file(const std::string& name, const std::string& content) {
    const std::string p = dir_ + "/" + name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  template <typename F>
  void expect_input_error(F&& f, const std::string& fragment) {
    try {
      f();
      ADD_FAILURE() << "no InputError; expected one mentioning '" << fragment << "'";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  }
  std::string dir_;
};

Ids concat(std::initializer_list<Ids> parts) {
  Ids out;
  for (const Ids& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST_F(TextData, TextIsTokenizedWithTheNamedTokenizerAndSplit) {
  const std::string text = "Once upon a time, there was a tiny robot. It liked to sing.";
  const std::string p = file("story.txt", text);
  const auto gpt2 = tok::load_tokenizer(kTok + "/gpt2");
  const Ids ids = gpt2->encode(text, true);
  ASSERT_GT(ids.size(), 8u);
  const Dataset d = load_data("text:" + p + ",len=8,tokenizer=" + kTok + "/gpt2", 50257);
  EXPECT_EQ(d.tokenizer, gpt2->describe());
  EXPECT_EQ(d.documents, 1);
  EXPECT_EQ(d.vocab_size, 50257);
  ASSERT_EQ(d.sequences.size(), (ids.size() + 7) / 8);
  EXPECT_EQ(d.sequences[0], Ids(ids.begin(), ids.begin() + 8));
  Ids all;
  for (const auto& s : d.sequences) all.insert(all.end(), s.begin(), s.end());
  EXPECT_EQ(all, Ids(ids.begin(), ids.begin() + static_cast<long>(all.size())));
}

TEST_F(TextData, JsonlDocumentsAreJoinedWithEosBetween) {
  const std::string p = file("docs.jsonl", "{\"text\": \"First doc.\"}\n\n{\"text\": \"Second one\", \"id\": 2}\n"
                                           "{\"text\": \"Third\"}\n");
  const auto gpt2 = tok::load_tokenizer(kTok + "/gpt2");
  const Dataset g = load_data("jsonl:" + p + ",tokenizer=" + kTok + "/gpt2", 0);
  EXPECT_EQ(g.documents, 3);
  ASSERT_EQ(g.sequences.size(), 1u);
  EXPECT_EQ(g.sequences[0], concat({gpt2->encode("First doc.", true), {50256}, gpt2->encode("Second one", true),
                                    {50256}, gpt2->encode("Third", true)}));
  // Mistral: each document gets its BOS from the template; EOS (from tokenizer_config.json) between them.
  const auto mistral = tok::load_tokenizer(kTok + "/mistral");
  const Dataset m = load_data("jsonl:" + p + ",tokenizer=" + kTok + "/mistral", 32000);
  EXPECT_EQ(m.sequences[0], concat({mistral->encode("First doc.", true), {2}, mistral->encode("Second one", true), {2},
                                    mistral->encode("Third", true)}));
  EXPECT_EQ(m.sequences[0][0], 1);
  const std::string other = file("other.jsonl", "{\"body\": \"x y\"}\n");
  EXPECT_EQ(load_data("jsonl:" + other + ",field=body,tokenizer=" + kTok + "/gpt2", 0).sequences[0],
            gpt2->encode("x y", true));
}

TEST_F(TextData, CheckpointFolderTokenizerIsFound) {
  const std::string ckpt = dir_ + "/ckpt";
  std::system(("mkdir -p '" + ckpt + "' && cp '" + kTok + "/gpt2/tokenizer.json' '" + ckpt + "/'").c_str());
  const std::string p = file("t.txt", "Hello there, general.");
  const Dataset d = load_data("text:" + p, 50257, {ckpt, nullptr});
  EXPECT_EQ(d.sequences[0], tok::load_tokenizer(kTok + "/gpt2")->encode("Hello there, general.", true));
  // A tokenizer given by the caller wins over the folder's; tokenizer= in the spec wins over both.
  std::shared_ptr<const tok::Tokenizer> mistral = tok::load_tokenizer(kTok + "/mistral");
  EXPECT_EQ(load_data("text:" + p, 50257, {ckpt, mistral}).tokenizer, mistral->describe());
  EXPECT_EQ(load_data("text:" + p + ",tokenizer=" + kTok + "/gpt_neox_20b", 50432, {ckpt, mistral}).vocab_size, 50277);
}

TEST_F(TextData, BytesOnlyForTheByteLevelVocabulary) {
  const std::string p = file("t.txt", "abc");
  const Dataset bytes = load_data("text:" + p, 257, {dir_, nullptr});  // a folder without tokenizer files
  EXPECT_EQ(bytes.tokenizer, "bytes");
  EXPECT_EQ(bytes.sequences[0], (Ids{256, 'a', 'b', 'c'}));
  expect_input_error([&] { load_data("text:" + p, 32000, {dir_, nullptr}); }, "needs its own tokenizer");
  const std::string j = file("d.jsonl", "{\"text\": \"ab\"}\n{\"text\": \"c\"}\n");
  const Dataset docs = load_data("jsonl:" + j, 257);
  ASSERT_EQ(docs.sequences.size(), 2u);  // byte-level documents are chunked each on its own, BOS first
  EXPECT_EQ(docs.sequences[0], (Ids{256, 'a', 'b'}));
  EXPECT_EQ(docs.sequences[1], (Ids{256, 'c'}));
  expect_input_error([&] { load_data("jsonl:" + j, 50257); }, "needs its own tokenizer");
}

TEST_F(TextData, RefusalsNameTheProblem) {
  const std::string p = file("t.txt", "some text");
  expect_input_error([&] { load_data("text:" + p + ",tokenizer=" + kTok + "/gpt2", 50000); },
                     "has 50257 ids but the model's vocabulary has only 50000");
  expect_input_error([&] { load_data("text:" + p + ",tokenizer=" + dir_ + "/none", 50257); }, "no such tokenizer");
  expect_input_error([&] { load_data("text:" + p + ",tokenizer=", 50257); }, "tokenizer= needs a path");
  expect_input_error([&] { load_data("text:" + p + ",field=x", 50257); }, "unknown key 'field'");
  const std::string bad = file("bad.txt", "ok \xFF no");
  expect_input_error([&] { load_data("text:" + bad + ",tokenizer=" + kTok + "/gpt2", 50257); }, "not valid UTF-8");
  const std::string broken = file("broken.jsonl", "{\"text\": \"a\"}\n{\"text\": \n");
  expect_input_error([&] { load_data("jsonl:" + broken + ",tokenizer=" + kTok + "/gpt2", 0); }, "broken.jsonl:2: not valid JSON");
  const std::string nofield = file("nofield.jsonl", "{\"text\": \"a\"}\n{\"body\": \"b\"}\n");
  expect_input_error([&] { load_data("jsonl:" + nofield + ",tokenizer=" + kTok + "/gpt2", 0); }, "nofield.jsonl:2: no field 'text'");
  const std::string number = file("number.jsonl", "{\"text\": 3}\n");
  expect_input_error([&] { load_data("jsonl:" + number + ",tokenizer=" + kTok + "/gpt2", 0); }, "is not a string");
  const std::string array = file("array.jsonl", "[\"text\"]\n");
  expect_input_error([&] { load_data("jsonl:" + array + ",tokenizer=" + kTok + "/gpt2", 0); }, "a JSON object per line");
  const std::string blank = file("blank.jsonl", "\n\n");
  expect_input_error([&] { load_data("jsonl:" + blank + ",tokenizer=" + kTok + "/gpt2", 0); }, "no documents");
}

}  // namespace
}  // namespace qh::data
