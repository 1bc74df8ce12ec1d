// The evaluator: windows / stride bookkeeping, the shared fp pass, bad input.
#include <gtest/gtest.h>

#include <cmath>

#include "src/core/error.h"
#include "quant/scheme.h"
#include "models/checkpoint.h"
#include "src/engine/matmul.h"
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

namespace qh::eval {
namespace {

// The estimate follows the engine's storage: its derived-weight figure is what the engines hold while they run
// (int8 codes of every quantized site and oneDNN's reordered copy, made by the first forward, plus their per-row
// scales; nothing for fp), and its weights are the model's f32 bytes.
TEST(MemoryEstimate, MatchesWhatTheEnginesHold) {
  ArchSpec a = enginetest::tiny_spec();
  a.d_model = 128;
  a.num_heads = 4;
  a.head_dim = 32;
  a.d_ff = 256;
  const Model m = enginetest::random_model(a, 2);
  const engine::MemoryEstimate fp = engine::estimate_memory(a, {parse_scheme("FP32")}, 1, 32, 1);
  EXPECT_EQ(fp.engine_weights, 0u);
  EXPECT_EQ(fp.model_weights, static_cast<uint64_t>(num_params(m)) * 4);
  EXPECT_EQ(fp.one_model, fp.model_weights);
  const std::vector<int32_t> tokens = enginetest::random_tokens(16, 40, 3);
  std::vector<float> logits(16 * 40);
  for (const char* name : {"W8A8", "W4A4"}) {
    engine::Engine e(m, parse_scheme(name));
    const uint64_t built = e.weight_bytes_held().total;
    e.forward(tokens.data(), 16, logits.data());
    const uint64_t running = e.weight_bytes_held().total;
    const engine::MemoryEstimate est = engine::estimate_memory(a, {parse_scheme(name)}, 1, 32, 1);
    // What the engine holds once it runs (codes, and oneDNN's reordered copy where it does not read them in
    // place), but for the scales and sums (per row: under 10% at K >= 128).
    EXPECT_LE(est.engine_weights, running) << name;
    EXPECT_GE(est.engine_weights * 1.1, running) << name;
    EXPECT_EQ(running == built, engine::int8_codes_in_place()) << name;
  }
  // Weight-only schemes keep a dequantized f32 matrix per site.
  const engine::MemoryEstimate w4 = engine::estimate_memory(a, {parse_scheme("W4A16")}, 1, 32, 1);
  const engine::Engine e(m, parse_scheme("W4A16"));
  EXPECT_EQ(w4.engine_weights, e.weight_bytes_held().f32_matrices);
  // Activations grow with the square of the window (the score matrix); engines share their thread's scratch,
  // and each forward running at once (window-parallel threads) has its own.
  const auto at = [&](int64_t T, int engines, int forwards) {
    return engine::estimate_memory(a, std::vector<Scheme>(engines, parse_scheme("FP32")), 1, T, 1, forwards)
        .activations;
  };
  EXPECT_GT(at(64, 1, 1) - at(32, 1, 1), 4 * 4 * (64 * 64 - 32 * 32) - 1u);
  EXPECT_EQ(at(32, 2, 1), at(32, 1, 1));
  EXPECT_GT(at(32, 1, 2), at(32, 1, 1));
  // Methods that transform the weights hold a model copy each.
  std::vector<EvalCase> cases{{"", parse_scheme("W4A4"), {}, methods::parse_method("rotate", "m")},
                              {"", parse_scheme("W8A8"), {}, methods::parse_method("rotate", "m")},
                              {"", parse_scheme("W8A8"), {}, methods::MethodSpec{}}};
  EXPECT_EQ(estimate_eval_memory(a, cases, 32).model_weights, 2 * fp.model_weights);
}

TEST(MemoryEstimate, EvaluationThatDoesNotFitIsAnInputErrorBeforeAnyForward) {
  const Model m = enginetest::random_model(enginetest::tiny_spec(), 1);
  const auto data = make_data(2, 20, 2);
  EvalOptions o;
  o.max_memory = 4096;
  std::vector<EvalCase> cases{{"", parse_scheme("W8A8"), {}, {}}};
  int forwards = 0;
  o.progress = [&](int64_t, int64_t) { ++forwards; };
  try {
    evaluate_report(m, data, cases, o);
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("evaluation: does not fit in memory: needs about weights"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(window 20)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("4.10 kB is available (--max-memory)"), std::string::npos) << msg;
  }
  EXPECT_EQ(forwards, 0);
  o.max_memory = 8ull << 30;
  EXPECT_EQ(evaluate_report(m, data, cases, o).cases.size(), 1u);
}

}  // namespace
}  // namespace qh::eval
