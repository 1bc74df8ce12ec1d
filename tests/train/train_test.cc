// End-to-end trainer tests: a short run lowers the loss; same seed and threads give byte-identical
// checkpoints; the schedule, clipping and optimiser steps match hand-computed values; the zoo file's schema
// errors name file:line:col; the recipe hash keys the cache.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "models/train/optimizer.h"
#include "models/train/recipe.h"
#include "models/train/trainer.h"
#include "models/train/transformer.h"
#include "models/train/zoo.h"
#include "src/core/error.h"

namespace qh::train {
namespace {

namespace fs = std::filesystem;

std::string temp_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("qh_train_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TrainRecipe tiny_bb(int steps) {
  TrainRecipe r;
  r.bb_vocab = 16;
  r.seq_len = 32;
  r.d_model = 16;
  r.steps = steps;
  r.batch = 8;
  r.optim.lr = 1e-2;
  r.optim.warmup_steps = 5;
  r.log_every = 10;
  r.probe_every = 1000;
  r.probe_seqs = 4;
  return r;
}

TEST(Train, ShortRunLowersTheLoss) {
  TrainRecipe r = tiny_bb(120);
  std::string log;
  TrainOptions o;
  o.threads = 1;
  const TrainResult res = train(r, o, &log);
  std::istringstream in(log);
  std::string first;
  std::getline(in, first);
  const double first_loss = nlohmann::json::parse(first).at("loss").get<double>();
  EXPECT_NEAR(first_loss, std::log(17.0), 0.5);  // near-uniform at the start (vocab 16 + BOS)
  EXPECT_LT(res.final_loss, first_loss - 0.3);
  EXPECT_TRUE(std::isfinite(res.final_loss_backcopy));
  EXPECT_EQ(res.probe.residual_peak.size(), 1u);
}

TEST(Train, TextTaskLowersTheLoss) {
  const std::string dir = temp_dir("text");
  const std::string path = dir + "/corpus.txt";
  std::string text;
  for (int i = 0; i < 200; ++i) text += "the quick brown fox jumps over the lazy dog. ";
  std::ofstream(path) << text;
  TrainRecipe r = tiny_bb(80);
  r.task = "text";
  r.text_path = path;
  r.norm = "rmsnorm";
  r.positions = "rope";
  r.mlp = "swiglu";
  TrainOptions o;
  o.threads = 1;
  std::string log;
  const TrainResult res = train(r, o, &log);
  EXPECT_EQ(res.model.spec.vocab_size, 257);
  EXPECT_EQ(res.model.spec.bos_token_id, 256);
  EXPECT_LT(res.final_loss, std::log(257.0) - 2.0);
  fs::remove_all(dir);
}

TEST(Train, SameSeedAndThreadsGiveByteIdenticalCheckpoints) {
  const std::string a = temp_dir("det_a"), b = temp_dir("det_b"), c = temp_dir("det_c");
  TrainOptions o;
  o.threads = 2;
  TrainRecipe r = tiny_bb(20);
  r.layers = 2;
  r.attention = "sink";
  train_to_dir(r, a, o);
  train_to_dir(r, b, o);
  const std::string wa = read_all(a + "/model.safetensors");
  ASSERT_GT(wa.size(), 1000u);
  EXPECT_EQ(wa, read_all(b + "/model.safetensors"));
  EXPECT_EQ(read_all(a + "/config.json"), read_all(b + "/config.json"));
  r.seed = 2;
  train_to_dir(r, c, o);
  EXPECT_NE(wa, read_all(c + "/model.safetensors"));
  // The recipe is recorded in the checkpoint.
  const auto config = nlohmann::json::parse(read_all(a + "/config.json"));
  const auto& recipe = config.at("qharness").at("recipe");
  EXPECT_EQ(recipe.at("task"), "bb");
  EXPECT_EQ(recipe.at("attention"), "sink");
  EXPECT_EQ(recipe.at("threads"), 2);
  EXPECT_TRUE(recipe.contains("git_revision"));
  EXPECT_EQ(recipe.at("data").get<std::string>().rfind("bb:", 0), 0u);
  for (const auto& d : {a, b, c}) fs::remove_all(d);
}

TEST(Optimizer, LearningRateSchedule) {
  OptimConfig c;
  c.lr = 1.0;
  c.warmup_steps = 4;
  c.min_lr_ratio = 0.1;
  EXPECT_DOUBLE_EQ(learning_rate(c, 0, 14), 0.25);
  EXPECT_DOUBLE_EQ(learning_rate(c, 3, 14), 1.0);
  EXPECT_DOUBLE_EQ(learning_rate(c, 4, 14), 1.0);   // cosine starts at the peak
  EXPECT_NEAR(learning_rate(c, 13, 14), 0.1, 1e-12);  // and ends at the floor
  EXPECT_NEAR(learning_rate(c, 8, 14), 0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * 4.0 / 9.0)), 1e-12);
  c.schedule = "constant";
  EXPECT_DOUBLE_EQ(learning_rate(c, 10, 14), 1.0);
}

Model one_param_model(float value) {
  Model m;
  m.spec.tied_embeddings = true;
  m.tok_emb = Tensor({1, 2}, {value, -value});
  return m;
}

