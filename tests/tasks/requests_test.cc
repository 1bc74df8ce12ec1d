// lm-eval's request encoding: trailing whitespace of the context moves to the continuation, the continuation
// tokens are those of the whole string beyond the encoded context, the tokenizer's BOS goes first, an empty
// context is conditioned on BOS / EOS; scoring rows and item decisions by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "src/core/error.h"
#include "src/tasks/requests.h"
#include "src/tasks/scoring.h"

namespace qh::tasks {
namespace {

std::vector<int32_t> bytes(const std::string& s) { return std::vector<int32_t>(s.begin(), s.end()); }

// A tokenizer that merges "ab" into one id (300) and has no BOS: the merge across the context / continuation
// boundary is what lm-eval's whole-string encoding keeps.
class MergingTokenizer final : public tok::Tokenizer {
 public:
  std::vector<int32_t> encode(std::string_view text, bool) const override {
    std::vector<int32_t> ids;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == 'a' && i + 1 < text.size() && text[i + 1] == 'b') {
        ids.push_back(300);
        ++i;
      } else {
        ids.push_back(static_cast<unsigned char>(text[i]));
      }
    }
    return ids;
  }
  std::string decode(const std::vector<int32_t>&, bool) const override { return ""; }
  int64_t vocab_size() const override { return 301; }
  std::optional<int32_t> bos_id() const override { return std::nullopt; }
  std::optional<int32_t> eos_id() const override { return eos; }
  std::string describe() const override { return "merging"; }
  std::optional<int32_t> eos = 299;
};

TEST(TaskRequests, TrailingSpaceMovesToTheContinuationAndBosGoesFirst) {
  const tok::ByteTokenizer bytes_tok;
  const auto prefix = special_prefix(bytes_tok);
  ASSERT_EQ(prefix, std::vector<int32_t>{256});
  const Request r = encode_request(bytes_tok, prefix, {"Answer: ", "yes", 3}, 64, "f:1");
  std::vector<int32_t> want{256};
  for (int32_t c : bytes("Answer: yes")) want.push_back(c);
  EXPECT_EQ(r.tokens, want);
  EXPECT_EQ(r.continuation, 4);  // " yes": the space moved over
  // Empty context: BOS (already the prefix) conditions the continuation.
  const Request e = encode_request(bytes_tok, prefix, {"", "hi", 2}, 64, "f:2");
  EXPECT_EQ(e.tokens, (std::vector<int32_t>{256, 'h', 'i'}));
  EXPECT_EQ(e.continuation, 2);
}

TEST(TaskRequests, ContinuationTokensAreTheWholeStringsBeyondTheContext) {
  const MergingTokenizer t;
  EXPECT_TRUE(special_prefix(t).empty());
  // whole "xabc" -> [x, 300, c]; context "xa" -> [x, a] (2 tokens); continuation = whole[2:] = [c].
  const Request r = encode_request(t, {}, {"xa", "bc", 2}, 64, "f:1");
  EXPECT_EQ(r.tokens, (std::vector<int32_t>{'x', 'a', 'c'}));
  EXPECT_EQ(r.continuation, 1);
  // Empty context without a BOS: EOS conditions it (lm-eval's prefix_token_id).
  const Request e = encode_request(t, {}, {"", "ab", 2}, 64, "f:2");
  EXPECT_EQ(e.tokens, (std::vector<int32_t>{299, 300}));
  MergingTokenizer none;
  none.eos.reset();
  EXPECT_THROW(encode_request(none, {}, {"", "ab", 2}, 64, "f:3"), InputError);
  // "xa" + "b": whole [x, 300] is no longer than the context: nothing to score.
  try {
    encode_request(t, {}, {"xa", "b", 1}, 64, "tasks.jsonl:7");
    FAIL();
  } catch (const InputError& err) {
    EXPECT_NE(std::string(err.what()).find("tasks.jsonl:7"), std::string::npos) << err.what();
  }
}

TEST(TaskRequests, LeftTruncationKeepsTheContinuation) {
  const tok::ByteTokenizer b;
  const Request r = encode_request(b, {256}, {"abcdefgh", "ij", 2}, 6, "f:1");  // 11 tokens, input 10
  EXPECT_EQ(input_start(r, 6), 4);  // input = tokens[4, 10): the last 6, the continuation's rows included
  EXPECT_EQ(input_start(r, 64), 0);
  EXPECT_THROW(encode_request(b, {256}, {"a", "0123456789", 10}, 6, "f:2"), InputError);  // longer than context
}

TEST(TaskScoring, RowsAndDecisionsByHand) {
  // Two rows over a vocabulary of 3. Row 0 logits (0, ln 2, ln 2): softmax (1/5, 2/5, 2/5); row 1 (ln 3, 0, 0):
  // (3/5, 1/5, 1/5). Targets (1, 0): loglik = ln(2/5) + ln(3/5). Row 0's argmax is id 1 (the first of the tie),
  // row 1's is 0: greedy.
  const float rows[] = {0.0f, std::log(2.0f), std::log(2.0f), std::log(3.0f), 0.0f, 0.0f};
  const int32_t targets[] = {1, 0};
  const ChoiceScore s = score_rows(rows, 3, targets, 2);
  EXPECT_NEAR(s.loglik, std::log(0.4) + std::log(0.6), 1e-6);
  EXPECT_TRUE(s.greedy);
  const int32_t other[] = {2, 0};  // id 2 ties id 1 in row 0 but is not the first maximum
  EXPECT_FALSE(score_rows(rows, 3, other, 2).greedy);

  // acc picks the largest loglik (-4 -> choice 1); acc_norm divides by characters: -6/3 = -2 (choice 0) beats
  // -4/1 = -4 and -5/2 = -2.5.
  TaskItem item;
  item.choices = {{"c", " abc", 3}, {"c", " d", 1}, {"c", " ef", 2}};
  item.gold = 0;
  const ItemOutcome o = decide(item, TaskKind::kMultipleChoice, {{-6, false}, {-4, false}, {-5, false}});
  EXPECT_FALSE(o.acc);
  EXPECT_TRUE(o.acc_norm);
  // Ties go to the first choice, as numpy.argmax.
  item.gold = 1;
  EXPECT_FALSE(decide(item, TaskKind::kMultipleChoice, {{-4, false}, {-4, false}, {-9, false}}).acc);
  TaskItem cloze;
  cloze.choices = {{"c", " w", 1}};
  EXPECT_TRUE(decide(cloze, TaskKind::kGreedy, {{-1, true}}).acc);
  EXPECT_FALSE(decide(cloze, TaskKind::kGreedy, {{-0.1, false}}).acc);
}

}  // namespace
}  // namespace qh::tasks
