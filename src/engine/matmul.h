// oneDNN matmuls with cached primitives (ARCHITECTURE.md 2.4). Every matmul is 3-D ({1,M,K} x {1,K,N}), the layout
// that keeps oneDNN 2.6 on its brgemm kernels. Primitives are created once per row count M and kept.
// Weights are read in place, [N, K] row-major seen as {1,K,N} (tag acb): oneDNN's brgemm copies blocks of them
// into its scratchpad as it goes and computes the same bits as on weights reordered in advance (checked for
// the model shapes, f32 and s8), so no second resident copy of a weight is made. Only when oneDNN would not
// run brgemm on in-place weights are they reordered once, as before, and that copy is counted in bytes_held().
//
// Thread safety: run() may be called from several threads at once (window-parallel evaluation runs one window
// per thread through the same engine). The primitive cache is guarded by a mutex, every primitive uses a
// user-managed scratchpad (oneDNN's library scratchpad may not migrate between threads) held per calling thread,
// and each thread executes on its own stream. Primitives are keyed by (M, the caller's OpenMP thread count), so
// a primitive always runs with the thread count it was created for and its bits do not depend on which path
// called it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

namespace qh::engine {

// y[M,N] = x[M,K] W^T (+ bias) in f32, W given as [N, K] row-major (nn.Linear layout). The weights are viewed,
// not copied: the caller keeps them alive and unchanged for the matmul's lifetime (a Model's tensors are
// read-only after loading, so engines built on one Model share them).
// On oneDNN's brgemm kernels (AVX-512 and up) a row's bits do not depend on M, on N or on the thread count;
// on CPUs where oneDNN has only gemm:jit they do, and the engine's own GEMM (gemm_f32.h) runs instead.
class F32Matmul {
 public:
  F32Matmul() = default;
  F32Matmul(const float* w, int64_t N, int64_t K, const float* bias);
  void run(const float* x, int64_t M, float* y);
  int64_t N() const { return N_; }
  int64_t K() const { return K_; }
  std::string impl() const;
  // Whether oneDNN's f32 matmul runs on brgemm on this CPU (probed once); else gemm_f32 runs.
  static bool onednn_is_deterministic();
  // Bytes this matmul keeps besides the viewed weights: bias and any reordered weight copy.
  size_t bytes_held() const;

 private:
  struct Entry {
    dnnl::matmul prim;
    std::shared_ptr<dnnl::memory> weights;
    dnnl::memory::desc scratchpad;
  };
  const Entry& entry(int64_t M);
  int64_t N_ = 0, K_ = 0;
  const float* w_ = nullptr;  // [N, K], viewed
  std::vector<float> bias_;   // [N] or empty
  // guards cache_, packed_, impl_ (held by pointer so that the matmul stays movable: vectors of parts)
  std::unique_ptr<std::mutex> mu_ = std::make_unique<std::mutex>();
  std::map<std::pair<int64_t, int>, Entry> cache_;  // (M, caller's thread count)
  std::vector<std::pair<dnnl::memory::desc, std::shared_ptr<dnnl::memory>>> packed_;
  std::string impl_;
};

// Whether oneDNN's int8 kernels on this CPU add pairs of adjacent u8 x s8 products in int16 (vpmaddubsw),
// saturating: every ISA without VNNI (sse41, avx, avx2, avx512_core). oneDNN feeds s8 sources as x + 128, so
// the u8 operand reaches 255 either way, and a pair of products overflows int16 once |w_a| + |w_b| > 128.
// With VNNI (vpdpbusd) or AMX each product goes to int32 and nothing saturates.
bool int8_pair_sums_saturate();

// Whether oneDNN multiplies int8 codes read in place on this CPU (its brgemm kernels, AVX-512 and up), probed
// once. Elsewhere Int8Matmul's first run reorders them into oneDNN's blocked layout and keeps that copy too, so
// the codes are held twice (memory_estimate counts them so).
bool int8_codes_in_place();

// y[M,N] = s_x[m] * s_w[n] * (codes_x[M,K] . codes_w[N,K]^T) (+ bias[n]) with int32 accumulation.
// src is s8 (symmetric) or u8 (asymmetric; the zero-point term is the caller's). Per-token activation scales
// come as a binary-mul post-op on a {1,M,1} tensor; a static (per-tensor) scale is folded into the output
// scales, which are fixed at primitive creation.
// The codes are copied (the caller's are usually a temporary of the weight quantizer) and read in place.
//
// Exact on every CPU: where int8_pair_sums_saturate() and some weight code lies outside [-64, 64] (8-bit
// weights; 4-bit codes never do), each code w is split into w1 = w / 2 and w2 = w - w1, both in [-64, 64], and
// the primitive multiplies [x | x] (each source row twice, [M, 2K]) by [w1 | w2] ([N, 2K]): any pair of
// products is then at most 255 * 128 = 32640 < 32767, and the int32 sum is x . w. This doubles the held codes
// and the GEMM's work; impl() ends in "+split-k". On VNNI / AMX CPUs the codes are used as given.
class Int8Matmul {
 public:
  Int8Matmul() = default;
  // w_scales [N]; static_act_scale > 0 folds a per-tensor activation scale (no per-token post-op).
  // force_split_k splits the codes whatever the CPU and the codes (tests of the split on VNNI machines).
  Int8Matmul(const int8_t* w_codes, const float* w_scales, int64_t N, int64_t K, const float* bias,
             bool src_unsigned, float static_act_scale, bool force_split_k = false);
  // act_scales [M] (ignored with a static scale).
  void run(const void* x_codes, const float* act_scales, int64_t M, float* y);
  std::string impl() const;
  size_t bytes_held() const;  // codes (twice K when split), scales, bias and any reordered copy
  bool split_k() const { return split_k_; }

