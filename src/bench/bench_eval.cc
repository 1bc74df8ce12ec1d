#include "src/bench/bench_eval.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "models/model.h"
#include "quant/scheme.h"
#include "src/bench/bench_eval_scale.h"
#include "src/bench/random_models.h"
#include "src/engine/engine.h"
#include "src/engine/matmul.h"

namespace qh::bench {

namespace {

// Llama-shaped: RMSNorm, RoPE, SwiGLU. Full size: d 512, 6 layers, 8 heads of 64, ff 1536, vocab 4096 ->
// 24.6M parameters. Quick: d 256, 2 layers, ff 768, vocab 1024.
Model bench_model(bool quick) {
  LlamaShape shape;
  shape.d_model = quick ? 256 : 512;
  shape.num_layers = quick ? 2 : 6;
  shape.kv_heads = shape.d_model / 64;
  shape.d_ff = quick ? 768 : 1536;
  shape.vocab_size = quick ? 1024 : 4096;
  std::mt19937 rng(42);
  return random_llama(shape, rng);
}

// Best times of several functions measured in turn (f0, f1, ..., f0, f1, ...), so that every figure samples
// the same moments of a shared machine and their ratios are not skewed by a burst of load on one of them.
std::vector<double> best_seconds_interleaved(const std::vector<std::function<void()>>& fns,
                                             const BenchOptions& options) {
  using Clock = std::chrono::steady_clock;
  for (const auto& f : fns) f();  // warm-up: primitives created, pages touched
  std::vector<double> best(fns.size(), 1e300);
  const auto start = Clock::now();
  for (int rep = 0;; ++rep) {
    for (size_t i = 0; i < fns.size(); ++i) {
      const auto t0 = Clock::now();
      fns[i]();
      best[i] = std::min(best[i], std::chrono::duration<double>(Clock::now() - t0).count());
    }
    if (rep + 1 >= options.min_repeats &&
        std::chrono::duration<double>(Clock::now() - start).count() >= options.min_seconds)
      break;
  }
  return best;
}

int64_t num_params(const Model& m) {
  int64_t n = static_cast<int64_t>(m.tok_emb.size() + m.lm_head.size() + m.final_norm_w.size());
  for (const LayerWeights& w : m.layers)
    for (const Tensor* x : {&w.attn_norm_w, &w.mlp_norm_w, &w.wq, &w.wk, &w.wv, &w.wo, &w.w_gate, &w.w_up, &w.w_down})
      n += static_cast<int64_t>(x->size());
  return n;
}

}  // namespace

std::vector<BenchRow> bench_eval(const BenchOptions& options) {
  if (!options.params.empty()) return bench_eval_scale(options);
  const Model m = bench_model(options.quick);
  const ArchSpec& a = m.spec;
  const int64_t T = options.quick ? 128 : 512, d = a.d_model, ff = a.d_ff;
  std::mt19937 rng(7);
  std::vector<int32_t> tokens(T);
  for (auto& x : tokens) x = static_cast<int32_t>(rng() % a.vocab_size);
  std::vector<float> logits(T * a.vocab_size);
  const std::string model_desc = fmt::format("llama d{} L{} ff{} V{} ({:.1f}M params), window {}", d, a.num_layers,
                                             ff, a.vocab_size, num_params(m) / 1e6, T);

  // The same linear shapes as the engine runs (q|k|v and gate|up fused), as plain oneDNN f32 GEMMs.
  std::vector<float> wbuf(static_cast<size_t>(a.vocab_size) * d + 3 * d * d + 2 * ff * d, 0.01f);
  engine::F32Matmul qkv(wbuf.data(), 3 * d, d, nullptr), o(wbuf.data(), d, d, nullptr),
      gate_up(wbuf.data(), 2 * ff, d, nullptr), down(wbuf.data(), d, ff, nullptr),
      head(wbuf.data(), a.vocab_size, d, nullptr);
  std::vector<float> x(T * std::max<int64_t>(ff, d), 0.5f), y(T * std::max<int64_t>(a.vocab_size, 2 * ff));
  auto gemms = [&] {
    for (int l = 0; l < a.num_layers; ++l) {
      qkv.run(x.data(), T, y.data());
      o.run(x.data(), T, y.data());
      gate_up.run(x.data(), T, y.data());
      down.run(x.data(), T, y.data());
    }
    head.run(x.data(), T, y.data());
  };

  engine::Engine fp(m, parse_scheme("FP32"));
  engine::Engine w8(m, parse_scheme("W8A8"));
  engine::Engine w4(m, parse_scheme("W4A4"));
  const double flops = fp.linear_flops_per_token() * static_cast<double>(T);
  std::vector<BenchRow> rows;
  for (int threads : options.threads) {
    set_threads(threads);
    const std::vector<double> t = best_seconds_interleaved(
        {[&] { fp.forward(tokens.data(), T, logits.data()); }, gemms,
         [&] { w8.forward(tokens.data(), T, logits.data()); }, [&] { w4.forward(tokens.data(), T, logits.data()); }},
        options);
    const double t_fp = t[0], t_gemm = t[1], t_w8 = t[2], t_w4 = t[3];

    BenchRow lin;
    lin.kernel = "eval_fp32_linear";
    lin.threads = threads;
    lin.metric = "gflops";
    lin.value = flops / t_fp / 1e9;
    lin.limit_metric = "gemm_gflops";
    lin.limit = flops / t_gemm / 1e9;
    lin.ratio = lin.value / lin.limit;
    lin.info["model"] = model_desc;
    lin.info["isa"] = fp.f32_impl();
    rows.push_back(lin);
    const double fp_tps = static_cast<double>(T) / t_fp;
    for (const auto& [name, t, eng] : {std::tuple<const char*, double, engine::Engine*>{"FP32", t_fp, &fp},
                                       {"W8A8", t_w8, &w8}, {"W4A4", t_w4, &w4}}) {
      BenchRow r;
      r.kernel = std::string("eval_") + name;
      r.threads = threads;
      r.metric = "tokens_per_s";
      r.value = static_cast<double>(T) / t;
      r.limit_metric = "fp32_tokens_per_s";
      r.limit = fp_tps;
      r.ratio = r.value / fp_tps;
      r.info["scheme"] = name;
      r.info["isa"] = eng->int8_impl().empty() ? eng->f32_impl() : eng->int8_impl();
      r.info["linear_gflops"] = fmt::format("{:.1f}", flops / t / 1e9);
      rows.push_back(r);
    }
  }
  return rows;
}

}  // namespace qh::bench
