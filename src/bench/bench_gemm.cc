// `qharness bench gemm`: the engine's two GEMM paths on 512 x 2048 x 2048 (ARCHITECTURE.md 2.4): oneDNN f32 matmul
// (the reference path) and u8 x s8 int8 matmul with int32 accumulation, per-output-channel weight scales as
// output scales fixed at creation (mask 1 << 2) and per-token activation scales as a {1, M, 1} binary-mul
// post-op. The int8 figure is compared with the f32 figure measured in the same run; the implementation
// string (ISA) of each primitive is recorded, since a fallback to a reference kernel is the usual failure.
// A third row times the f32 GEMM as the engine runs it (engine::F32Matmul: oneDNN's brgemm where its bits do not
// depend on the row count and threads, else the engine's own gemm_f32) against oneDNN's f32 figure of the same run.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <dnnl.hpp>

#include "src/bench/bench.h"
#include "src/engine/matmul.h"

namespace qh::bench {
namespace {

using dnnl::memory;
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

struct Gemm {
  dnnl::matmul prim;
  std::unordered_map<int, memory> args;
  std::string impl;
};

template <typename T>
memory filled(const memory::desc& md, const dnnl::engine& eng, T lo, T span) {
  memory m(md, eng);
  T* p = static_cast<T*>(m.get_data_handle());
  const size_t n = md.get_size() / sizeof(T);
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<T>(lo + static_cast<T>((i * 7919) % static_cast<size_t>(span)));
  return m;
}

// Reorders a plain weight memory into the layout the primitive chose (format_tag::any), once.
memory reordered_weights(const memory& plain, const memory::desc& wanted, const dnnl::engine& eng,
                         dnnl::stream& stream) {
  if (plain.get_desc() == wanted) return plain;
  memory out(wanted, eng);
  dnnl::reorder(plain, out).execute(stream, const_cast<memory&>(plain), out);
  stream.wait();
  return out;
}

Gemm make_f32(int64_t M, int64_t K, int64_t N, const dnnl::engine& eng, dnnl::stream& stream) {
  const memory::desc a({1, M, K}, dt::f32, tag::abc), b_any({1, K, N}, dt::f32, tag::any), c({1, M, N}, dt::f32, tag::abc);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b_any, c), eng);
  Gemm g{dnnl::matmul(pd), {}, pd.impl_info_str()};
  const memory b_plain = filled<float>(memory::desc({1, K, N}, dt::f32, tag::abc), eng, -1.0f, 3.0f);
  g.args[DNNL_ARG_SRC] = filled<float>(a, eng, -1.0f, 3.0f);
  g.args[DNNL_ARG_WEIGHTS] = reordered_weights(b_plain, pd.weights_desc(), eng, stream);
  g.args[DNNL_ARG_DST] = memory(c, eng);
  return g;
}

Gemm make_int8(int64_t M, int64_t K, int64_t N, const dnnl::engine& eng, dnnl::stream& stream) {
  const memory::desc a({1, M, K}, dt::u8, tag::abc), b_any({1, K, N}, dt::s8, tag::any), c({1, M, N}, dt::f32, tag::abc);
  const memory::desc token_scales({1, M, 1}, dt::f32, tag::abc);
  dnnl::primitive_attr attr;
  attr.set_output_scales(1 << 2, std::vector<float>(N, 0.01f));  // per output channel, fixed at creation
  dnnl::post_ops ops;
  ops.append_binary(dnnl::algorithm::binary_mul, token_scales);  // per token, given at execution
  attr.set_post_ops(ops);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b_any, c), attr, eng);
  Gemm g{dnnl::matmul(pd), {}, pd.impl_info_str()};
  const memory b_plain = filled<int8_t>(memory::desc({1, K, N}, dt::s8, tag::abc), eng, -7, 15);
  g.args[DNNL_ARG_SRC] = filled<uint8_t>(a, eng, 0, 16);
  g.args[DNNL_ARG_WEIGHTS] = reordered_weights(b_plain, pd.weights_desc(), eng, stream);
  g.args[DNNL_ARG_DST] = memory(c, eng);
  g.args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1] = filled<float>(token_scales, eng, 0.5f, 2.0f);
  return g;
}

}  // namespace

std::vector<BenchRow> bench_gemm(const BenchOptions& options) {
  const int64_t M = options.quick ? 128 : 512, K = 2048, N = 2048;
  const double flops = 2.0 * static_cast<double>(M) * static_cast<double>(K) * static_cast<double>(N);
  const std::string shape = std::to_string(M) + "x" + std::to_string(K) + "x" + std::to_string(N);
  std::vector<BenchRow> out;
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(eng);
  for (int threads : options.threads) {
    set_threads(threads);  // oneDNN (OpenMP runtime) reads the thread count at execution
    Gemm f32 = make_f32(M, K, N, eng, stream);
    Gemm int8 = make_int8(M, K, N, eng, stream);
    auto run = [&](Gemm& g) {
      g.prim.execute(stream, g.args);
      stream.wait();
    };
    // Alternating f32 and int8 runs sample the same moments of a shared machine.
    const auto [f32_s, int8_s] = best_seconds_paired([&] { run(f32); }, [&] { run(int8); }, options);
    const double f32_gflops = flops / f32_s / 1e9, int8_gflops = flops / int8_s / 1e9;
    out.push_back(BenchRow{"gemm_f32", threads, "gflops", f32_gflops, "gemm_gflops", f32_gflops,
                           {{"shape", shape}, {"isa", f32.impl}}});
    out.push_back(BenchRow{"gemm_u8s8_int8", threads, "gflops", int8_gflops, "gemm_gflops", f32_gflops,
                           {{"shape", shape}, {"isa", int8.impl}}});
    // The engine's f32 GEMM: weights [N, K] as nn.Linear stores them, the product x W^T.
    std::vector<float> x(static_cast<size_t>(M * K)), w(static_cast<size_t>(N * K)), y(static_cast<size_t>(M * N));
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 13) * 0.1f - 0.6f;
    for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i % 7) * 0.01f - 0.03f;
    engine::F32Matmul own(w.data(), N, K, nullptr);
    const auto [ref_s, own_s] = best_seconds_paired([&] { run(f32); }, [&] { own.run(x.data(), M, y.data()); }, options);
    out.push_back(BenchRow{"gemm_f32_engine", threads, "gflops", flops / own_s / 1e9, "gemm_gflops", flops / ref_s / 1e9,
                           {{"shape", shape}, {"isa", own.impl()}}});
  }
  return out;
}

}  // namespace qh::bench
