// Bad input never crashes and never gives silent ids: invalid UTF-8, empty text, huge runs of one
// character, and broken tokenizer files, each an InputError naming the file and the JSON field.
#include <gtest/gtest.h>

#include "models/tokenizer/load.h"
#include "tests/tokenizer/test_util.h"

namespace qh::tok {
namespace {

using nlohmann::json;
using test::expect_input_error;

const std::string kData = std::string(QH_SOURCE_DIR) + "/tests/tokenizer/data";

class EveryTokenizer : public ::testing::TestWithParam<const char*> {
 protected:
  static std::unique_ptr<Tokenizer> load(const char* which) { return load_tokenizer(kData + "/" + which); }
};

TEST_P(EveryTokenizer, InvalidUtf8IsAnInputError) {
  const auto t = load(GetParam());
  expect_input_error([&] { t->encode("ok \xFF bad", false); }, {"not valid UTF-8", "byte offset 3"});
  expect_input_error([&] { t->encode("\xED\xA0\x80", true); }, {"not valid UTF-8"});    // a surrogate
  expect_input_error([&] { t->encode("ab\xE2\x82", false); }, {"not valid UTF-8"});     // cut short
}

TEST_P(EveryTokenizer, EmptyTextGivesOnlyTheSpecialTokens) {
  const auto t = load(GetParam());
  EXPECT_TRUE(t->encode("", false).empty());
  const std::vector<int32_t> special = t->encode("", true);
  EXPECT_LE(special.size(), 2u);
  EXPECT_EQ(t->decode({}, false), "");
}

TEST_P(EveryTokenizer, HugeRunsOfOneCharacterRoundTrip) {
  const auto t = load(GetParam());
  for (const std::string unit : {"a", " ", "\n", "7", "\xF0\x9F\x98\x80", "\xE2\x80\x8D", "!"}) {
    std::string text;
    for (int i = 0; i < 100000; ++i) text += unit;
    const std::vector<int32_t> ids = t->encode(text, false);
    ASSERT_FALSE(ids.empty());
    for (int32_t id : ids) ASSERT_TRUE(id >= 0 && id < t->vocab_size());
    const std::string which = GetParam();
    // SentencePiece's normalization folds runs of whitespace: only the ids are checked there.
    if (which == "mistral_spm" && (unit == " " || unit == "\n")) continue;
    // Mistral's decoder strips the first space of the text (its Strip step), as the reference does.
    const std::string expected = which == "mistral" && unit == " " ? text.substr(1) : text;
    EXPECT_EQ(t->decode(ids, false), expected) << which << " run of '" << unit << "'";
  }
}

TEST_P(EveryTokenizer, DecodeRejectsIdsOutsideTheVocabulary) {
  const auto t = load(GetParam());
  expect_input_error([&] { t->decode({1, static_cast<int32_t>(t->vocab_size())}, false); }, {"position 1", "vocabulary"});
  expect_input_error([&] { t->decode({-1}, false); }, {"id -1"});
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, EveryTokenizer, ::testing::Values("gpt2", "mistral", "mistral_spm", "gpt_neox_20b"),
                         [](const ::testing::TestParamInfo<const char*>& info) { return std::string(info.param); });

json minimal() { return test::bpe_json({{"a", 0}, {"b", 1}, {"ab", 2}}, {"a b"}); }

void expect_refused(const json& j, std::initializer_list<const char*> fragments) {
  expect_input_error([&] { test::hf(j); }, fragments);
}

TEST(BrokenTokenizerJson, UnsupportedComponentsAreRefusedByName) {
  json j = minimal();
  j["model"]["type"] = "WordPiece";
  expect_refused(j, {"test.json", "model.type", "WordPiece", "not supported"});
  j = minimal();
  j["normalizer"] = {{"type", "BertNormalizer"}};
  expect_refused(j, {"test.json", "normalizer.type", "BertNormalizer"});
  j = minimal();
  j["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "NFC"}}, {{"type", "Precompiled"}}}}};
  expect_refused(j, {"normalizer.normalizers[1].type", "Precompiled"});
  j = minimal();
  j["pre_tokenizer"] = {{"type", "BertPreTokenizer"}};
  expect_refused(j, {"pre_tokenizer.type", "BertPreTokenizer"});
  j = minimal();
  j["decoder"] = {{"type", "WordPiece"}};
  expect_refused(j, {"decoder.type", "WordPiece"});
  j = minimal();
  j["post_processor"] = {{"type", "ChatTemplate"}};
  expect_refused(j, {"post_processor.type", "ChatTemplate"});
  j = minimal();
  j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"colour", "red"}};
  expect_refused(j, {"pre_tokenizer.colour", "unknown key"});
  j = minimal();
  j["truncation"] = {{"max_length", 512}};
  expect_refused(j, {"truncation", "not supported"});
  j = minimal();
  j["model"]["dropout"] = 0.1;
  expect_refused(j, {"model.dropout"});
  j = minimal();
  j["extra"] = 1;
  expect_refused(j, {"extra", "unknown key"});
}

TEST(BrokenTokenizerJson, BadFieldsNameTheField) {
  json j = minimal();
  j["model"]["merges"] = {"a c"};
  expect_refused(j, {"model.merges[0]", "\"c\"", "not in the vocabulary"});
  j = minimal();
  j["model"]["merges"] = {"a b c"};
  expect_refused(j, {"model.merges[0]", "two tokens"});
  j = minimal();
  j["model"]["merges"] = json::array({json::array({"a", 1})});
  expect_refused(j, {"model.merges[0]"});
  j = minimal();
  j["model"].erase("vocab");
  expect_refused(j, {"model.vocab"});
  j = minimal();
  j["model"]["vocab"]["b"] = -3;
  expect_refused(j, {"model.vocab", "-3"});
  j = minimal();
  j["model"]["unk_token"] = "<unk>";
  expect_refused(j, {"model.unk_token", "not in the vocabulary"});
  j = minimal();
  j.erase("model");
  expect_refused(j, {"model", "missing"});
  j = minimal();
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}, {"invert", false}};
  expect_refused(j, {"pre_tokenizer.pattern", "does not compile"});
  j = minimal();
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "a"}}}, {"behavior", "Sideways"}, {"invert", false}};
  expect_refused(j, {"pre_tokenizer.behavior", "Sideways"});
  j = minimal();
  j["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "ab"}};
  expect_refused(j, {"pre_tokenizer.replacement", "single character"});
  j = minimal();
  j["added_tokens"] = {{{"id", 1}, {"content", "<s>"}, {"special", true}}};
  expect_refused(j, {"added_tokens[0].id", "already the token"});
  j = minimal();
  j["added_tokens"] = {{{"id", 2000000000}, {"content", "<big>"}}};
  expect_refused(j, {"added_tokens[0].id", "far beyond"});
  j = minimal();
  j["model"]["vocab"]["b"] = 1999999999;
  expect_refused(j, {"model.vocab", "far beyond"});
  j = minimal();
  j["added_tokens"] = {{{"id", 5}, {"content", ""}}};
  expect_refused(j, {"added_tokens[0].content"});
  j = minimal();
  j["post_processor"] = {{"type", "TemplateProcessing"},
                         {"single", {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
                         {"pair", json::array()},
                         {"special_tokens", json::object()}};
  expect_refused(j, {"post_processor.single[0]", "'<s>' is not defined"});
  j = minimal();
  j["post_processor"] = {{"type", "BertProcessing"}, {"sep", {"</s>", 7}}, {"cls", {"<s>", 0}}};
  expect_refused(j, {"post_processor", "adds id 7"});
  j = minimal();
  j["model"] = {{"vocab", {{"a", 0}}}};  // no type, no merges, vocab not a list: neither BPE nor Unigram
  expect_refused(j, {"model.type", "(none)"});
  j = minimal();
  j["model"] = {{"type", "Unigram"}, {"vocab", json::array({json::array({"a", "x"})})}, {"unk_id", 0}};
  expect_refused(j, {"model.vocab[0]", "[piece, score]"});
}

TEST(BrokenTokenizerFiles, MissingEmptyOrNotJson) {
  const std::string dir = test::temp_dir("files");
  expect_input_error([&] { load_tokenizer(dir); }, {dir.c_str(), "no tokenizer.json or tokenizer.model"});
  expect_input_error([&] { load_tokenizer(dir + "/nothing.json"); }, {"nothing.json", "no such"});
  test::write(dir + "/tokenizer.json", "");
  expect_input_error([&] { load_tokenizer(dir); }, {"tokenizer.json", "empty"});
  test::write(dir + "/tokenizer.json", "{\"model\": {\"type\": \"BPE\", ");
  expect_input_error([&] { load_tokenizer(dir); }, {"tokenizer.json", "not valid JSON"});
  test::write(dir + "/tokenizer.json", "{\"model\": 2e039500152}");  // a number no type holds
  expect_input_error([&] { load_tokenizer(dir); }, {"tokenizer.json", "JSON"});
  test::write(dir + "/tokenizer.json", "[1, 2]");
  expect_input_error([&] { load_tokenizer(dir); }, {"tokenizer.json", "JSON object"});
  test::write(dir + "/tokenizer.model", "not a protobuf at all");
  expect_input_error([&] { load_tokenizer(dir + "/tokenizer.model"); }, {"tokenizer.model", "not a SentencePiece model"});
  // tokenizer_config.json naming a BOS that is not a token of the tokenizer.
  test::write(dir + "/tokenizer.json", minimal().dump());
  test::write(dir + "/tokenizer_config.json", R"({"bos_token": "<s>"})");
  expect_input_error([&] { load_tokenizer(dir); }, {"tokenizer_config.json", "bos_token", "'<s>'"});
  test::write(dir + "/tokenizer_config.json", R"({"bos_token": {"content": "a"}, "eos_token": "b"})");
  const auto t = load_tokenizer(dir);
  EXPECT_EQ(t->bos_id(), 0);
  EXPECT_EQ(t->eos_id(), 1);
  std::system(("rm -rf '" + dir + "'").c_str());
}

TEST(Describe, NamesTheKindFileAndContentHash) {
  const auto a = test::hf(minimal());
  json other = minimal();
  other["model"]["vocab"]["c"] = 3;
  const auto b = test::hf(other);
  EXPECT_EQ(a->describe().rfind("hf-bpe test.json sha256:", 0), 0u) << a->describe();
  EXPECT_NE(a->describe(), b->describe());
  EXPECT_EQ(a->describe(), test::hf(minimal())->describe());
}

}  // namespace
}  // namespace qh::tok
