#include "src/bench/bench_eval_scale.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "models/checkpoint.h"
#include "models/config.h"
#include "models/train/zoo.h"
#include "quant/scheme.h"
#include "src/bench/random_models.h"
#include "src/core/atomic_file.h"
#include "src/core/error.h"
#include "src/core/memory.h"
#include "src/engine/engine.h"
#include "src/engine/memory_estimate.h"

namespace qh::bench {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

constexpr uint32_t kSeed = 42;
constexpr uint64_t kShardBytes = 1000ull * 1000 * 1000;  // shards of at most 1 GB, as HF's save_pretrained

LlamaShape tinyllama_shape() {
  LlamaShape s;
  s.d_model = 2048;
  s.num_layers = 22;
  s.kv_heads = 4;
  s.d_ff = 5632;
  s.vocab_size = 32000;
  s.context = 2048;
  return s;
}

// TinyLlama-1.1B's config.json fields that decide the model (HF Llama names).
nlohmann::json hf_llama_config(const LlamaShape& s) {
  return {{"architectures", {"LlamaForCausalLM"}},
          {"model_type", "llama"},
          {"hidden_act", "silu"},
          {"hidden_size", s.d_model},
          {"intermediate_size", s.d_ff},
          {"num_hidden_layers", s.num_layers},
          {"num_attention_heads", s.d_model / 64},
          {"num_key_value_heads", s.kv_heads},
          {"vocab_size", s.vocab_size},
          {"max_position_embeddings", s.context},
          {"rms_norm_eps", 1e-5},
          {"rope_theta", 10000.0},
          {"tie_word_embeddings", false}};
}

// The checkpoint's folder in the cache, written on first use: random weights (random_llama, seed kSeed) in
// BF16 shards. Made in a temporary folder renamed into place, so a folder under its final name is complete.
std::string ensure_checkpoint(const LlamaShape& s, const std::string& cache) {
  const fs::path dir = fs::path(cache) / "bench" /
                       fmt::format("llama-d{}-L{}-kv{}-ff{}-V{}-ctx{}-seed{}-bf16", s.d_model, s.num_layers,
                                   s.kv_heads, s.d_ff, s.vocab_size, s.context, kSeed);
  std::error_code ec;
  if (fs::exists(dir / "model.safetensors.index.json", ec)) return dir.string();
  std::fprintf(stderr, "bench eval: writing a random %s checkpoint (once) ...\n", dir.string().c_str());
  const fs::path tmp = dir.string() + ".tmp-" + std::to_string(::getpid());
  fs::remove_all(tmp, ec);
  {
    std::mt19937 rng(kSeed);
    Model m = random_llama(s, rng);
    save_checkpoint(tmp.string(), m, DType::kBF16, kShardBytes);
  }
  write_file_atomic((tmp / "config.json").string(), hf_llama_config(s).dump(2) + "\n");
  fs::rename(tmp, dir, ec);
  if (ec) {  // another process made it first: keep theirs
    fs::remove_all(tmp, ec);
    if (!fs::exists(dir / "model.safetensors.index.json", ec))
      throw std::runtime_error("bench eval: cannot move the checkpoint into " + dir.string());
  }
  return dir.string();
}

}  // namespace

