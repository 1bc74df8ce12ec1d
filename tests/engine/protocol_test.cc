// The evaluator under each perplexity protocol scores exactly the rows the protocol names: its fp perplexity
// equals one computed here from plain fp forwards over hand-listed windows (llama.cpp's BOS substitution
// included).
#include <gtest/gtest.h>

#include <cmath>

#include "quant/scheme.h"
#include "src/engine/engine.h"
#include "src/eval/evaluator.h"
#include "tests/engine/tiny_models.h"

namespace qh::eval {
namespace {

struct Scored {
  int64_t start, end, from_row, to_row;  // window [start, end), rows [from_row, to_row)
};

// exp(mean NLL) over the listed rows, from fp forwards of each window (first token replaced by `bos` >= 0).
double hand_ppl(const Model& m, const std::vector<int32_t>& seq, const std::vector<Scored>& list, int32_t bos) {
  engine::Engine fp(m, parse_scheme("FP32"));
  const int64_t V = m.spec.vocab_size;
  double nll = 0;
  int64_t n = 0;
  for (const Scored& s : list) {
    std::vector<int32_t> tok(seq.begin() + s.start, seq.begin() + s.end);
    if (bos >= 0) tok[0] = bos;
    std::vector<float> logits(tok.size() * V);
    fp.forward(tok.data(), static_cast<int64_t>(tok.size()), logits.data());
    for (int64_t r = s.from_row; r < s.to_row; ++r) {
      std::vector<double> lp(V);
      log_softmax(logits.data() + r * V, V, lp.data());
      nll -= lp[seq[s.start + r + 1]];
      ++n;
    }
  }
  return std::exp(nll / static_cast<double>(n));
}

TEST(EvaluatorProtocols, StridedAndHalfScoreTheHandListedRows) {
  const Model m = enginetest::random_model(enginetest::tiny_spec(), 11);  // context 32, vocab 40, BOS 39
  data::Dataset d;
  d.spec = "test";
  d.tokenizer = "ids";
  d.vocab_size = 40;
  d.sequences = {enginetest::random_tokens(20, 39, 5)};
  const auto& seq = d.sequences[0];
  auto run = [&](const std::string& protocol, int32_t bos) {
    EvalOptions o;
    o.window = 8;
    o.protocol = parse_protocol(protocol);
    o.bos = bos;
    return evaluate_report(m, d, {{"", parse_scheme("FP32"), {}, {}}}, o);
  };
  // strided:4, W = 8, L = 20: windows [0,8) targets 1..7 (rows 0..6); [4,12) targets 8..11 (rows 3..6);
  // [8,16) targets 12..15; [12,20) targets 16..19.
  const EvalReport s = run("strided:4", -1);
  EXPECT_EQ(s.protocol, "strided:4");
  EXPECT_EQ(s.windows, 4);
  EXPECT_EQ(s.scored_tokens, 19);
  EXPECT_NEAR(s.cases[0].metrics.ppl_fp,
              hand_ppl(m, seq, {{0, 8, 0, 7}, {4, 12, 3, 7}, {8, 16, 3, 7}, {12, 20, 3, 7}}, -1), 1e-9);
  // half, W = 8: chunks [0,8) and [8,16), rows [4, 7) each (targets 5..7 and 13..15); [16,20) is not scored.
  const EvalReport h = run("half", -1);
  EXPECT_EQ(h.windows, 2);
  EXPECT_EQ(h.scored_tokens, 6);
  EXPECT_NEAR(h.cases[0].metrics.ppl_fp, hand_ppl(m, seq, {{0, 8, 4, 7}, {8, 16, 4, 7}}, -1), 1e-9);
  // With a BOS, each chunk starts with it (llama.cpp's add_bos): a different number, the same rows.
  const EvalReport hb = run("half", 39);
  EXPECT_NEAR(hb.cases[0].metrics.ppl_fp, hand_ppl(m, seq, {{0, 8, 4, 7}, {8, 16, 4, 7}}, 39), 1e-9);
  EXPECT_NE(hb.cases[0].metrics.ppl_fp, h.cases[0].metrics.ppl_fp);
  // windows, W = 8: [0,8) [8,16) [16,20), every next token once.
  const EvalReport w = run("windows", -1);
  EXPECT_EQ(w.scored_tokens, 19);
  EXPECT_NEAR(w.cases[0].metrics.ppl_fp, hand_ppl(m, seq, {{0, 8, 0, 8}, {8, 16, 0, 8}, {16, 20, 0, 3}}, -1), 1e-9);
  // A stride and a different protocol together are refused; half without a full chunk scores nothing.
  EvalOptions bad;
  bad.window = 8;
  bad.stride = 4;
  bad.protocol = parse_protocol("half");
  EXPECT_THROW(evaluate_report(m, d, {{"", parse_scheme("FP32"), {}, {}}}, bad), InputError);
  bad.stride = 0;
  bad.window = 32;
  EXPECT_THROW(evaluate_report(m, d, {{"", parse_scheme("FP32"), {}, {}}}, bad), InputError);
}

}  // namespace
}  // namespace qh::eval
