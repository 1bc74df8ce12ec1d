// Method names: parsing, canonical names that parse back, refusals; SmoothQuant's factors by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "src/core/error.h"
#include "src/methods/method.h"
#include "src/methods/transforms.h"
#include "tests/engine/tiny_models.h"

namespace qh::methods {
namespace {

TEST(Method, ParsesEveryFormAndRoundTrips) {
  EXPECT_TRUE(parse_method("rtn").is_rtn());
  const MethodSpec g = parse_method("gptq:group=128,act_order=1,damp=0.05");
  EXPECT_TRUE(g.gptq);
  EXPECT_EQ(g.group, 128);
  EXPECT_TRUE(g.act_order);
  EXPECT_DOUBLE_EQ(g.damp, 0.05);
  EXPECT_EQ(parse_method("smoothquant:alpha=0.75").alpha, 0.75);
  EXPECT_EQ(parse_method("rotate=random").rotate, RotationKind::kRandom);
  EXPECT_EQ(parse_method("rotate:seed=4").seed, 4u);
  const MethodSpec rg = parse_method("rotate+gptq");
  EXPECT_EQ(rg.label(), "rotate+gptq");
  for (const char* t : {"rtn", "smoothquant:alpha=0.3", "rotate:kind=random,seed=9", "rotate+gptq:act_order=1",
                        "smoothquant+gptq:block=64,group=32"}) {
    const MethodSpec m = parse_method(t);
    EXPECT_EQ(parse_method(m.name()), m) << t;
    EXPECT_EQ(parse_method(m.label()), m) << t;
  }
}

TEST(Method, RefusesNonsenseByName) {
  for (const char* t : {"", "gptqq", "gptq:damp=0", "gptq:foo=1", "smoothquant:alpha=2", "rotate:kind=x",
                        "rtn+gptq", "smoothquant+rotate", "gptq+gptq", "rotate:seed"}) {
    EXPECT_THROW(parse_method(t, "--method"), InputError) << t;
  }
  try {
    parse_method("gptq:act_order=maybe", "suite.yaml:4:7: method");
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("suite.yaml:4:7"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("act_order"), std::string::npos);
  }
}

TEST(SmoothQuant, FactorsByHand) {
  EXPECT_DOUBLE_EQ(smoothing_factor(4.0, 1.0, 0.5), 2.0);   // sqrt(4) / sqrt(1)
  EXPECT_DOUBLE_EQ(smoothing_factor(9.0, 4.0, 0.5), 1.5);   // 3 / 2
  EXPECT_DOUBLE_EQ(smoothing_factor(8.0, 2.0, 1.0), 8.0);   // alpha 1: all onto the weights
  EXPECT_DOUBLE_EQ(smoothing_factor(8.0, 2.0, 0.0), 0.5);   // alpha 0: 1 / max|W|
  EXPECT_NEAR(smoothing_factor(16.0, 0.5, 0.75), 8.0 / std::pow(0.5, 0.25), 1e-12);
  EXPECT_EQ(smoothing_factor(0.0, 3.0, 0.5), 1.0);          // dead channel
  EXPECT_EQ(smoothing_factor(3.0, 0.0, 0.5), 1.0);
}

TEST(SmoothQuant, FoldsTheFactorsIntoTheNormAndTheWeightsByHand) {
  ArchSpec a = enginetest::tiny_spec();
  a.num_layers = 1;
  Model m = enginetest::random_model(a, 2);
  const int64_t d = a.d_model;
  // Channel 0: max|x| = 16; every weight reading it has max |w| = 0.25 there. s = sqrt(16 / 0.25) = 8.
  for (Tensor* t : {&m.layers[0].wq, &m.layers[0].wk, &m.layers[0].wv})
    for (int64_t i = 0; i < t->dim(0); ++i) t->data[i * d] = (i == 1 ? -0.25f : 0.1f);
  m.layers[0].attn_norm_w.data[0] = 2.0f;
  engine::Calibration cal;
  cal.rows = 1;
  cal.sites.assign(1, std::vector<engine::SiteCalibration>(kNumSites));
  for (auto& s : cal.sites[0]) s.col_absmax.assign(a.d_model, 1.0f);
  cal.sites[0][static_cast<int>(Site::kO)].col_absmax.assign(a.num_heads * a.head_dim, 1.0f);
  cal.sites[0][static_cast<int>(Site::kDown)].col_absmax.assign(a.d_ff, 1.0f);
  cal.sites[0][static_cast<int>(Site::kQ)].col_absmax[0] = 16.0f;
  smooth_model(m, cal, 0.5, nullptr);
  EXPECT_FLOAT_EQ(m.layers[0].attn_norm_w.data[0], 2.0f / 8.0f);
  EXPECT_FLOAT_EQ(m.layers[0].wq.data[1 * d], -0.25f * 8.0f);
  EXPECT_FLOAT_EQ(m.layers[0].wk.data[0], 0.1f * 8.0f);
}

}  // namespace
}  // namespace qh::methods
