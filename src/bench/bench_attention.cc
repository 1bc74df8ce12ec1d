// `qharness bench attention`: the tiled causal attention kernel (src/engine/flash_attention.h) on the bench
// model's attention shape (one window of 512 tokens, 8 heads of 64; quick: 128 tokens, 4 heads), dispatched as
// the engine does (blocks of kFlashRowBlock query rows of one head, handed out to the threads). Its figure
// counts 2 * hd flops per visible (row, key) pair for q.k and as many for p v; the same-run limit is oneDNN's
// f32 GEMM (engine::F32Matmul) of the same flop count per head, [T, hd] x [hd, T] (the q k^T product without
// the causal mask), one per head on the same threads.
#include "src/bench/bench_attention.h"

#include <fmt/format.h>

#include <cmath>
#include <vector>

#include "src/engine/flash_attention.h"
#include "src/engine/for_rows.h"
#include "src/engine/matmul.h"

namespace qh::bench {

std::vector<BenchRow> bench_attention(const BenchOptions& options) {
  const int64_t T = options.quick ? 128 : 512, H = options.quick ? 4 : 8, hd = 64;
  std::vector<float> q(H * T * hd), k(H * T * hd), v(H * T * hd), out(T * H * hd), gemm_out(H * T * T);
  fill_random(q.data(), static_cast<int64_t>(q.size()), 1);
  fill_random(k.data(), static_cast<int64_t>(k.size()), 2);
  fill_random(v.data(), static_cast<int64_t>(v.size()), 3);
  // Per head: (row, key) pairs of the causal triangle, 4 hd flops each; the GEMM does 2 T T hd.
  const double attn_flops = static_cast<double>(H) * (T * (T + 1) / 2) * 4.0 * hd;
  const double gemm_flops = static_cast<double>(H) * 2.0 * T * T * hd;
  const int64_t per_head = (T + engine::kFlashRowBlock - 1) / engine::kFlashRowBlock;
  auto attention = [&] {
    engine::for_blocks_dynamic(H * per_head, engine::kFlashRowBlock * hd * (T / 2 + 1), [&](int64_t b) {
      const int64_t h = b / per_head, i0 = (b % per_head) * engine::kFlashRowBlock;
      engine::FlashHead fh{q.data() + h * T * hd, hd, k.data() + h * T * hd, hd,
                           v.data() + h * T * hd, hd, out.data() + h * hd, H * hd};
      fh.hd = hd;
      fh.scale = 1.0f / std::sqrt(static_cast<float>(hd));
      engine::flash_attention_rows(fh, i0, std::min(T, i0 + engine::kFlashRowBlock));
    });
  };
  std::vector<engine::F32Matmul> gemms;  // y[T, T] = q_h k_h^T, k_h viewed as the [N = T, K = hd] weights
  for (int64_t h = 0; h < H; ++h) gemms.emplace_back(k.data() + h * T * hd, T, hd, nullptr);
  auto gemm = [&] {
    engine::for_blocks_dynamic(H, T * T * hd, [&](int64_t h) {
      gemms[h].run(q.data() + h * T * hd, T, gemm_out.data() + h * T * T);
    });
  };
  std::vector<BenchRow> rows;
  for (int threads : options.threads) {
    set_threads(threads);
    const auto [attn_s, gemm_s] = best_seconds_paired(attention, gemm, options);
    BenchRow r;
    r.kernel = "flash_attention";
    r.threads = threads;
    r.metric = "gflops";
    r.value = attn_flops / attn_s / 1e9;
    r.limit_metric = "gemm_gflops";
    r.limit = gemm_flops / gemm_s / 1e9;
    r.info["shape"] = fmt::format("causal T{} heads{} hd{}", T, H, hd);
    r.info["gemm_shape"] = fmt::format("{}x{}x{} per head", T, hd, T);
    r.info["gemm_isa"] = gemms[0].impl();
    rows.push_back(r);
  }
  return rows;
}

}  // namespace qh::bench
