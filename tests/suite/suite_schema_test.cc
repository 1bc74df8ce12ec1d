// Suite YAML validation: every error names the file, line and column, unknown keys get a did-you-mean,
// types are checked, scheme names are validated, paths resolve against the suite's directory.
#include <gtest/gtest.h>

#include "src/core/error.h"
#include "src/suite/suite.h"
#include "src/suite/yaml_util.h"

namespace qh::suite {
namespace {

const char* kGood = R"(name: pair
description: a softmax / relu pair
zoo: ../models/zoo.yaml
models:
  - bb-softmax
  - bb-relu
  - {name: mine, path: ckpts/mine}
data: "bb:seed=101,seqs=8,len=64"
schemes:
  - W8A8
  - W4A4
  - {name: W4A4-g32, base: W4A4, w_granularity: "group:32"}
attribution: true
audit: true
eval: {calib_sequences: 2, tau_tokens: 8, top_k_channels: 3}
thresholds:
  W8A8: {max_kld_mean: 0.05, min_top1_agree: 0.9}
  "*": {max_delta_ppl: 10}
expectations:
  - {better: bb-relu, worse: bb-softmax, scheme: W4A4, metric: kld_mean}
baseline:
  file: ../reports/base.json
  metrics: [kld_mean, top1_agree]
  tolerance: {abs: 0.01, rel: 0.1}
  tolerances: {top1_agree: {abs: 0.02}}
)";

TEST(SuiteSchema, ParsesAGoodSuite) {
  const SuiteSpec s = parse_suite(kGood, "dir/suites/pair.yaml");
  EXPECT_EQ(s.name, "pair");
  EXPECT_EQ(s.zoo, "dir/models/zoo.yaml");
  ASSERT_EQ(s.models.size(), 3u);
  EXPECT_EQ(s.models[0].zoo, "bb-softmax");
  EXPECT_EQ(s.models[2].name, "mine");
  EXPECT_EQ(s.models[2].path, "dir/suites/ckpts/mine");
  EXPECT_EQ(s.data, std::vector<std::string>{"bb:seed=101,seqs=8,len=64"});
  ASSERT_EQ(s.schemes.size(), 3u);
  EXPECT_EQ(s.schemes[1].scheme.activations.bits, 4);
  EXPECT_EQ(s.schemes[2].label, "W4A4-g32");
  EXPECT_EQ(s.schemes[2].scheme.weights.group_size, 32);
  EXPECT_EQ(s.protections, (std::vector<std::string>{"none", "tokens", "channels", "both"}));
  EXPECT_TRUE(s.audit);
  EXPECT_EQ(s.eval.outliers.calib_sequences, 2);
  EXPECT_FLOAT_EQ(s.eval.outliers.tau_tokens, 8.0f);
  ASSERT_EQ(s.thresholds.size(), 3u);
  EXPECT_EQ(s.thresholds[1].metric, "top1_agree");
  EXPECT_FALSE(s.thresholds[1].is_max);
  EXPECT_EQ(s.thresholds[2].scheme, "*");
  ASSERT_EQ(s.expectations.size(), 1u);
  EXPECT_EQ(s.expectations[0].better, "bb-relu");
  ASSERT_TRUE(s.baseline.has_value());
  EXPECT_EQ(s.baseline->file, "dir/reports/base.json");
  EXPECT_DOUBLE_EQ(s.baseline->options.tolerance.rel, 0.1);
  EXPECT_DOUBLE_EQ(s.baseline->options.tolerance_for("top1_agree").abs, 0.02);
  EXPECT_DOUBLE_EQ(s.baseline->options.tolerance_for("top1_agree").rel, 0.0);
}

std::string error_of(const std::string& yaml) {
  try {
    parse_suite(yaml, "s.yaml");
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

const std::string kHead = "models: [bb-softmax, bb-relu]\ndata: \"bb:seed=1\"\nschemes: [W8A8, W4A4]\n";

TEST(SuiteSchema, UnknownTopLevelKeyWithDidYouMean) {
  EXPECT_EQ(error_of(kHead + "thresolds: {}\n"), "s.yaml:4:1: thresolds: unknown key; did you mean 'thresholds'?");
}

TEST(SuiteSchema, UnknownThresholdMetricWithLineAndColumn) {
  EXPECT_EQ(error_of(kHead + "thresholds:\n  W4A4:\n    max_kld_mena: 0.5\n"),
            "s.yaml:6:5: thresholds.W4A4.max_kld_mena: unknown metric 'kld_mena'; did you mean 'kld_mean'?");
}

TEST(SuiteSchema, ThresholdForUnknownScheme) {
  EXPECT_EQ(error_of(kHead + "thresholds:\n  W4A5: {max_kld_mean: 1}\n"),
            "s.yaml:5:3: thresholds.W4A5: not a scheme of this suite; did you mean 'W4A4'?");
}

TEST(SuiteSchema, WrongTypes) {
  EXPECT_EQ(error_of(kHead + "thresholds:\n  W4A4: {max_kld_mean: lots}\n"),
            "s.yaml:5:24: thresholds.W4A4.max_kld_mean: expected a number, got 'lots'");
  EXPECT_EQ(error_of(kHead + "audit: maybe\n"), "s.yaml:4:8: audit: expected true or false, got 'maybe'");
  EXPECT_EQ(error_of("models: bb-softmax\ndata: x\nschemes: [W8A8]\n"),
            "s.yaml:1:9: models: expected a list, got a scalar");
  EXPECT_EQ(error_of(kHead + "eval: {calib_sequences: 0}\n"),
            "s.yaml:4:25: eval.calib_sequences: must be >= 1");
}

TEST(SuiteSchema, MissingFields) {
  EXPECT_EQ(error_of("models: [a]\nschemes: [W8A8]\n"),
            "s.yaml:1:1: missing required key 'data' (data specs) or 'tasks' (task files)");
  EXPECT_EQ(error_of(kHead + "expectations:\n  - {better: bb-relu, scheme: W4A4}\n"),
            "s.yaml:5:5: expectations[0]: missing 'worse'");
  EXPECT_EQ(error_of(""), "s.yaml: the suite file is empty");
}

TEST(SuiteSchema, BadSchemeName) {
  const std::string e = error_of("models: [a]\ndata: x\nschemes:\n  - W8A8\n  - W3A3\n");
  EXPECT_EQ(e.rfind("s.yaml:5:5: schemes[1]: ", 0), 0u) << e;
  EXPECT_NE(e.find("W3A3"), std::string::npos) << e;
}

TEST(SuiteSchema, BadFieldByFieldScheme) {
  const std::string e = error_of("models: [a]\ndata: x\nschemes:\n  - {name: s, base: W4A4, w_bitz: 3}\n");
  EXPECT_EQ(e.rfind("s.yaml:4:5: schemes[0]: ", 0), 0u) << e;
  EXPECT_NE(e.find("w_bitz"), std::string::npos) << e;
}

TEST(SuiteSchema, ExpectationNamesUnknownModel) {
  EXPECT_EQ(error_of(kHead + "expectations:\n  - {better: bb-rel, worse: bb-softmax, scheme: W4A4}\n"),
            "s.yaml:5:14: expectations[0].better: 'bb-rel' is not a model of this suite; did you mean 'bb-relu'?");
}

TEST(SuiteSchema, UnknownProtection) {
  EXPECT_EQ(error_of(kHead + "protections: [none, token]\n"),
            "s.yaml:4:21: protections: unknown protection 'token'; did you mean 'tokens'?");
}

TEST(SuiteSchema, DuplicateModel) {
  EXPECT_EQ(error_of("models: [a, a]\ndata: x\nschemes: [W8A8]\n"), "s.yaml:1:13: models[1]: duplicate model name 'a'");
}

TEST(SuiteSchema, YamlSyntaxError) {
  const std::string e = error_of("models: [a\ndata: x\n");
  EXPECT_EQ(e.rfind("s.yaml:", 0), 0u) << e;
  EXPECT_NE(e.find("YAML syntax error"), std::string::npos) << e;
}

TEST(SuiteSchema, BaselineToleranceMustBeNonNegative) {
  EXPECT_EQ(error_of(kHead + "baseline: {file: b.json, tolerance: {abs: -1}}\n"),
            "s.yaml:4:37: baseline.tolerance: tolerances must be >= 0");
}

TEST(SuiteSchema, AuditMetricExpectationNeedsNoScheme) {
  const SuiteSpec s = parse_suite(kHead + "audit: true\nexpectations:\n"
                                          "  - {better: bb-relu, worse: bb-softmax, metric: sink_mass_max}\n"
                                          "thresholds:\n  W4A4: {max_residual_peak_max: 50}\n",
                                  "s.yaml");
  ASSERT_EQ(s.expectations.size(), 1u);
  EXPECT_EQ(s.expectations[0].metric, "sink_mass_max");
  EXPECT_EQ(s.expectations[0].scheme, "");
  ASSERT_EQ(s.thresholds.size(), 1u);
  EXPECT_EQ(s.thresholds[0].metric, "residual_peak_max");
}

TEST(SuiteSchema, AuditMetricErrors) {
  EXPECT_EQ(error_of(kHead + "expectations:\n  - {better: bb-relu, worse: bb-softmax, metric: sink_mass_max}\n"),
            "s.yaml:5:50: expectations[0].metric: 'sink_mass_max' is an audit metric; it needs 'audit: true'");
  EXPECT_EQ(error_of(kHead + "audit: true\nexpectations:\n"
                             "  - {better: bb-relu, worse: bb-softmax, metric: sink_mass_max, scheme: W4A4}\n"),
            "s.yaml:6:73: expectations[0].scheme: an audit metric has no scheme; remove it");
  EXPECT_EQ(error_of(kHead + "audit: true\nthresholds:\n  W4A4: {max_residual_peak: 5}\n"),
            "s.yaml:6:10: thresholds.W4A4.max_residual_peak: unknown metric 'residual_peak'; did you mean "
            "'residual_peak_max'?");
  EXPECT_EQ(error_of(kHead + "audit: true\nexpectations:\n  - {better: bb-relu, worse: bb-softmax}\n"),
            "s.yaml:6:5: expectations[0]: missing 'scheme'");
}

TEST(YamlUtil, DidYouMean) {
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3);
  EXPECT_EQ(did_you_mean("shemes", {"schemes", "models"}), "schemes");
  EXPECT_EQ(did_you_mean("zzz", {"schemes", "models"}), "");
}

}  // namespace
}  // namespace qh::suite

