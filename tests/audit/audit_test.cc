// The audit end to end on a tiny random model with BB data: statistics against independent computations,
// attribution identity, files written and parseable; and the audit's helpers against their references.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "models/checkpoint.h"
#include "models/data/data_spec.h"
#include "src/core/rng.h"
#include "models/stats/sinks.h"
#include "src/audit/audit.h"
#include "src/audit/audit_report.h"
#include "src/audit/fidelity.h"
#include "src/audit/stats_observer.h"
#include "src/engine/engine.h"
#include "tests/engine/tiny_models.h"

namespace qh::audit {
namespace {

Tensor random_tensor(std::vector<int64_t> shape, Rng& rng, float scale) {
  Tensor t(std::move(shape));
  for (float& v : t.data) v = static_cast<float>(rng.normal() * scale);
  return t;
}

Tensor ones(int64_t n) {
  Tensor t({n});
  for (float& v : t.data) v = 1.0f;
  return t;
}

// 2 layers, d 16, 2 heads of 8, ReLU MLP, LayerNorm, learned positions; BOS (id 16) has a 20x embedding so
// position 0 carries a residual peak.
Model tiny_model() {
  Model m;
  ArchSpec& a = m.spec;
  a.architecture = "QHarnessForCausalLM";
  a.num_layers = 2;
  a.d_model = 16;
  a.num_heads = 2;
  a.num_kv_heads = 2;
  a.head_dim = 8;
  a.d_ff = 32;
  a.vocab_size = 17;
  a.context = 32;
  a.norm = NormKind::kLayerNorm;
  a.positions = PosKind::kLearned;
  a.mlp = MlpKind::kRelu;
  a.bos_token_id = 16;
  Rng rng(42);
  m.tok_emb = random_tensor({17, 16}, rng, 0.5f);
  for (int c = 0; c < 16; ++c) m.tok_emb.row(16)[c] *= 20.0f;
  m.pos_emb = random_tensor({32, 16}, rng, 0.1f);
  for (int l = 0; l < 2; ++l) {
    LayerWeights w;
    w.attn_norm_w = ones(16);
    w.mlp_norm_w = ones(16);
    w.wq = random_tensor({16, 16}, rng, 0.3f);
    w.wk = random_tensor({16, 16}, rng, 0.3f);
    w.wv = random_tensor({16, 16}, rng, 0.3f);
    w.wo = random_tensor({16, 16}, rng, 0.3f);
    w.w_up = random_tensor({32, 16}, rng, 0.3f);
    w.w_down = random_tensor({16, 32}, rng, 0.3f);
    m.layers.push_back(std::move(w));
  }
  m.final_norm_w = ones(16);
  m.lm_head = random_tensor({17, 16}, rng, 0.3f);
  return m;
}

// Records every attention matrix (test-only: the audit itself never stores them).
struct FullAttention : engine::Observer {
  std::vector<std::vector<float>> probs;  // [layer * H + head]
  int H = 0;
  void on_attention(int layer, int head, const float* p, int64_t T) override {
    probs.resize(std::max<size_t>(probs.size(), (layer + 1) * H));
    probs[layer * H + head].assign(p, p + T * T);
  }
  bool wants_attention() const override { return true; }
};

TEST(AuditHelpers, KeptRowsAndAttentionKl) {
  EXPECT_EQ(kept_rows(5, 64), (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(kept_rows(9, 2), (std::vector<int64_t>{1, 5}));
  const float p[2] = {0.5f, 0.5f}, q[2] = {0.25f, 0.75f};
  EXPECT_NEAR(attention_row_kl(p, q, 2), 0.5 * std::log(2.0) + 0.5 * std::log(0.5 / 0.75), 1e-7);
  const float p2[2] = {1.0f, 1.0f};  // unnormalised (relu attention): normalised before the KL
  EXPECT_NEAR(attention_row_kl(p2, q, 2), attention_row_kl(p, q, 2), 1e-7);
  EXPECT_DOUBLE_EQ(attention_row_kl(p, p, 2), 0.0);
}

class AuditEndToEnd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_ = new Model(tiny_model());
    data_ = new data::Dataset(data::load_data("bb:seed=3,seqs=6,len=24,k=3,vocab=16", 17));
    AuditOptions o;
    o.outliers.calib_sequences = 2;
    result_ = new AuditResult(run_audit(*model_, *data_, {parse_scheme("W8A8"), parse_scheme("W4A4")}, o));
  }
  static void TearDownTestSuite() {
    delete result_;
    delete data_;
    delete model_;
  }
  static Model* model_;
  static data::Dataset* data_;
  static AuditResult* result_;
};
Model* AuditEndToEnd::model_ = nullptr;
data::Dataset* AuditEndToEnd::data_ = nullptr;
AuditResult* AuditEndToEnd::result_ = nullptr;

TEST_F(AuditEndToEnd, ShapeOfTheResult) {
  const AuditResult& r = *result_;
  EXPECT_EQ(r.windows, 6);
  EXPECT_EQ(r.tokens, 6 * 24);
  ASSERT_EQ(r.layers.size(), 3u);  // embeddings + 2 blocks
  EXPECT_EQ(r.layers[0].layer, -1);
  ASSERT_EQ(r.heads.size(), 4u);
  EXPECT_EQ(r.sites.size(), 2u * 4u);  // q, o, up, down per layer
  EXPECT_EQ(r.weights.size(), 2u * 6u);
  ASSERT_EQ(r.schemes.size(), 2u);
  EXPECT_EQ(r.fp.n_tokens, 6 * 23);
  EXPECT_TRUE(r.fp.has_oracle);
}

TEST_F(AuditEndToEnd, EmbeddingResidualPeakMatchesDirectComputation) {
  // Layer -1 is tok_emb[x_t] + pos_emb[t]: compute the mean over windows of ||h_0|| / median_{i>=1} ||h_i||.
  double sum = 0;
  for (const auto& seq : data_->sequences) {
    std::vector<float> h(seq.size() * 16);
    for (size_t t = 0; t < seq.size(); ++t)
      for (int c = 0; c < 16; ++c) h[t * 16 + c] = model_->tok_emb.row(seq[t])[c] + model_->pos_emb.row(t)[c];
    sum += stats::residual_peak(h.data(), seq.size(), 16);
  }
  EXPECT_NEAR(result_->layers[0].residual_peak, sum / data_->sequences.size(), 1e-4);
  EXPECT_GT(result_->layers[0].residual_peak, 10.0);  // the 20x BOS embedding
}

TEST_F(AuditEndToEnd, SinkMassAndDormancyMatchTheFullAttention) {
  engine::Engine fp(*model_, parse_scheme("FP32"));
  FullAttention full;
  full.H = 2;
  std::vector<float> logits(24 * 17);
  std::vector<double> sink(4, 0.0);
  std::vector<int64_t> dormant(4, 0), trig_q(4, 0), trig_dormant(4, 0);
  for (const auto& seq : data_->sequences) {
    fp.forward(seq.data(), 24, logits.data(), &full);
    for (int k = 0; k < 4; ++k) {
      const std::vector<float>& p = full.probs[k];
      sink[k] += stats::sink_mass(p.data(), 24, 24);
      for (int i = 1; i < 24; ++i) {
        const bool dorm = p[i * 24] >= 0.89f;
        dormant[k] += dorm;
        if (data_->bb->is_trigger(seq[i])) {
          ++trig_q[k];
          trig_dormant[k] += dorm;
        }
      }
    }
  }
  for (int k = 0; k < 4; ++k) {
    const HeadStats& h = result_->heads[k];
    EXPECT_NEAR(h.sink_mass, sink[k] / 6, 1e-6) << k;
    EXPECT_NEAR(h.dormant_frac, double(dormant[k]) / (6 * 23), 1e-12) << k;
    EXPECT_EQ(h.domain_queries[1], trig_q[k]);
    if (trig_q[k]) {
      EXPECT_NEAR(h.dormant_frac_domain[1], double(trig_dormant[k]) / trig_q[k], 1e-12);
    }
    EXPECT_GE(h.value_drain, 0.0);
  }
}

TEST_F(AuditEndToEnd, QuantizedSchemesDegradeAndAttributionAddsUp) {
  const SchemeAudit& w8 = result_->schemes[0];
  const SchemeAudit& w4 = result_->schemes[1];
  EXPECT_GT(w8.metrics.kld_mean, 0.0);
  EXPECT_GT(w4.metrics.kld_mean, w8.metrics.kld_mean);
  EXPECT_NEAR(w8.metrics.ppl_fp, result_->fp.ppl_fp, 1e-9 * result_->fp.ppl_fp);
  EXPECT_GT(w8.site_sqnr_total[static_cast<int>(Site::kQ)], w4.site_sqnr_total[static_cast<int>(Site::kQ)]);
  for (const SchemeAudit* s : {&w8, &w4}) {
    ASSERT_TRUE(s->has_attribution);
    for (const Shapley* a : {&s->kld, &s->delta_ppl, &s->excess_risk})
      EXPECT_NEAR(a->phi_tokens + a->phi_channels + a->rest, a->total, 1e-12 * std::max(1.0, std::fabs(a->total)));
    EXPECT_DOUBLE_EQ(s->kld.total, s->metrics.kld_mean);
    ASSERT_TRUE(s->has_site_sensitivity);
    EXPECT_GT(s->site_kld[static_cast<int>(Site::kDown)], 0.0);
    EXPECT_TRUE(std::isnan(s->site_kld[static_cast<int>(Site::kGate)]));  // no gate without SwiGLU
    ASSERT_EQ(s->layer_kld.size(), 2u);
    EXPECT_GT(s->layer_kld[0], 0.0);
    EXPECT_GT(s->layer_kld[1], 0.0);
    EXPECT_LT(s->layer_kld[1], s->metrics.kld_mean * 1.5);  // one layer alone loses no more than all of them
    ASSERT_EQ(s->attn_kl.size(), 2u);
    EXPECT_GE(s->attn_kl[0][0], 0.0);
  }
  EXPECT_GT(w4.attn_kl[1][0] + w4.attn_kl[1][1], 0.0);
}

TEST_F(AuditEndToEnd, FilesAreWrittenAndParse) {
  const std::string dir = ::testing::TempDir() + "/qh_audit_files";
  const std::vector<std::string> paths = write_audit_dir(dir, *result_);
  ASSERT_EQ(paths.size(), 3u);
  auto slurp = [](const std::string& p) {
    std::ifstream f(p);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  };
  const nlohmann::json j = nlohmann::json::parse(slurp(dir + "/audit.json"));
  EXPECT_EQ(j["heads"].size(), 4u);
  for (const char* key : {"sink_mass", "sink_key", "dormant_frac", "value_drain"}) EXPECT_TRUE(j["heads"][0].contains(key));
  for (const char* key : {"residual_peak", "kurtosis", "max_abs"}) EXPECT_TRUE(j["layers"][1].contains(key));
  EXPECT_TRUE(j["sites"][0].contains("outlier_channels"));
  EXPECT_TRUE(j["schemes"][1]["attribution"]["kld"].contains("phi_tokens"));
  EXPECT_TRUE(j["schemes"][1]["metrics"].contains("kld_mean"));
  EXPECT_EQ(j["schemes"][0]["layer_sensitivity"]["kld_mean"].size(), 2u);
  const std::string html = slurp(dir + "/audit.html");
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("sink_mass"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);  // self-contained
  EXPECT_NE(slurp(dir + "/audit.md").find("| layer | head | sink_mass"), std::string::npos);
}

// Static KV-cache scales need calibration even when nothing else does (no attribution, no static activations).
TEST(Audit, StaticKvSchemeIsCalibratedWithoutAttribution) {
  const Model m = tiny_model();
  const data::Dataset d = data::load_data("bb:seed=5,seqs=3,len=24,k=3,vocab=16", 17);
  AuditOptions o;
  o.attribution = false;
  o.outliers.calib_sequences = 2;
  const AuditResult r = run_audit(m, d, {parse_scheme("base=W8A8,kv_bits=8,kv_granularity=per_tensor")}, o);
  ASSERT_EQ(r.schemes.size(), 1u);
}

TEST(Audit, BadInputIsAnInputError) {
  const Model m = tiny_model();
  data::Dataset d = data::load_data("bb:seed=1,seqs=1,len=8,k=3,vocab=16", 17);
  AuditOptions o;
  o.window = 64;  // longer than the context of 32
  EXPECT_THROW(run_audit(m, d, {}, o), InputError);
  d.sequences[0][3] = 40;
  EXPECT_THROW(run_audit(m, d, {}, {}), InputError);
  d.sequences.clear();
  EXPECT_THROW(run_audit(m, d, {}, {}), InputError);
}

// The memory estimate of the audit (checked by `qharness audit` before any weight is read) is not below what the
// audit's buffers hold, read from the buffers after a run on 1 and 2 threads (2: the cases run window-parallel,
// one logits buffer and one forward scratch per thread): its statistics cover the observers, the kept attention
// rows, the calibration and every accumulator's per-token values, and stay within 1.5x of them; its logits cover
// the fp, oracle (and its log) and per-thread buffers and the fp rows' normalisers; its derived weights are what
// the audit's engines hold (one per scheme, protection, layer and site kind) less their per-row scales.
TEST(AuditMemory, EstimateIsNotBelowWhatTheAuditHolds) {
  ArchSpec a = enginetest::tiny_spec();
  a.d_model = 128;
  a.num_heads = 4;
  a.num_kv_heads = 4;
  a.head_dim = 32;
  a.d_ff = 256;
  a.context = 48;
  const Model m = enginetest::random_model(a, 5);
  const data::Dataset d = data::load_data("bb:seed=4,seqs=5,len=48,k=3,vocab=39", a.vocab_size);
  const std::vector<Scheme> schemes{parse_scheme("W8A8"), parse_scheme("W4A4")};
  AuditOptions o;
  o.outliers.calib_sequences = 2;
  const int saved = omp_get_max_threads();
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    const AuditResult r = run_audit(m, d, schemes, o);
    const AuditExtent x = audit_extent(a, d, o);
    EXPECT_EQ(x.window, 48);
    EXPECT_EQ(x.scored_tokens, 5 * 47);
    EXPECT_TRUE(x.bb);
    const engine::MemoryEstimate est = estimate_audit_memory(a, schemes, o, x, threads);
    EXPECT_EQ(est.model_weights, static_cast<uint64_t>(num_params(m)) * 4);
    EXPECT_GE(est.statistics, r.held.statistics) << threads;
    EXPECT_LE(est.statistics, r.held.statistics * 3 / 2) << threads;
    // fp, oracle and quantized logits (floats), the oracle's log (doubles) and the fp rows' normalisers.
    EXPECT_EQ(r.held.logits, (2u + static_cast<uint64_t>(threads)) * 48 * 40 * 4 + 48 * 40 * 8 + 48 * 8) << threads;
    EXPECT_GE(est.activations, r.held.logits + threads * engine::kPerThreadScratchBytes) << threads;
    // The engines' derived weights: as the evaluator's estimate, not below them but for the per-row scales, and
    // at most twice (no reordered copy of the codes where oneDNN takes them in place). Counting every layer for
    // the layers' sensitivity engines would break the upper bound.
    EXPECT_GE(est.engine_weights * 1.1, r.held.engine_weights) << threads;
    EXPECT_LE(est.engine_weights, 2 * r.held.engine_weights) << threads;
    EXPECT_GE(est.total(), est.model_weights + r.held.engine_weights + r.held.statistics + r.held.logits);
  }
  omp_set_num_threads(saved);
}

}  // namespace
}  // namespace qh::audit
