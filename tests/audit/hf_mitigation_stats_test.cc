// The audit's statistics of the mitigations Hugging Face checkpoints carry: the virtual sink mass of GPT-OSS-
// style `self_attn.sinks` and the gate statistics of Qwen3-Next's attn_output_gate, computed by the audit's
// StatsObserver on the fixtures of tests/engine/hf_arch against PyTorch's values (make_fixtures.py) to 1e-4.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "models/checkpoint.h"
#include "quant/scheme.h"
#include "src/audit/stats_observer.h"
#include "src/engine/engine.h"
#include "tests/engine/hf_fixture.h"

namespace qh {
namespace {

audit::AuditResult audit_stats(const hftest::Fixture& f, Model* model) {
  hftest::ScratchDir dir;
  hftest::write_checkpoint(f, dir.path());
  *model = load_checkpoint(dir.path());
  audit::StatsObserver obs(*model, audit::AuditOptions{});
  obs.begin_window(0, 0, nullptr);
  engine::Engine e(*model, parse_scheme("fp"));
  std::vector<float> logits(f.tokens.size() * model->spec.vocab_size);
  e.forward(f.tokens.data(), static_cast<int64_t>(f.tokens.size()), logits.data(), &obs);
  audit::AuditResult res;
  obs.finish(&res);
  return res;
}

TEST(HfMitigationStats, VirtualSinkMassOfSinksTensorMatchesPyTorch) {
  const hftest::Fixture f = hftest::load_fixture("llama_sinks");
  Model m;
  const audit::AuditResult res = audit_stats(f, &m);
  ASSERT_EQ(m.spec.attn.kind, AttnKind::kSink);
  ASSERT_EQ(res.heads.size(), f.sink_mass.size() * f.sink_mass[0].size());
  for (const audit::HeadStats& h : res.heads) {
    EXPECT_NEAR(h.virtual_sink_mass, f.sink_mass[h.layer][h.head], 1e-4) << h.layer << "." << h.head;
    EXPECT_EQ(h.gate_mean, -1);
  }
  EXPECT_TRUE(res.to_json().dump().find("virtual_sink_mass") != std::string::npos);
}

TEST(HfMitigationStats, GateStatisticsOfAttnOutputGateMatchPyTorch) {
  const hftest::Fixture f = hftest::load_fixture("qwen3_gated");
  Model m;
  const audit::AuditResult res = audit_stats(f, &m);
  ASSERT_EQ(m.spec.attn.kind, AttnKind::kGated);
  ASSERT_EQ(res.heads.size(), f.gate_mean.size() * f.gate_mean[0].size());
  for (const audit::HeadStats& h : res.heads) {
    EXPECT_NEAR(h.gate_mean, f.gate_mean[h.layer][h.head], 1e-4) << h.layer << "." << h.head;
    EXPECT_GE(h.gate_closed_frac, 0.0);
    EXPECT_LE(h.gate_closed_frac, 1.0);
    EXPECT_EQ(h.virtual_sink_mass, -1);
  }
  EXPECT_TRUE(res.to_json().dump().find("gate_mean") != std::string::npos);
}

// gate_closed_frac counts gate values below kGateClosed: a hand-made gate stream of known values.
TEST(HfMitigationStats, GateClosedFractionCountsGatesBelowThreshold) {
  const hftest::Fixture f = hftest::load_fixture("qwen3_gated");
  Model m;
  audit_stats(f, &m);
  audit::StatsObserver obs(m, audit::AuditOptions{});
  obs.begin_window(0, 0, nullptr);
  // T = 2 rows of n = 3 gates (row stride 4): 0.01, 0.5, 0.04 | 0.9, 0.05, 0.0 -> mean 1.5 / 6, 3 of 6 closed
  // (0.05 is not below the threshold).
  const float g[8] = {0.01f, 0.5f, 0.04f, -7.0f, 0.9f, 0.05f, 0.0f, -7.0f};
  obs.on_gate(1, 2, g, 2, 3, 4);
  audit::AuditResult res;
  obs.finish(&res);
  for (const audit::HeadStats& h : res.heads) {
    if (h.layer != 1 || h.head != 2) {
      EXPECT_EQ(h.gate_mean, -1);
      continue;
    }
    EXPECT_NEAR(h.gate_mean, (0.01 + 0.5 + 0.04 + 0.9 + 0.05 + 0.0) / 6, 1e-7);
    EXPECT_DOUBLE_EQ(h.gate_closed_frac, 0.5);
  }
}

}  // namespace
}  // namespace qh