 private:
  struct Entry {
    dnnl::matmul prim;
    std::shared_ptr<dnnl::memory> weights;
    dnnl::memory::desc scratchpad;
  };
  const Entry& entry(int64_t M);
  int64_t N_ = 0, K_ = 0;
  int64_t Kc_ = 0;         // K of the primitive: 2K when split
  std::vector<int8_t> w_;  // [N, Kc]: the codes, or [w1 | w2] per row when split
  std::vector<float> out_scales_;
  std::vector<float> bias_;
  bool src_unsigned_ = false, per_token_ = true, split_k_ = false;
  std::unique_ptr<std::mutex> mu_ = std::make_unique<std::mutex>();  // guards cache_, packed_, impl_
  std::map<std::pair<int64_t, int>, Entry> cache_;  // (M, caller's thread count)
  std::vector<std::pair<dnnl::memory::desc, std::shared_ptr<dnnl::memory>>> packed_;
  std::string impl_;
};

// Batched f32 matmul C[b] = alpha * A[b] B[b] for the attention: A {batch,M,K}, B {batch,K,N} (optionally
// given transposed as {batch,N,K} rows), C {batch,M,N}; row-major rows with leading dimensions lda / ldb /
// ldc and explicit batch strides sa / sb / sc (elements), so that blocks of a larger matrix and interleaved
// head layouts are used in place.
//
// Same bits on any thread count: for these strided shapes oneDNN 2.6 picks its gemm:jit implementation, which
// splits the work by the number of threads and rounds differently for each split (3, 5 or 6 threads gave other
// attention scores than 1, 2 or 4). So the product is cut into fixed tasks (one batch entry x kTaskRows rows of
// A), run in our own parallel loop; oneDNN runs each task on the thread that calls it (it never nests), so a
// task is computed the same way whichever thread runs it. One primitive per task shape, cached (mutex-guarded;
// run() may be called from several threads at once, each with its own scratchpad).
struct StridedOperand {
  const float* data;
  int64_t batch_stride, ld;
};
class BatchedMatmul {
 public:
  static constexpr int64_t kTaskRows = 32;
  void run(int64_t batch, int64_t M, int64_t K, int64_t N, const StridedOperand& A, const StridedOperand& B,
           bool b_transposed, float* C, int64_t sc, int64_t ldc, float alpha);

 private:
  struct Task {
    dnnl::matmul prim;
    dnnl::memory::desc a, b, c, scratchpad;
  };
  Task& task(int64_t m, int64_t K, int64_t N, const StridedOperand& A, const StridedOperand& B, bool b_transposed,
             int64_t ldc, float alpha);
  std::mutex mu_;  // guards cache_ (entries are never erased, so references stay valid)
  std::map<std::vector<int64_t>, Task> cache_;
};

}  // namespace qh::engine
