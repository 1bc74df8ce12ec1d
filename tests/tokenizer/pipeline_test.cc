// Normalizers, pre-tokenizers, added tokens, post-processors and decoders one by one, with hand-worked
// expectations (the split behaviors follow the reference's definitions).
#include <gtest/gtest.h>

#include "models/tokenizer/decoder.h"
#include "models/tokenizer/normalizer.h"
#include "models/tokenizer/post_processor.h"
#include "models/tokenizer/pre_tokenizer.h"
#include "models/tokenizer/utf8.h"
#include "tests/tokenizer/test_util.h"

namespace qh::tok {
namespace {

using nlohmann::json;
using Ids = std::vector<int32_t>;
using Strings = std::vector<std::string>;

std::string normalized(const json& j, const std::string& text) { return parse_normalizer(j, "t.json", "normalizer")->apply(text); }

Strings pieces(const json& j, const std::string& text) {
  std::vector<Piece> p{{text, true}};
  parse_pre_tokenizer(j, "t.json", "pre_tokenizer")->apply(p);
  Strings out;
  for (const Piece& x : p) out.push_back(x.text);
  return out;
}

Strings decoded(const json& j, Strings tokens) { return parse_decoder(j, "t.json", "decoder")->decode_chain(std::move(tokens)); }

TEST(Normalizers, UnicodeFormsCaseStripPrependReplace) {
  EXPECT_EQ(normalized({{"type", "NFKC"}}, "\xEF\xAC\x81"), "fi");                   // the ﬁ ligature
  EXPECT_EQ(normalized({{"type", "NFC"}}, "e\xCC\x81"), "\xC3\xA9");                 // e + combining acute -> é
  EXPECT_EQ(normalized({{"type", "NFD"}}, "\xC3\xA9"), "e\xCC\x81");
  EXPECT_EQ(normalized({{"type", "Lowercase"}}, "\xCE\xA3\xCE\x91\xCE\xA3"), "\xCF\x83\xCE\xB1\xCF\x82");  // ΣΑΣ -> σας
  EXPECT_EQ(normalized({{"type", "Lowercase"}}, "ABC"), "abc");
  EXPECT_EQ(normalized({{"type", "Strip"}, {"strip_left", true}, {"strip_right", false}}, " \t x \xE3\x80\x80"),
            "x \xE3\x80\x80");
  EXPECT_EQ(normalized({{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}}, " x \xE3\x80\x80"), "x");
  EXPECT_EQ(normalized({{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}}, "hi"), "\xE2\x96\x81hi");
  EXPECT_EQ(normalized({{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}}, ""), "");
  EXPECT_EQ(normalized({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "_"}}, "a b  c"), "a_b__c");
  EXPECT_EQ(normalized({{"type", "Replace"}, {"pattern", {{"Regex", "\\s+"}}}, {"content", " "}}, "a \t\n b"), "a b");
  EXPECT_EQ(normalized({{"type", "Replace"}, {"pattern", {{"String", "a.b"}}}, {"content", "!"}}, "a.b axb"), "! axb");
  EXPECT_EQ(normalized({{"type", "Sequence"},
                        {"normalizers", {{{"type", "Lowercase"}}, {{"type", "Prepend"}, {"prepend", "_"}}}}},
                       "AB"),
            "_ab");
}

TEST(PreTokenizers, SplitBehaviors) {
  const auto split = [](const char* behavior, bool invert) {
    return json{{"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", behavior}, {"invert", invert}};
  };
  EXPECT_EQ(pieces(split("Removed", false), "a-b--c"), (Strings{"a", "b", "c"}));
  EXPECT_EQ(pieces(split("Isolated", false), "a-b--c"), (Strings{"a", "-", "b", "-", "-", "c"}));
  EXPECT_EQ(pieces(split("MergedWithPrevious", false), "a-b--c"), (Strings{"a-", "b-", "-", "c"}));
  EXPECT_EQ(pieces(split("MergedWithNext", false), "a-b--c"), (Strings{"a", "-b", "-", "-c"}));
  EXPECT_EQ(pieces(split("Contiguous", false), "a-b--c"), (Strings{"a", "-", "b", "--", "c"}));
  EXPECT_EQ(pieces(split("Removed", true), "a-b--c"), (Strings{"-", "-", "-"}));
}

TEST(PreTokenizers, RegexSplitsWithUnicodeClasses) {
  // The Llama-3 pattern: contractions, letters with one leading non-letter, digits in threes, lookahead.
  const json llama3 = {{"type", "Split"},
                       {"pattern",
                        {{"Regex",
                          "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
                          "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}}},
                       {"behavior", "Isolated"},
                       {"invert", false}};
  EXPECT_EQ(pieces(llama3, "I'M 12345 \xC3\xA9t\xC3\xA9!!\n\n  x"),
            (Strings{"I", "'M", " ", "123", "45", " \xC3\xA9t\xC3\xA9", "!!\n\n", " ", " x"}));
  const json possessive = {{"type", "Split"}, {"pattern", {{"Regex", "\\p{L}++|\\p{N}"}}}, {"behavior", "Removed"}, {"invert", true}};
  EXPECT_EQ(pieces(possessive, "ab1c"), (Strings{"ab", "1", "c"}));
}

TEST(PreTokenizers, ByteLevelMetaspaceDigitsPunctuationWhitespace) {
  EXPECT_EQ(pieces({{"type", "ByteLevel"}, {"add_prefix_space", true}}, "Hi you"), (Strings{"\xC4\xA0Hi", "\xC4\xA0you"}));
  EXPECT_EQ(pieces({{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}, "a b\n"),
            (Strings{"a\xC4\xA0" "b\xC4\x8A"}));
  const std::string m = "\xE2\x96\x81";
  EXPECT_EQ(pieces({{"type", "Metaspace"}, {"replacement", m}, {"prepend_scheme", "always"}, {"split", true}}, "a b"),
            (Strings{m + "a", m + "b"}));
  EXPECT_EQ(pieces({{"type", "Metaspace"}, {"replacement", m}, {"prepend_scheme", "never"}, {"split", false}}, "a b"),
            (Strings{"a" + m + "b"}));
  EXPECT_EQ(pieces({{"type", "Digits"}, {"individual_digits", true}}, "a12b"), (Strings{"a", "1", "2", "b"}));
  EXPECT_EQ(pieces({{"type", "Digits"}, {"individual_digits", false}}, "a12b\xD9\xA3"), (Strings{"a", "12", "b", "\xD9\xA3"}));
  EXPECT_EQ(pieces({{"type", "Punctuation"}}, "hi!?\xC2\xBFx"), (Strings{"hi", "!", "?", "\xC2\xBF", "x"}));
  EXPECT_EQ(pieces({{"type", "Whitespace"}}, "Hey friend!  x_y"), (Strings{"Hey", "friend", "!", "x_y"}));
  EXPECT_EQ(pieces({{"type", "WhitespaceSplit"}}, "a  b\tc\xE3\x80\x80" "d"), (Strings{"a", "b", "c", "d"}));
  EXPECT_EQ(pieces({{"type", "Sequence"},
                    {"pretokenizers", {{{"type", "WhitespaceSplit"}}, {{"type", "Digits"}, {"individual_digits", true}}}}},
                   "a1 22"),
            (Strings{"a", "1", "2", "2"}));
}

// A character-level BPE (no merges) over a small alphabet, with added tokens.
json char_vocab_json(json added, json normalizer = nullptr) {
  json vocab = json::object();
  int id = 0;
  for (const char* c : {"a", "b", " ", "h", "e", "l", "o", "<", "x", ">", "X", "<unk>"}) vocab[c] = id++;
  json j = test::bpe_json(vocab, json::array(), {{"unk_token", "<unk>"}});
  j["added_tokens"] = std::move(added);
  j["normalizer"] = std::move(normalizer);
  return j;
}

json added(int id, const char* content, json flags) {
  json t = {{"id", id}, {"content", content}, {"special", false}, {"single_word", false}, {"lstrip", false},
            {"rstrip", false}, {"normalized", false}};
  for (auto it = flags.begin(); it != flags.end(); ++it) t[it.key()] = it.value();
  return t;
}

TEST(AddedTokens, LstripRstripSingleWord) {
  const auto lstrip = test::hf(char_vocab_json({added(20, "<x>", {{"lstrip", true}})}));
  EXPECT_EQ(lstrip->encode("a  <x>b", false), (Ids{0, 20, 1}));
  const auto plain = test::hf(char_vocab_json({added(20, "<x>", json::object())}));
  EXPECT_EQ(plain->encode("a <x> b", false), (Ids{0, 2, 20, 2, 1}));
  const auto rstrip = test::hf(char_vocab_json({added(20, "<x>", {{"rstrip", true}})}));
  EXPECT_EQ(rstrip->encode("a<x>  b", false), (Ids{0, 20, 1}));
  const auto word = test::hf(char_vocab_json({added(21, "ab", {{"single_word", true}})}));
  EXPECT_EQ(word->encode("ab ab", false), (Ids{21, 2, 21}));
  EXPECT_EQ(word->encode("abab", false), (Ids{0, 1, 0, 1}));
  EXPECT_EQ(word->encode("<ab>", false), (Ids{7, 21, 9}));
}

TEST(AddedTokens, LongestMatchWins) {
  const auto t = test::hf(char_vocab_json({added(20, "<x", json::object()), added(21, "<x>", json::object())}));
  EXPECT_EQ(t->encode("a<x>b<xa", false), (Ids{0, 21, 1, 20, 0}));
}

TEST(AddedTokens, NormalizedTokensMatchTheNormalizedText) {
  const json lower = {{"type", "Lowercase"}};
  const auto t = test::hf(char_vocab_json({added(20, "HELLO", {{"normalized", true}}), added(21, "<X>", json::object())},
                                          lower));
  EXPECT_EQ(t->encode("HeLLo", false), (Ids{20}));
  EXPECT_EQ(t->encode("<X>", false), (Ids{21}));         // matched in the raw text, before lowercasing
  EXPECT_EQ(t->encode("<x>", false), (Ids{7, 8, 9}));    // a normalized=false token is matched as written
  EXPECT_EQ(t->decode({20, 21}, false), "HELLO <X>");    // no decoder: tokens joined with spaces
}

TEST(PostProcessors, TemplatesAndBosEos) {
  json j = char_vocab_json({added(20, "<s>", {{"special", true}}), added(21, "</s>", {{"special", true}})});
  j["post_processor"] = {{"type", "TemplateProcessing"},
                         {"single", {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                                     {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                     {{"SpecialToken", {{"id", "</s>"}, {"type_id", 0}}}}}},
                         {"pair", json::array()},
                         {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {20}}, {"tokens", {"<s>"}}}},
                                             {"</s>", {{"id", "</s>"}, {"ids", {21}}, {"tokens", {"</s>"}}}}}}};
  const auto t = test::hf(j);
  EXPECT_EQ(t->encode("ab", true), (Ids{20, 0, 1, 21}));
  EXPECT_EQ(t->encode("ab", false), (Ids{0, 1}));
  EXPECT_EQ(t->encode("", true), (Ids{20, 21}));
  EXPECT_EQ(t->bos_id(), 20);
  EXPECT_EQ(t->eos_id(), 21);
  EXPECT_EQ(t->decode({20, 0, 21}, true), "a");
  j["post_processor"] = {{"type", "RobertaProcessing"}, {"sep", {"</s>", 21}}, {"cls", {"<s>", 20}},
                         {"trim_offsets", true}, {"add_prefix_space", false}};
  EXPECT_EQ(test::hf(j)->encode("b", true), (Ids{20, 1, 21}));
  j["post_processor"] = {{"type", "BertProcessing"}, {"sep", {"</s>", 21}}, {"cls", {"<s>", 20}}};
  EXPECT_EQ(test::hf(j)->encode("b", true), (Ids{20, 1, 21}));
}

TEST(Decoders, EachStep) {
  const std::string m = "\xE2\x96\x81";
  EXPECT_EQ(decoded({{"type", "ByteLevel"}}, {"\xC4\xA0hi", "!"}), (Strings{" hi!"}));
  EXPECT_EQ(decoded({{"type", "ByteLevel"}}, {"\xC3\xBF"}), (Strings{"\xEF\xBF\xBD"}));  // byte FF alone: U+FFFD
  EXPECT_EQ(decoded({{"type", "Metaspace"}, {"replacement", m}, {"prepend_scheme", "always"}}, {m + "a", m + "b"}),
            (Strings{"a", " b"}));
  EXPECT_EQ(decoded({{"type", "Metaspace"}, {"replacement", m}, {"prepend_scheme", "never"}}, {m + "a"}), (Strings{" a"}));
  EXPECT_EQ(decoded({{"type", "ByteFallback"}}, {"a", "<0xC3>", "<0xA9>", "<0xFF>", "b", "<0xFF>"}),
            (Strings{"a", "\xEF\xBF\xBD", "\xEF\xBF\xBD", "\xEF\xBF\xBD", "b", "\xEF\xBF\xBD"}));
  EXPECT_EQ(decoded({{"type", "ByteFallback"}}, {"<0xC3>", "<0xA9>"}), (Strings{"\xC3\xA9"}));
  EXPECT_EQ(decoded({{"type", "Fuse"}}, {"a", "b"}), (Strings{"ab"}));
  EXPECT_EQ(decoded({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 2}}, {"  a   ", " "}), (Strings{" a ", ""}));
  EXPECT_EQ(decoded({{"type", "Replace"}, {"pattern", {{"String", m}}}, {"content", " "}}, {m + "a" + m}), (Strings{" a "}));
}

TEST(Utf8, LossyRepairFollowsMaximalSubparts) {
  EXPECT_EQ(utf8_lossy("a\xF0\x9F\x98" "b"), "a\xEF\xBF\xBD" "b");        // a truncated emoji: one U+FFFD
  EXPECT_EQ(utf8_lossy("\xE0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD");           // E0 80 is never valid: two
  EXPECT_EQ(utf8_lossy("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate: three
  EXPECT_EQ(utf8_lossy("\xC3\xA9"), "\xC3\xA9");
  EXPECT_EQ(first_invalid_utf8("ok\xC3\xA9\xFF"), 4u);
  EXPECT_FALSE(first_invalid_utf8("\xF4\x8F\xBF\xBF").has_value());
  EXPECT_EQ(first_invalid_utf8("\xF4\x90\x80\x80"), 0u);  // above U+10FFFF
}

}  // namespace
}  // namespace qh::tok