namespace qh::suite {
namespace {

TEST(SuiteSchema, MethodsAreAnAxisWithTheirCalibrationKeptApart) {
  const SuiteSpec s = parse_suite(kHead + "methods: [rtn, rotate, \"gptq:act_order=1\", rotate+gptq]\n"
                                          "method_calibration: {sequences: 16}\n",
                                  "s.yaml");
  ASSERT_EQ(s.methods.size(), 4u);
  EXPECT_EQ(s.methods[2].label, "gptq:act_order=1");
  EXPECT_TRUE(s.methods[3].method.gptq);
  EXPECT_EQ(s.method_calibration.sequences, 16);
  EXPECT_EQ(parse_suite(kHead, "s.yaml").methods.size(), 1u);  // rtn only
  EXPECT_TRUE(parse_suite(kHead, "s.yaml").methods[0].method.is_rtn());
}

TEST(SuiteSchema, BadMethodsNameTheirLineAndColumn) {
  const std::string e = error_of(kHead + "methods: [rtn, gptq:damp=2]\n");
  EXPECT_EQ(e.rfind("s.yaml:4:16: methods[1]: ", 0), 0u) << e;
  EXPECT_NE(e.find("damp"), std::string::npos) << e;
  EXPECT_EQ(error_of(kHead + "methods: [rotate, rotate:seed=0]\n"),
            "s.yaml:4:19: methods[1]: duplicate method 'rotate'");
  EXPECT_EQ(error_of(kHead + "method_calibration: {data: \"bb:seed=1\"}\n"),
            "s.yaml:4:28: method_calibration.data: is an evaluated data spec: calibration must be kept apart");
  EXPECT_EQ(error_of("models: [a]\ndata: \"text:x\"\nschemes: [W8A8]\nmethods: [gptq]\n"),
            "s.yaml:4:10: methods: smoothquant / gptq need calibration data kept apart from the evaluated "
            "'text:x': give method_calibration: {data: SPEC}");
}

}  // namespace
}  // namespace qh::suite
