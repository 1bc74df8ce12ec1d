// The evaluator: windows / stride bookkeeping, the shared fp pass, bad input.
#include <gtest/gtest.h>

#include <cmath>

#include "src/core/error.h"
#include "quant/scheme.h"
#include "src/eval/evaluator.h"
#include "tests/engine/tiny_models.h"

namespace qh::eval {
namespace {

data::Dataset make_data(int n, int64_t len, uint32_t seed) {
  data::Dataset d;
  d.spec = "test";
  d.tokenizer = "ids";
  for (int i = 0; i < n; ++i) d.sequences.push_back(enginetest::random_tokens(len, 40, seed + i));
  d.vocab_size = 40;
  return d;
}

TEST(Evaluator, FullPrecisionCaseHasNoDegradation) {
  const Model m = enginetest::random_model(enginetest::tiny_spec(), 1);
  const auto data = make_data(3, 20, 2);
  std::vector<EvalCase> cases{{"", parse_scheme("FP32"), {}, {}}, {"", parse_scheme("W4A4"), {}, {}}};
  const EvalReport r = evaluate_report(m, data, cases, {});
  ASSERT_EQ(r.cases.size(), 2u);
  EXPECT_EQ(r.scored_tokens, 3 * 19);
  EXPECT_EQ(r.cases[0].metrics.n_tokens, 3 * 19);
  EXPECT_DOUBLE_EQ(r.cases[0].metrics.kld_mean, 0.0);
  EXPECT_DOUBLE_EQ(r.cases[0].metrics.ppl, r.cases[0].metrics.ppl_fp);
  EXPECT_GT(r.cases[1].metrics.kld_mean, 0.0);
  EXPECT_DOUBLE_EQ(r.cases[1].metrics.ppl_fp, r.cases[0].metrics.ppl_fp);  // one shared fp pass
  EXPECT_TRUE(std::isfinite(r.cases[1].sqnr_db));
  EXPECT_EQ(r.cases[1].label, "W4A4");
  EXPECT_EQ(r.cases[1].metrics.by_class[static_cast<int>(PosClass::kFirst)].n, 3);
}

TEST(Evaluator, OverlappingWindowsScoreEveryPositionOnce) {
  const Model m = enginetest::random_model(enginetest::tiny_spec(), 1);  // context 32
  const auto data = make_data(2, 70, 3);
  EvalOptions o;
  o.window = 32;
  o.stride = 16;
  const EvalReport r = evaluate_report(m, data, {{"", parse_scheme("W8A8"), {}, {}}}, o);
  EXPECT_EQ(r.scored_tokens, 2 * 69);
  EXPECT_EQ(r.cases[0].metrics.n_tokens, 2 * 69);
  EXPECT_EQ(r.windows, 2 * 4);  // starts 0, 16, 32, 48 (48 + 32 >= 70)
  // Positions 0 only from the first window of each sequence.
  EXPECT_EQ(r.cases[0].metrics.by_class[static_cast<int>(PosClass::kFirst)].n, 2);
}

TEST(Evaluator, ProtectionsAndStaticSchemesRun) {
  const Model m = enginetest::random_model(enginetest::tiny_spec(), 4);
  const auto data = make_data(4, 24, 5);
  std::vector<EvalCase> cases;
  for (const char* p : {"none", "tokens", "channels", "both"})
    cases.push_back({"", parse_scheme("W4A4"), engine::parse_protection(p), {}});
  cases.push_back({"", parse_scheme("W8A8-static"), {}, {}});
  const auto r = evaluate(m, data, cases, {});
  ASSERT_EQ(r.size(), 5u);
  for (const auto& c : r) EXPECT_TRUE(std::isfinite(c.metrics.kld_mean)) << c.label;
  EXPECT_EQ(r[3].label, "W4A4+both");
  // Protecting both rows and channels can only keep more in full precision than protecting neither here.
  EXPECT_LT(r[3].metrics.kld_mean, r[0].metrics.kld_mean);
  EXPECT_FALSE(r[4].to_json().dump().empty());
}

TEST(Evaluator, BadInputIsAnInputError) {
  const Model m = enginetest::random_model(enginetest::tiny_spec(), 1);
  auto data = make_data(1, 20, 2);
  EvalOptions o;
  o.window = 33;  // context 32
  EXPECT_THROW(evaluate(m, data, {{"", parse_scheme("W8A8"), {}, {}}}, o), InputError);
  data.sequences[0][4] = 40;
  EXPECT_THROW(evaluate(m, data, {{"", parse_scheme("W8A8"), {}, {}}}, {}), InputError);
  data::Dataset empty;
  EXPECT_THROW(evaluate(m, empty, {{"", parse_scheme("W8A8"), {}, {}}}, {}), InputError);
  EXPECT_THROW(engine::parse_protection("sinks"), InputError);
}

}  // namespace
}  // namespace qh::eval