std::vector<BenchRow> bench_eval_scale(const BenchOptions& options) {
  if (options.params != "1.1B")
    throw InputError("bench eval --params '" + options.params + "': expected 1.1B (TinyLlama-1.1B's shape)");
  const LlamaShape shape = tinyllama_shape();
  train::ZooOptions zoo;
  zoo.cache_dir = options.cache_dir;
  const std::string dir = ensure_checkpoint(shape, train::resolve_cache_dir(zoo));
  const int threads = *std::max_element(options.threads.begin(), options.threads.end());
  set_threads(threads);
  const int64_t T = 2048;
  const std::vector<std::string> schemes = {"FP32", "W8A8", "W4A4"};

  // Engines are built one at a time: the estimate counts the largest single engine beside the model.
  const ArchSpec config = read_config((fs::path(dir) / "config.json").string());
  engine::MemoryEstimate need;
  for (const std::string& s : schemes) {
    const engine::MemoryEstimate e = engine::estimate_memory(config, {parse_scheme(s)}, 1, T, threads);
    if (e.total() > need.total()) need = e;
  }
  const AvailableMemory avail = available_memory();
  std::fprintf(stderr, "bench eval: memory: about %s; %s available (%s)\n", need.describe(T).c_str(),
               format_bytes(avail.bytes).c_str(), avail.source.c_str());
  engine::check_memory_fits(need, T, avail, dir);

  // From here on the peak resident set is the load's and the evaluation's (not the checkpoint writer's).
  const bool peak_reset = reset_peak_resident();
  auto t0 = Clock::now();
  const Model m = load_checkpoint(dir);
  const double load_s = seconds_since(t0);
  const uint64_t f32_bytes = static_cast<uint64_t>(num_params(m)) * sizeof(float);
  const std::string desc = fmt::format("random TinyLlama-1.1B shape, {:.3f}B params, BF16 shards, window {}",
                                       num_params(m) / 1e9, T);
  size_t shards = 0;
  for (const auto& e : fs::directory_iterator(dir))
    shards += e.path().extension() == ".safetensors";

  std::vector<BenchRow> rows;
  BenchRow load;
  load.kernel = "eval_1.1B_load";
  load.threads = threads;
  load.metric = "seconds";
  load.value = load_s;
  load.info["model"] = desc;
  load.info["shards"] = std::to_string(shards);
  load.info["checkpoint"] = dir;
  rows.push_back(load);

  std::mt19937 rng(7);
  std::vector<int32_t> tokens(T);
  for (auto& x : tokens) x = static_cast<int32_t>(rng() % static_cast<uint32_t>(m.spec.vocab_size));
  std::vector<float> logits(static_cast<size_t>(T) * m.spec.vocab_size);
  double fp_tps = 0;
  for (const std::string& name : schemes) {
    t0 = Clock::now();
    engine::Engine eng(m, parse_scheme(name));
    const double build_s = seconds_since(t0);
    // One untimed window (primitives created, pages touched), then the best of the timed ones.
    eng.forward(tokens.data(), T, logits.data());
    double best = 1e300;
    const auto start = Clock::now();
    for (int rep = 0; rep < std::max(1, options.min_repeats) && (rep == 0 || seconds_since(start) < options.min_seconds);
         ++rep) {
      t0 = Clock::now();
      eng.forward(tokens.data(), T, logits.data());
      best = std::min(best, seconds_since(t0));
    }
    BenchRow r;
    r.kernel = "eval_1.1B_" + name;
    r.threads = threads;
    r.metric = "tokens_per_s";
    r.value = static_cast<double>(T) / best;
    if (name == "FP32") fp_tps = r.value;
    r.limit_metric = "fp32_tokens_per_s";
    r.limit = fp_tps;
    r.info["model"] = desc;
    r.info["isa"] = eng.int8_impl().empty() ? eng.f32_impl() : eng.int8_impl();
    r.info["build_s"] = fmt::format("{:.1f}", build_s);
    r.info["engine_weight_bytes"] = format_bytes(eng.weight_bytes_held().total);
    r.info["rss_after"] = format_bytes(resident_bytes());
    rows.push_back(r);
  }
  BenchRow peak;
  peak.kernel = "eval_1.1B_peak_rss";
  peak.threads = threads;
  peak.metric = "gb";
  peak.value = static_cast<double>(peak_resident_bytes()) / 1e9;
  peak.limit_metric = "f32_weights_gb";
  peak.limit = static_cast<double>(f32_bytes) / 1e9;
  peak.info["goal"] = "ratio <= 1.6";
  peak.info["estimate"] = need.describe(T);
  if (!peak_reset) peak.info["note"] = "peak includes writing the checkpoint (/proc/self/clear_refs refused)";
  rows.push_back(peak);
  return rows;
}

}  // namespace qh::bench
