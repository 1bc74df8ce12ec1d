#include "src/bench/bench_eval.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/model.h"
#include "quant/scheme.h"
#include "src/bench/bench_eval_scale.h"
#include "src/bench/random_models.h"
#include "src/engine/engine.h"
#include "src/engine/matmul.h"
#include "src/engine/window_parallel.h"

namespace qh::bench {

namespace {

// The rand25M shape: d 512, 8 layers, 8 heads of 64, ff 1376, vocab 4096. Quick: d 256, 2 layers,
// ff 688, vocab 1024.
Model bench_model(bool quick) {
  LlamaShape shape;
  shape.d_model = quick ? 256 : 512;
  shape.num_layers = quick ? 2 : 8;
  shape.kv_heads = shape.d_model / 64;
  shape.d_ff = quick ? 688 : 1376;
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

// A single-threaded process that spins until destroyed: the "busy core" of a shared machine. Killed by pid in
// the destructor (and by the kernel should the bench itself die: PR_SET_PDEATHSIG).
class BusyProcess {
 public:
  BusyProcess() {
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("bench eval: fork of the busy process failed");
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(0);  // the parent died before prctl took effect
      volatile uint64_t spin = 0;
      for (;;) spin = spin + 1;
    }
  }
  ~BusyProcess() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  BusyProcess(const BusyProcess&) = delete;
  BusyProcess& operator=(const BusyProcess&) = delete;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// The linear layers of the model as plain GEMMs with distinct weights per layer (as the engine holds them):
// int8 (s8 x s8, per-output-channel output scales, per-token binary-mul scales; the engine's kernel) or f32,
// and the lm_head in f32 (no scheme here quantizes it). Int8 weight codes of `code_bits` bits: on CPUs without
// VNNI the engine splits 8-bit codes (Int8Matmul, twice the work), so W8A8's bound has 8-bit codes.
class LinearGemms {
 public:
  LinearGemms(const ArchSpec& a, bool int8, int code_bits = 4) : a_(a), int8_(int8) {
    const int64_t d = a.d_model, ff = a.d_ff, qkv = (a.num_heads + 2 * a.num_kv_heads) * a.head_dim;
    shapes_ = {{qkv, d}, {d, a.num_heads * a.head_dim}, {2 * ff, d}, {d, ff}};
    std::mt19937 rng(11);
    const int code_max = (1 << (code_bits - 1)) - 1;
    std::uniform_int_distribution<int> code(-code_max, code_max);
    std::normal_distribution<float> g(0.0f, 0.05f);
    for (int l = 0; l < a.num_layers; ++l)
      for (const auto& [N, K] : shapes_) {
        if (int8) {
          std::vector<int8_t> w(N * K);
          for (auto& x : w) x = static_cast<int8_t>(code(rng));
          const std::vector<float> scales(N, 0.01f);
          i8_.push_back(std::make_unique<engine::Int8Matmul>(w.data(), scales.data(), N, K, nullptr, false, 0.0f));
        } else {
          f32_w_.emplace_back(N * K);  // F32Matmul views its weights: they live as long as the GEMMs
          for (auto& x : f32_w_.back()) x = g(rng);
          f32_.push_back(std::make_unique<engine::F32Matmul>(f32_w_.back().data(), N, K, nullptr));
        }
      }
    f32_w_.emplace_back(a.vocab_size * d);
    for (auto& x : f32_w_.back()) x = g(rng);
    head_ = std::make_unique<engine::F32Matmul>(f32_w_.back().data(), a.vocab_size, d, nullptr);
  }
  // The GEMMs of one window of T tokens, on the calling thread's buffers.
  void window(int64_t T) {
    thread_local std::vector<float> x, y, scales;
    thread_local std::vector<int8_t> codes;
    const int64_t widest = std::max<int64_t>(a_.d_ff, a_.d_model);
    const int64_t out = std::max<int64_t>(a_.vocab_size, 2 * a_.d_ff);
    if (x.size() < static_cast<size_t>(T * widest)) {
      x.assign(T * widest, 0.5f);
      codes.assign(T * widest, 3);
      scales.assign(T, 0.02f);
    }
    y.resize(std::max(y.size(), static_cast<size_t>(T * out)));
    size_t i = 0;
    for (int l = 0; l < a_.num_layers; ++l)
      for (size_t s = 0; s < shapes_.size(); ++s, ++i) {
        if (int8_) i8_[i]->run(codes.data(), scales.data(), T, y.data());
        else f32_[i]->run(x.data(), T, y.data());
      }
    head_->run(x.data(), T, y.data());
  }
  std::string impl() const { return int8_ ? i8_[0]->impl() : f32_[0]->impl(); }

 private:
  ArchSpec a_;
  bool int8_;
  std::vector<std::pair<int64_t, int64_t>> shapes_;  // (N, K) per layer
  std::deque<std::vector<float>> f32_w_;  // f32 weights (a deque: growing it moves no matrix)
  std::vector<std::unique_ptr<engine::Int8Matmul>> i8_;
  std::vector<std::unique_ptr<engine::F32Matmul>> f32_;
  std::unique_ptr<engine::F32Matmul> head_;
};

}  // namespace

std::vector<BenchRow> bench_eval(const BenchOptions& options) {
  if (!options.params.empty()) return bench_eval_scale(options);
  const Model m = bench_model(options.quick);
  const ArchSpec& a = m.spec;
  const int64_t T = options.quick ? 128 : 512, n_windows = options.quick ? 4 : 8;
  std::mt19937 rng(7);
  std::vector<std::vector<int32_t>> windows(n_windows, std::vector<int32_t>(T));
  for (auto& w : windows)
    for (auto& x : w) x = static_cast<int32_t>(rng() % a.vocab_size);
  const std::string model_desc =
      fmt::format("llama d{} L{} ff{} V{} ({:.1f}M params), {} windows of {}", a.d_model, a.num_layers, a.d_ff,
                  a.vocab_size, num_params(m) / 1e6, n_windows, T);

  engine::Engine fp(m, parse_scheme("FP32"));
  engine::Engine w8(m, parse_scheme("W8A8"));
  engine::Engine w4(m, parse_scheme("W4A4"));
  LinearGemms f32_gemms(a, false), int8_gemms(a, true, 4);
  // W8A8's own bound only where 8-bit codes run differently (split on CPUs without VNNI).
  std::unique_ptr<LinearGemms> int8_w8_gemms;
  if (engine::int8_pair_sums_saturate()) int8_w8_gemms = std::make_unique<LinearGemms>(a, true, 8);
  LinearGemms& w8_bound = int8_w8_gemms ? *int8_w8_gemms : int8_gemms;
  // Every measurement runs the windows as the evaluator does (for_each_window), each thread on its own logits.
  auto pass = [&](engine::Engine& e) {
    return [&e, &windows, T, V = a.vocab_size] {
      engine::for_each_window(static_cast<int64_t>(windows.size()), [&](int64_t w) {
        thread_local std::vector<float> logits;
        logits.resize(T * V);
        e.forward(windows[w].data(), T, logits.data());
      });
    };
  };
  auto gemms = [&](LinearGemms& g) {
    return [&g, &windows, T] {
      engine::for_each_window(static_cast<int64_t>(windows.size()), [&](int64_t) { g.window(T); });
    };
  };
  const double tokens = static_cast<double>(T * n_windows);
  std::vector<BenchRow> rows;
  double one_thread[3] = {0, 0, 0};  // tokens/s at 1 thread, per scheme (the busy rows' reference)
  auto measure = [&](int threads, bool busy) {
    set_threads(threads);
    std::unique_ptr<BusyProcess> competitor;
    if (busy) competitor = std::make_unique<BusyProcess>();
    std::vector<std::function<void()>> fns{pass(fp), gemms(f32_gemms), pass(w8), pass(w4), gemms(int8_gemms)};
    if (int8_w8_gemms) fns.push_back(gemms(*int8_w8_gemms));
    const std::vector<double> t = best_seconds_interleaved(fns, options);
    const pid_t busy_pid = competitor ? competitor->pid() : 0;
    competitor.reset();  // killed and reaped before anything else runs
    const double t_fp = t[0], t_f32 = t[1], t_w8 = t[2], t_w4 = t[3], t_i8 = t[4];
    const double t_i8_w8 = int8_w8_gemms ? t[5] : t_i8;
    const double fp_tps = tokens / t_fp;
    const std::tuple<const char*, double, double, const char*, engine::Engine*> schemes[3] = {
        {"FP32", t_fp, t_f32, "f32_gemm_tokens_per_s", &fp},
        {"W8A8", t_w8, t_i8_w8, "int8_gemm_tokens_per_s", &w8},
        {"W4A4", t_w4, t_i8, "int8_gemm_tokens_per_s", &w4}};
    for (int s = 0; s < 3; ++s) {
      const auto& [name, t_pass, t_bound, bound_name, eng] = schemes[s];
      BenchRow r;
      r.kernel = std::string("eval_") + name + (busy ? "_busy" : "");
      r.threads = threads;
      r.metric = "tokens_per_s";
      r.value = tokens / t_pass;
      r.limit_metric = bound_name;
      r.limit = tokens / t_bound;
      r.info["scheme"] = name;
      r.info["model"] = model_desc;
      r.info["isa"] = eng->int8_impl().empty() ? eng->f32_impl() : eng->int8_impl();
      r.info["gemm_isa"] = s == 0 ? f32_gemms.impl() : s == 1 ? w8_bound.impl() : int8_gemms.impl();
      r.info["vs_fp32"] = fmt::format("{:.2f}", r.value / fp_tps);
      r.info["windows"] = engine::windows_in_parallel(n_windows) ? "parallel" : "in order, intra-op threads";
      if (busy) {
        r.info["busy_pid"] = std::to_string(busy_pid);  // gone by now: the bench test checks it
        if (one_thread[s] > 0) r.info["vs_1_thread_idle"] = fmt::format("{:.2f}", r.value / one_thread[s]);
      } else if (threads == 1) {
        one_thread[s] = r.value;
      } else if (one_thread[s] > 0) {
        r.info["vs_1_thread"] = fmt::format("{:.2f}", r.value / one_thread[s]);
      }
      rows.push_back(r);
    }
  };
  for (int threads : options.threads) measure(threads, false);
  for (int threads : options.threads)
    if (threads > 1) measure(threads, true);
  return rows;
}

}  // namespace qh::bench
