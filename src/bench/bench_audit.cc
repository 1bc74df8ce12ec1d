#include "src/bench/bench_audit.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "models/checkpoint.h"
#include "models/data/data_spec.h"
#include "models/model.h"
#include "models/train/zoo.h"
#include "quant/scheme.h"
#include "src/audit/fidelity.h"
#include "src/audit/stats_observer.h"
#include "src/bench/random_models.h"
#include "src/engine/engine.h"

namespace qh::bench {

namespace {

// The data one audit pass runs over: windows of token ids and, for BB, the per-query trigger mask.
struct Workload {
  std::string name;  // row prefix
  std::string desc;  // model and data, for the info column
  Model model;
  std::vector<std::vector<int32_t>> windows;
  std::vector<std::vector<uint8_t>> domains;  // empty vectors when the data has no BB domain
};

// A random model of the zoo's 1-layer BB shape (d 32, one head, ReLU MLP 4x, LayerNorm, learned positions,
// vocab 32 + BOS, context 64): used when the trained checkpoint is not available.
Model random_bb1_model() {
  ArchSpec a;
  a.architecture = "QHarnessForCausalLM";
  a.num_layers = 1;
  a.d_model = 32;
  a.num_heads = a.num_kv_heads = 1;
  a.head_dim = 32;
  a.d_ff = 128;
  a.vocab_size = 33;
  a.context = 64;
  a.norm = NormKind::kLayerNorm;
  a.positions = PosKind::kLearned;
  a.mlp = MlpKind::kRelu;
  a.bos_token_id = 32;
  std::mt19937 rng(11);
  const float ws = 1.0f / std::sqrt(32.0f);
  Model m;
  m.spec = a;
  m.tok_emb = random_tensor({33, 32}, rng, 1.0f);
  m.pos_emb = random_tensor({64, 32}, rng, 0.1f);
  LayerWeights w;
  w.attn_norm_w = random_tensor({32}, rng, 0.0f, 1.0f);
  w.mlp_norm_w = random_tensor({32}, rng, 0.0f, 1.0f);
  w.wq = random_tensor({32, 32}, rng, ws);
  w.wk = random_tensor({32, 32}, rng, ws);
  w.wv = random_tensor({32, 32}, rng, ws);
  w.wo = random_tensor({32, 32}, rng, ws);
  w.w_up = random_tensor({128, 32}, rng, ws);
  w.w_down = random_tensor({32, 128}, rng, 1.0f / std::sqrt(128.0f));
  m.layers.push_back(std::move(w));
  m.final_norm_w = random_tensor({32}, rng, 0.0f, 1.0f);
  m.lm_head = random_tensor({33, 32}, rng, ws);
  return m;
}

// (a) The trained zoo model bb1-softmax-adamw on fresh samples of its task (what `qharness audit` uses without
// --data). Taken from the zoo cache; trained on first use (about 10 s) unless quick. Without models/zoo.yaml
// in the working directory (or in quick mode without a cached checkpoint): the random model of the same shape.
Workload zoo_workload(bool quick) {
  Workload w;
  w.name = "audit_bb1";
  const std::string zoo_yaml = "models/zoo.yaml", name = "bb1-softmax-adamw";
  std::string spec = "bb:seed=1000004,seqs=64,len=64,k=3,vocab=32,table_seed=0,alpha=0.5";
  std::string what = "random weights, zoo bb1 shape (" + zoo_yaml + " not found)";
  if (std::filesystem::exists(zoo_yaml)) {
    train::ZooOptions zo;
    zo.quiet = true;
    zo.threads = 1;
    const auto zoo = train::load_zoo(zoo_yaml);
    const std::string dir = train::zoo_checkpoint_dir(train::find_zoo_entry(zoo, name, zoo_yaml), zo);
    if (!quick || train::zoo_checkpoint_complete(dir)) {
      if (!train::zoo_checkpoint_complete(dir)) std::fprintf(stderr, "bench audit: training %s once ...\n", name.c_str());
      w.model = load_checkpoint(train::ensure_zoo_model(zoo_yaml, name, zo));
      const std::string eval_spec = data::default_eval_spec(w.model.spec.recipe_json);
      if (!eval_spec.empty()) spec = eval_spec;
      what = name + " (trained)";
    } else {
      what = "random weights, zoo bb1 shape (quick: " + name + " not cached)";
    }
  }
  if (w.model.layers.empty()) w.model = random_bb1_model();
  const data::Dataset data = data::load_data(spec, w.model.spec.vocab_size);
  for (const auto& seq : data.sequences) {
    w.windows.push_back(seq);
    std::vector<uint8_t> dom(seq.size(), 0);
    for (size_t t = 0; t < seq.size(); ++t) dom[t] = data.bb && data.bb->is_trigger(seq[t]) ? 1 : 0;
    w.domains.push_back(std::move(dom));
  }
  const ArchSpec& a = w.model.spec;
  w.desc = fmt::format("{}: d{} L{} H{} ff{}, {} windows of {}", what, a.d_model, a.num_layers, a.num_heads, a.d_ff,
                       w.windows.size(), w.windows.empty() ? 0 : w.windows[0].size());
  return w;
}

// (b) Llama-shaped (RMSNorm, RoPE, SwiGLU, GQA 4:1) random model with a BOS whose embedding is 20x larger, so
// the residual statistics see a peak. Full: d 512, 6 layers, 8 query heads of 64 over 2 KV heads, ff 1536,
// vocab 4096, 2 windows of 512 tokens. Quick: d 256, 2 layers, 4 heads over 1 KV head, ff 768, vocab 1024,
// 2 windows of 128.
Workload llama_workload(bool quick) {
  Workload w;
  w.name = "audit_llama";
  LlamaShape shape;
  shape.d_model = quick ? 256 : 512;
  shape.num_layers = quick ? 2 : 6;
  shape.kv_heads = shape.d_model / 64 / 4;
  shape.d_ff = quick ? 768 : 1536;
  shape.vocab_size = quick ? 1024 : 4096;
  shape.context = quick ? 128 : 512;
  std::mt19937 rng(42);
  w.model = random_llama(shape, rng);
  Model& m = w.model;
  const ArchSpec& a = m.spec;
  const int64_t d = a.d_model, ff = a.d_ff;
  for (int64_t c = 0; c < d; ++c) m.tok_emb.row(0)[c] *= 20.0f;  // BOS (token 0) 20x larger: a residual peak
  for (int s = 0; s < 2; ++s) {
    std::vector<int32_t> seq(a.context);
    seq[0] = 0;
    for (size_t t = 1; t < seq.size(); ++t) seq[t] = 1 + static_cast<int32_t>(rng() % (a.vocab_size - 1));
    w.windows.push_back(std::move(seq));
    w.domains.emplace_back();
  }
  w.desc = fmt::format("random llama d{} L{} H{}/KV{} ff{} V{}, 2 windows of {}", d, a.num_layers, a.num_heads,
                       a.num_kv_heads, ff, a.vocab_size, a.context);
  return w;
}

BenchRow cost_row(const Workload& w, const std::string& suffix, int threads, int64_t tokens, double t_fp,
                  double t_observed, const std::string& observers) {
  BenchRow r;
  r.kernel = w.name + suffix;
  r.threads = threads;
  r.metric = "tokens_per_s";
  r.value = static_cast<double>(tokens) / t_observed;
  r.limit_metric = "fp32_tokens_per_s";
  r.limit = static_cast<double>(tokens) / t_fp;
  r.info["cost_vs_fp"] = fmt::format("{:.3f}", t_observed / t_fp);  // the target: <= 1.5
  r.info["observers"] = observers;
  r.info["model"] = w.desc;
  return r;
}

void run_workload(const Workload& w, const BenchOptions& options, std::vector<BenchRow>* rows) {
  const Model& m = w.model;
  const ArchSpec& a = m.spec;
  engine::Engine fp(m, parse_scheme("FP32"));
  int64_t tokens = 0, longest = 0;
  for (const auto& s : w.windows) {
    tokens += static_cast<int64_t>(s.size());
    longest = std::max<int64_t>(longest, static_cast<int64_t>(s.size()));
  }
  std::vector<float> logits(static_cast<size_t>(longest) * a.vocab_size);
  const audit::AuditOptions ao;
  audit::StatsObserver stats(m, ao);
  audit::AttentionCapture capture(a.num_layers, a.num_heads, ao.attention_rows);

  auto plain = [&] {
    for (const auto& s : w.windows) fp.forward(s.data(), static_cast<int64_t>(s.size()), logits.data());
  };
  // The statistics pass alone (what a suite's audit runs: no schemes).
  auto observed = [&] {
    for (size_t k = 0; k < w.windows.size(); ++k) {
      const auto& s = w.windows[k];
      stats.begin_window(static_cast<int64_t>(k), 0, w.domains[k].empty() ? nullptr : w.domains[k].data());
      fp.forward(s.data(), static_cast<int64_t>(s.size()), logits.data(), &stats);
    }
  };
  // The whole observed fp pass of `qharness audit --scheme ...`: statistics, the attention rows kept for the
  // attention KL and the sink-token rows for the protections.
  auto observed_all = [&] {
    for (size_t k = 0; k < w.windows.size(); ++k) {
      const auto& s = w.windows[k];
      engine::ResidualNormObserver rn;
      engine::ObserverList list;
      list.add(&stats);
      list.add(&capture);
      list.add(&rn);
      stats.begin_window(static_cast<int64_t>(k), 0, w.domains[k].empty() ? nullptr : w.domains[k].data());
      fp.forward(s.data(), static_cast<int64_t>(s.size()), logits.data(), &list);
    }
  };
  for (int threads : options.threads) {
    set_threads(threads);
    const auto [t_fp, t_stats] = best_seconds_paired(plain, observed, options);
    rows->push_back(cost_row(w, "_stats", threads, tokens, t_fp, t_stats, "stats"));
    const auto [t_fp2, t_all] = best_seconds_paired(plain, observed_all, options);
    rows->push_back(cost_row(w, "_stats_capture", threads, tokens, t_fp2, t_all, "stats+attention_rows+sink_tokens"));
  }
}

}  // namespace

std::vector<BenchRow> bench_audit(const BenchOptions& options) {
  std::vector<BenchRow> rows;
  run_workload(zoo_workload(options.quick), options, &rows);
  run_workload(llama_workload(options.quick), options, &rows);
  return rows;
}

}  // namespace qh::bench
