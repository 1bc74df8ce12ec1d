// The BPE and Unigram models on small vocabularies whose results are worked out by hand.
#include <gtest/gtest.h>

#include "tests/tokenizer/test_util.h"

namespace qh::tok {
namespace {

using nlohmann::json;
using test::bpe_json;
using test::hf;
using Ids = std::vector<int32_t>;

TEST(Bpe, LowestRankMergesFirst) {
  // (b, c) has rank 0 and wins over (a, b) of rank 1 although (a, b) is further left: abc -> a + bc.
  const auto t = hf(bpe_json({{"a", 0}, {"b", 1}, {"c", 2}, {"ab", 3}, {"bc", 4}}, {"b c", "a b"}));
  EXPECT_EQ(t->encode("abc", false), (Ids{0, 4}));
  EXPECT_EQ(t->encode("ab", false), (Ids{3}));
}

TEST(Bpe, EqualRanksMergeLeftmostFirst) {
  const auto t = hf(bpe_json({{"a", 0}, {"aa", 1}}, {"a a"}));
  EXPECT_EQ(t->encode("aaa", false), (Ids{1, 0}));
  EXPECT_EQ(t->encode("aaaa", false), (Ids{1, 1}));
}

TEST(Bpe, MergesAsPairsAndChainedMerges) {
  const auto t = hf(bpe_json({{"a", 0}, {"b", 1}, {"c", 2}, {"ab", 3}, {"abc", 4}},
                    json::array({json::array({"a", "b"}), json::array({"ab", "c"})})));
  EXPECT_EQ(t->encode("abc", false), (Ids{4}));
  EXPECT_EQ(t->encode("cab", false), (Ids{2, 3}));
}

TEST(Bpe, UnknownCharactersFuseOrNot) {
  const json vocab = {{"a", 0}, {"b", 1}, {"ab", 2}, {"<unk>", 3}};
  const auto fused = hf(bpe_json(vocab, {"a b"}, {{"unk_token", "<unk>"}, {"fuse_unk", true}}));
  EXPECT_EQ(fused->encode("abxyb", false), (Ids{2, 3, 1}));
  const auto plain = hf(bpe_json(vocab, {"a b"}, {{"unk_token", "<unk>"}, {"fuse_unk", false}}));
  EXPECT_EQ(plain->encode("abxyb", false), (Ids{2, 3, 3, 1}));
  // Without unk token or byte fallback the character cannot be encoded: an error, not a silent drop.
  const auto none = hf(bpe_json(vocab, {"a b"}));
  test::expect_input_error([&] { none->encode("axb", false); }, {"no token"});
}

TEST(Bpe, ByteFallbackSpellsUnknownCharactersAsBytes) {
  json vocab = {{"a", 0}, {"<unk>", 1}};
  vocab["<0xC3>"] = 2;
  vocab["<0xA9>"] = 3;
  const auto t = hf(bpe_json(vocab, json::array(), {{"unk_token", "<unk>"}, {"byte_fallback", true}}));
  EXPECT_EQ(t->encode("a\xC3\xA9", false), (Ids{0, 2, 3}));  // é = C3 A9
  EXPECT_EQ(t->encode("\xE2\x82\xAC", false), (Ids{1}));      // € = E2 82 AC: bytes missing -> unk
}

TEST(Bpe, ContinuingSubwordPrefixAndSuffix) {
  const auto prefixed = hf(bpe_json({{"a", 0}, {"##b", 1}, {"ab", 2}}, {"a ##b"}, {{"continuing_subword_prefix", "##"}}));
  EXPECT_EQ(prefixed->encode("ab", false), (Ids{2}));
  const auto suffixed = hf(bpe_json({{"a", 0}, {"b</w>", 1}, {"ab</w>", 2}, {"b", 3}, {"a</w>", 4}}, {"a b</w>"},
                                    {{"end_of_word_suffix", "</w>"}}));
  EXPECT_EQ(suffixed->encode("ab", false), (Ids{2}));
  EXPECT_EQ(suffixed->encode("ba", false), (Ids{3, 4}));  // the last character carries the suffix
}

TEST(Bpe, IgnoreMergesTakesWholeWordsFromTheVocabulary) {
  const json vocab = {{"a", 0}, {"b", 1}, {"c", 2}, {"abc", 3}};
  EXPECT_EQ(hf(bpe_json(vocab, json::array()))->encode("abc", false), (Ids{0, 1, 2}));
  EXPECT_EQ(hf(bpe_json(vocab, json::array(), {{"ignore_merges", true}}))->encode("abc", false), (Ids{3}));
}

TEST(Bpe, LongWordsGiveTheSameIdsAsMergingThemWhole) {
  // A word over the cache limit is cut where no merged token joins the neighbours (here between "x" and
  // "a"); "xa" is never merged, "ab" and "abx" are, so the cut must not fall inside "abx".
  const auto t = hf(bpe_json({{"a", 0}, {"b", 1}, {"x", 2}, {"ab", 3}, {"abx", 4}}, {"a b", "ab x"}));
  std::string word;
  for (int i = 0; i < 200; ++i) word += "abx";  // 600 bytes: over the cache limit
  EXPECT_EQ(t->encode(word, false), Ids(200, 4));
  EXPECT_EQ(t->encode(word + "ab", false).back(), 3);
}

json unigram_json(bool byte_fallback) {
  json vocab = json::array({json::array({"<unk>", 0.0}), json::array({"a", -1.0}), json::array({"b", -2.0}),
                            json::array({"ab", -1.5}), json::array({"c", -3.0})});
  if (byte_fallback) vocab.push_back(json::array({"<0x78>", -5.0}));  // "x"
  return {{"model", {{"type", "Unigram"}, {"unk_id", 0}, {"vocab", vocab}, {"byte_fallback", byte_fallback}}}};
}

TEST(Unigram, ViterbiPicksTheBestTotalScore) {
  const auto t = hf(unigram_json(false));
  EXPECT_EQ(t->encode("ab", false), (Ids{3}));      // ab: -1.5 beats a + b: -3
  EXPECT_EQ(t->encode("abc", false), (Ids{3, 4}));  // -4.5
  EXPECT_EQ(t->encode("ba", false), (Ids{2, 1}));
  // x has no piece: unk with score min (-3) - 10; two unknowns in a row are one unk.
  EXPECT_EQ(t->encode("xa", false), (Ids{0, 1}));
  EXPECT_EQ(t->encode("xya", false), (Ids{0, 1}));
  EXPECT_EQ(t->decode({3, 4}, false), "ab c");  // no decoder: tokens joined with spaces, as the reference
}

TEST(Unigram, ByteFallbackReplacesUnk) {
  const auto t = hf(unigram_json(true));
  EXPECT_EQ(t->encode("xa", false), (Ids{5, 1}));
  EXPECT_EQ(t->encode("ya", false), (Ids{0, 1}));  // no <0x79>: unk
}

}  // namespace
}  // namespace qh::tok
