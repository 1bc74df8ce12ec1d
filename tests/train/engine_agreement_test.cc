// The trainer's forward and the engine's fp32 forward agree on checkpoints the trainer wrote, for every
// attention variant, MLP kind, norm and position kind: trained a few steps (so no weight sits at its
// initial value), saved with save_checkpoint, loaded back with load_checkpoint and run through the engine.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <unistd.h>

#include "models/checkpoint.h"
#include "models/train/trainer.h"
#include "models/train/transformer.h"
#include "quant/scheme.h"
#include "src/engine/engine.h"

namespace qh::train {
namespace {

namespace fs = std::filesystem;

void check_agreement(const std::string& label, const std::vector<std::pair<std::string, std::string>>& fields) {
  SCOPED_TRACE(label);
  TrainRecipe r;
  r.bb_vocab = 16;
  r.seq_len = 24;
  r.d_model = 16;
  r.heads = 2;
  r.layers = 2;
  r.steps = 8;
  r.batch = 4;
  r.optim.lr = 3e-2;
  r.optim.warmup_steps = 1;
  r.probe_seqs = 2;
  for (const auto& [k, v] : fields) set_recipe_field(r, k, v);
  const fs::path dir = fs::temp_directory_path() / ("qh_train_engine_" + label + "_" + std::to_string(::getpid()));
  TrainOptions o;
  o.threads = 1;
  const TrainResult res = train_to_dir(r, dir.string(), o);
  const Model loaded = load_checkpoint(dir.string());
  fs::remove_all(dir);

  std::vector<int32_t> tokens(r.seq_len);
  tokens[0] = loaded.spec.bos_token_id;
  for (int t = 1; t < r.seq_len; ++t) tokens[t] = (t * 7 + 3) % 16;
  Activations acts;
  forward(res.model, tokens.data(), 1, r.seq_len, acts);

  engine::Engine eng(loaded, parse_scheme("FP32"));
  std::vector<float> logits(static_cast<size_t>(r.seq_len) * loaded.spec.vocab_size);
  eng.forward(tokens.data(), r.seq_len, logits.data());
  ASSERT_EQ(logits.size(), acts.logits.size());
  double max_diff = 0, max_abs = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    max_diff = std::max(max_diff, std::fabs(double(logits[i]) - acts.logits[i]));
    max_abs = std::max(max_abs, std::fabs(double(acts.logits[i])));
  }
  EXPECT_GT(max_abs, 0.1);  // trained logits are not trivially zero
  EXPECT_LT(max_diff, 1e-4 * (1 + max_abs)) << "max |engine - trainer| = " << max_diff;
}

TEST(EngineAgreement, SoftmaxLayerNormLearnedRelu) { check_agreement("softmax", {}); }
TEST(EngineAgreement, ReluAttentionGelu) { check_agreement("relu", {{"attention", "relu"}, {"mlp", "gelu"}}); }
TEST(EngineAgreement, SinkRmsNormRopeSwiGLU) {
  check_agreement("sink", {{"attention", "sink"}, {"norm", "rmsnorm"}, {"positions", "rope"}, {"mlp", "swiglu"}});
}
TEST(EngineAgreement, GatedElementwise) { check_agreement("gated", {{"attention", "gated"}}); }
TEST(EngineAgreement, GatedPerHeadTied) {
  check_agreement("gated_head", {{"attention", "gated"}, {"gate", "head"}, {"tied", "true"}});
}
TEST(EngineAgreement, ClippedNoPositions) {
  check_agreement("clipped", {{"attention", "clipped"}, {"zeta", "1.1"}, {"gamma", "-0.05"}, {"positions", "none"}});
}

}  // namespace
}  // namespace qh::train