TEST(Optimizer, ClipGradNormAndAdamWStep) {
  Model g = one_param_model(3.0f);  // gradient (3, -3): norm sqrt(18)
  EXPECT_NEAR(clip_grad_norm(g, 1.0), std::sqrt(18.0), 1e-9);
  EXPECT_NEAR(g.tok_emb.data[0], 1.0 / std::sqrt(2.0), 1e-5);
  // AdamW step 1: m_hat = g, v_hat = g^2 -> update lr * sign(g), after decoupled decay p -= lr * wd * p.
  OptimConfig c;
  c.lr = 0.1;
  c.weight_decay = 0.5;
  c.eps = 0;
  Model p = one_param_model(2.0f);
  Model grad = one_param_model(0.25f);
  Optimizer opt(c, p);
  opt.step(p, grad, c.lr);
  EXPECT_NEAR(p.tok_emb.data[0], 2.0 * (1 - 0.05) - 0.1, 1e-6);
  EXPECT_NEAR(p.tok_emb.data[1], -2.0 * (1 - 0.05) + 0.1, 1e-6);
  // SGD with momentum 0.9: v1 = g, v2 = 0.9 g + g.
  c.kind = "sgd";
  c.weight_decay = 0;
  c.momentum = 0.9;
  Model s = one_param_model(1.0f);
  Optimizer sgd(c, s);
  sgd.step(s, grad, 0.1);
  sgd.step(s, grad, 0.1);
  EXPECT_NEAR(s.tok_emb.data[0], 1.0 - 0.1 * 0.25 - 0.1 * 1.9 * 0.25, 1e-6);
}

TEST(Recipe, FieldsHashAndErrors) {
  TrainRecipe r;
  const std::string h = recipe_hash(r);
  EXPECT_EQ(h.size(), 16u);
  EXPECT_EQ(h, recipe_hash(r));
  set_recipe_field(r, "lr", "0.002");
  EXPECT_NE(h, recipe_hash(r));
  EXPECT_THROW(set_recipe_field(r, "attention", "linear"), InputError);
  EXPECT_THROW(set_recipe_field(r, "steps", "-3"), InputError);
  EXPECT_THROW(set_recipe_field(r, "colour", "red"), InputError);
  try {
    set_recipe_field(r, "optimizer", "adam");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("adamw | sgd"), std::string::npos) << e.what();
  }
  r.d_model = 30;
  r.heads = 4;
  EXPECT_THROW(validate_recipe(r), InputError);
  EXPECT_EQ(eval_data_spec(tiny_bb(1)).rfind("bb:seed=7,", 0), 0u);
}

TEST(Zoo, SchemaErrorsNameLineAndColumn) {
  const std::string dir = temp_dir("zoo");
  auto expect_error = [&](const std::string& yaml, const std::string& needle) {
    const std::string path = dir + "/zoo.yaml";
    std::ofstream(path) << yaml;
    try {
      load_zoo(path);
      ADD_FAILURE() << "no error for: " << yaml;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error("version: 1\nmodels:\n  - name: a\n    colour: red\n", "zoo.yaml:4:5: unknown key 'colour'");
  expect_error("version: 1\nmodels:\n  - name: a\n    steps: many\n", "zoo.yaml:4:5: steps");
  expect_error("version: 1\nmodles: []\n", "zoo.yaml:2:1: unknown key 'modles'");
  expect_error("models:\n  - name: a\n  - name: a\n", "duplicate model name 'a'");
  expect_error("models:\n  - name: a\n    layers: [1, 2]\n", "zoo.yaml:3:13: 'layers' must be a scalar");
  expect_error("models: [\n", "zoo.yaml:");
  fs::remove_all(dir);
}

TEST(Zoo, DefaultZooHasThePaperPairsAndAQuickstartSubset) {
  const std::string path = std::string(QH_SOURCE_DIR) + "/models/zoo.yaml";
  const auto zoo = load_zoo(path);
  int quick = 0;
  for (const auto& e : zoo) quick += e.has_tag("quickstart");
  EXPECT_GE(quick, 2);
  for (const char* n : {"bb1-softmax-adamw", "bb1-relu-adamw", "bb1-softmax-sgd", "bb1-sink-adamw",
                        "bb1-gated-adamw", "bb3-softmax-adamw", "bb3-relu-adamw", "bb3-softmax-sgd",
                        "bb3-sink-adamw", "bb3-gated-adamw", "text-softmax", "text-gated", "text-sink"}) {
    const ZooEntry& e = find_zoo_entry(zoo, n, path);
    EXPECT_FALSE(recipe_hash(e.recipe).empty());
  }
  const ZooEntry& sgd = find_zoo_entry(zoo, "bb3-softmax-sgd", path);
  EXPECT_EQ(sgd.recipe.optim.kind, "sgd");
  EXPECT_EQ(sgd.recipe.layers, 3);
  EXPECT_EQ(find_zoo_entry(zoo, "text-sink", path).recipe.task, "text");
  EXPECT_THROW(find_zoo_entry(zoo, "nope", path), InputError);
}

TEST(Zoo, EnsureTrainsOnceThenHitsTheCache) {
  const std::string dir = temp_dir("cache");
  const std::string zoo = dir + "/zoo.yaml";
  std::ofstream(zoo) << "version: 1\ndefaults: {vocab: 8, seq_len: 16, d_model: 8, batch: 2, probe_seqs: 2}\n"
                        "models:\n  - {name: tiny, steps: 3, warmup: 1}\n";
  ZooOptions o;
  o.cache_dir = dir + "/cache";
  const std::string ckpt = ensure_zoo_model(zoo, "tiny", o);
  EXPECT_TRUE(zoo_checkpoint_complete(ckpt));
  const auto stamp = fs::last_write_time(ckpt + "/model.safetensors");
  EXPECT_EQ(ensure_zoo_model(zoo, "tiny", o), ckpt);
  EXPECT_EQ(fs::last_write_time(ckpt + "/model.safetensors"), stamp);  // not retrained
  EXPECT_EQ(zoo_names(zoo), std::vector<std::string>{"tiny"});
  fs::remove_all(dir);
}

}  // namespace
}  // namespace qh::train
