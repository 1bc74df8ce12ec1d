#include "src/engine/matmul.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "src/core/error.h"
#include "src/engine/dnnl_util.h"
#include "src/engine/gemm_f32.h"

namespace qh::engine {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

namespace {

// Weights stored [N, K] row-major seen as {1, K, N}: element (k, n) at n*K + k (tag acb).
dnnl::memory::desc weights_src_md(int64_t N, int64_t K, dt type) {
  return dnnl::memory::desc({1, K, N}, type, tag::acb);
}

// The primitive for weights read in place when oneDNN runs it on brgemm (which computes the same bits as on
// reordered weights); otherwise the one for the layout oneDNN prefers (`weights_any`), whose weights are
// reordered once.
dnnl::matmul::primitive_desc in_place_or_any(const dnnl::memory::desc& src, const dnnl::memory::desc& weights_any,
                                             const dnnl::memory::desc* bias, const dnnl::memory::desc& dst,
                                             const dnnl::primitive_attr& attr, int64_t N, int64_t K) {
  const dnnl::memory::desc plain = weights_src_md(N, K, weights_any.data_type());
  auto make = [&](const dnnl::memory::desc& w) {
    return bias ? dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, w, *bias, dst), attr, cpu_engine())
                : dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, w, dst), attr, cpu_engine());
  };
  try {
    dnnl::matmul::primitive_desc pd = make(plain);
    if (impl_name(pd).rfind("brg", 0) == 0) return pd;
  } catch (const dnnl::error&) {  // no implementation for in-place weights: reorder them
  }
  return make(weights_any);
}

// Whether oneDNN runs a small matmul of this source type (weights of the same type, f32 output) on brgemm with
// the weights read in place: the engine's one probe of the CPU for both matmul kinds (see the class comments).
constexpr int64_t kProbeM = 16, kProbeK = 64, kProbeN = 48;
bool brgemm_on_weights_in_place(dt type, const dnnl::primitive_attr& attr) {
  try {
    const dnnl::matmul::primitive_desc pd(
        dnnl::matmul::desc(md3(1, kProbeM, kProbeK, type), weights_src_md(kProbeN, kProbeK, type),
                           md3(1, kProbeM, kProbeN, dt::f32)),
        attr, cpu_engine());
    return impl_name(pd).rfind("brg", 0) == 0;
  } catch (const dnnl::error&) {
    return false;
  }
}

// The weights for `want`: the caller's memory when it is already in that layout, else a reordered copy,
// reusing an earlier reorder with the same layout.
std::shared_ptr<dnnl::memory> packed_weights(
    std::vector<std::pair<dnnl::memory::desc, std::shared_ptr<dnnl::memory>>>& packed,
    const dnnl::memory::desc& want, const void* w, int64_t N, int64_t K, dt type) {
  if (want == weights_src_md(N, K, type))
    return std::make_shared<dnnl::memory>(want, cpu_engine(), const_cast<void*>(w));
  for (auto& p : packed)
    if (p.first == want) return p.second;
  auto mem = std::make_shared<dnnl::memory>(want, cpu_engine());
  dnnl::memory src(weights_src_md(N, K, type), cpu_engine(), const_cast<void*>(w));
  dnnl::reorder(src, *mem).execute(thread_stream(), src, *mem);
  thread_stream().wait();
  packed.emplace_back(want, mem);
  return mem;
}

// Bytes of the reordered weight copies.
size_t held_bytes(const std::vector<std::pair<dnnl::memory::desc, std::shared_ptr<dnnl::memory>>>& packed) {
  size_t n = 0;
  for (const auto& p : packed) n += p.first.get_size();
  return n;
}

// The key of a cached primitive: the row count and the OpenMP thread count of the calling thread (1 inside a
// window-parallel worker, the intra-op count otherwise).
std::pair<int64_t, int> cache_key(int64_t M) { return {M, omp_in_parallel() ? 1 : omp_get_max_threads()}; }

// Primitive attributes with a user-managed scratchpad (one per calling thread: thread_scratchpad).
dnnl::primitive_attr user_scratchpad(dnnl::primitive_attr attr = {}) {
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

// The calling thread's buffer for split-K source rows [x | x] (Int8Matmul::run runs on several threads at
// once). Not thread_scratchpad: oneDNN's scratchpad is in use during the same call.
int8_t* split_source_buffer(size_t bytes) {
  thread_local std::vector<int8_t> buf;
  if (buf.size() < bytes) buf.resize(bytes);
  return buf.data();
}

}  // namespace

bool int8_pair_sums_saturate() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx2_vnni:
    case dnnl::cpu_isa::avx512_core_vnni:
    case dnnl::cpu_isa::avx512_core_bf16:
    case dnnl::cpu_isa::avx512_core_amx:
      return false;
    default:
      return true;
  }
}

bool int8_codes_in_place() {
  static const bool in_place = [] {
    dnnl::primitive_attr attr;  // as Int8Matmul makes them: output scales per N, per-token binary-mul
    attr.set_output_scales(1 << 2, std::vector<float>(kProbeN, 1.0f));
    dnnl::post_ops po;
    po.append_binary(dnnl::algorithm::binary_mul, md3(1, kProbeM, 1, dt::f32));
    attr.set_post_ops(po);
    return brgemm_on_weights_in_place(dt::s8, attr);
  }();
  return in_place;
}

F32Matmul::F32Matmul(const float* w, int64_t N, int64_t K, const float* bias)
    : N_(N), K_(K), w_(w) {
  if (bias) bias_.assign(bias, bias + N);
}

size_t F32Matmul::bytes_held() const {
  std::lock_guard<std::mutex> lock(*mu_);
  return bias_.size() * sizeof(float) + held_bytes(packed_);
}

std::string F32Matmul::impl() const {
  if (!onednn_is_deterministic()) return "qh:gemm_f32";
  std::lock_guard<std::mutex> lock(*mu_);
  return impl_;
}

bool F32Matmul::onednn_is_deterministic() {
  static const bool brgemm = brgemm_on_weights_in_place(dt::f32, {});
  return brgemm;
}

const F32Matmul::Entry& F32Matmul::entry(int64_t M) {
  const auto key = cache_key(M);
  std::lock_guard<std::mutex> lock(*mu_);
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  auto wmd = dnnl::memory::desc({1, K_, N_}, dt::f32, tag::any);
  auto bmd = md3(1, 1, N_, dt::f32);
  dnnl::matmul::primitive_desc pd = in_place_or_any(md3(1, M, K_, dt::f32), wmd, bias_.empty() ? nullptr : &bmd,
                                                    md3(1, M, N_, dt::f32), user_scratchpad(), N_, K_);
  impl_ = impl_name(pd);
  Entry e{dnnl::matmul(pd), packed_weights(packed_, pd.weights_desc(), w_, N_, K_, dt::f32), pd.scratchpad_desc()};
  return cache_.emplace(key, std::move(e)).first->second;
}

void F32Matmul::run(const float* x, int64_t M, float* y) {
  if (M == 0) return;
  if (!onednn_is_deterministic()) {
    gemm_f32(x, M, K_, w_, N_, K_, bias_.empty() ? nullptr : bias_.data(), y, N_, cache_key(M).second);
    return;
  }
  const Entry& e = entry(M);
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, wrap(md3(1, M, K_, dt::f32), x)},
                                             {DNNL_ARG_WEIGHTS, *e.weights},
                                             {DNNL_ARG_DST, wrap(md3(1, M, N_, dt::f32), y)},
                                             {DNNL_ARG_SCRATCHPAD, wrap(e.scratchpad,
                                                                        thread_scratchpad(e.scratchpad.get_size()))}};
  if (!bias_.empty()) args.emplace(DNNL_ARG_BIAS, wrap(md3(1, 1, N_, dt::f32), bias_.data()));
  e.prim.execute(thread_stream(), args);
  thread_stream().wait();
}

Int8Matmul::Int8Matmul(const int8_t* w_codes, const float* w_scales, int64_t N, int64_t K, const float* bias,
                       bool src_unsigned, float static_act_scale, bool force_split_k)
    : N_(N), K_(K), Kc_(K), w_(w_codes, w_codes + N * K), out_scales_(w_scales, w_scales + N),
      src_unsigned_(src_unsigned), per_token_(static_act_scale <= 0) {
  if (!per_token_)
    for (float& s : out_scales_) s *= static_act_scale;
  if (bias) bias_.assign(bias, bias + N);
  // Split only where pairs of products can saturate (see the class comment): codes in [-64, 64] cannot.
  const bool wide = std::any_of(w_.begin(), w_.end(), [](int8_t w) { return w < -64 || w > 64; });
  split_k_ = force_split_k || (wide && int8_pair_sums_saturate());
  if (!split_k_) return;
  Kc_ = 2 * K;
  std::vector<int8_t> halves(static_cast<size_t>(N * Kc_));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) {
      const int w = w_codes[n * K + k];
      const int w1 = w / 2;  // rounds toward zero: w1, w - w1 in [-64, 64] for every w in [-128, 127]
      halves[n * Kc_ + k] = static_cast<int8_t>(w1);
      halves[n * Kc_ + K + k] = static_cast<int8_t>(w - w1);
    }
  w_ = std::move(halves);
}

size_t Int8Matmul::bytes_held() const {
  std::lock_guard<std::mutex> lock(*mu_);
  return w_.size() + (out_scales_.size() + bias_.size()) * sizeof(float) + held_bytes(packed_);
}

std::string Int8Matmul::impl() const {
  std::lock_guard<std::mutex> lock(*mu_);
  return impl_;
}

const Int8Matmul::Entry& Int8Matmul::entry(int64_t M) {
  const auto key = cache_key(M);
  std::lock_guard<std::mutex> lock(*mu_);
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  const dt src_dt = src_unsigned_ ? dt::u8 : dt::s8;
  dnnl::primitive_attr attr;
  attr.set_output_scales(1 << 2, out_scales_);  // per N, fixed at creation: stays on the brgemm kernel
  dnnl::post_ops po;
  if (per_token_) po.append_binary(dnnl::algorithm::binary_mul, md3(1, M, 1, dt::f32));
  if (!bias_.empty()) po.append_binary(dnnl::algorithm::binary_add, md3(1, 1, N_, dt::f32));
  attr.set_post_ops(po);
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  auto wmd = dnnl::memory::desc({1, Kc_, N_}, dt::s8, tag::any);
  dnnl::matmul::primitive_desc pd =
      in_place_or_any(md3(1, M, Kc_, src_dt), wmd, nullptr, md3(1, M, N_, dt::f32), attr, N_, Kc_);
  impl_ = impl_name(pd) + (split_k_ ? "+split-k" : "");
  Entry e{dnnl::matmul(pd), packed_weights(packed_, pd.weights_desc(), w_.data(), N_, Kc_, dt::s8),
          pd.scratchpad_desc()};
  return cache_.emplace(key, std::move(e)).first->second;
}

void Int8Matmul::run(const void* x_codes, const float* act_scales, int64_t M, float* y) {
  if (M == 0) return;
  const Entry& e = entry(M);
  const dt src_dt = src_unsigned_ ? dt::u8 : dt::s8;
  if (split_k_) {  // each source row twice, against [w1 | w2]
    int8_t* twice = split_source_buffer(static_cast<size_t>(M * Kc_));
    const int8_t* x = static_cast<const int8_t*>(x_codes);  // s8 or u8: bytes either way
    for (int64_t m = 0; m < M; ++m) {
      std::memcpy(twice + m * Kc_, x + m * K_, static_cast<size_t>(K_));
      std::memcpy(twice + m * Kc_ + K_, x + m * K_, static_cast<size_t>(K_));
    }
    x_codes = twice;
  }
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, wrap(md3(1, M, Kc_, src_dt), x_codes)},
                                             {DNNL_ARG_WEIGHTS, *e.weights},
                                             {DNNL_ARG_DST, wrap(md3(1, M, N_, dt::f32), y)},
                                             {DNNL_ARG_SCRATCHPAD, wrap(e.scratchpad,
                                                                        thread_scratchpad(e.scratchpad.get_size()))}};
  int post = 0;
  if (per_token_)
    args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(post++) | DNNL_ARG_SRC_1, wrap(md3(1, M, 1, dt::f32), act_scales));
  if (!bias_.empty())
    args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(post++) | DNNL_ARG_SRC_1, wrap(md3(1, 1, N_, dt::f32), bias_.data()));
  e.prim.execute(thread_stream(), args);
  thread_stream().wait();
}

BatchedMatmul::Task& BatchedMatmul::task(int64_t m, int64_t K, int64_t N, const StridedOperand& A,
                                         const StridedOperand& B, bool b_transposed, int64_t ldc, float alpha) {
  std::vector<int64_t> key{m, K, N, A.ld, B.ld, b_transposed ? 1 : 0, ldc};
  int32_t ab;
  std::memcpy(&ab, &alpha, sizeof ab);
  key.push_back(ab);
  key.push_back(cache_key(0).second);  // created for the caller's thread count, as F32Matmul's primitives
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  auto amd = md3s(1, m, K, dt::f32, m * A.ld, A.ld, 1);
  auto bmd = b_transposed ? md3s(1, K, N, dt::f32, N * B.ld, 1, B.ld) : md3s(1, K, N, dt::f32, K * B.ld, B.ld, 1);
  auto cmd = md3s(1, m, N, dt::f32, m * ldc, ldc, 1);
  dnnl::primitive_attr attr;
  if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // one scratchpad per thread: tasks run concurrently
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(amd, bmd, cmd), attr, cpu_engine());
  Task t{dnnl::matmul(pd), amd, bmd, cmd, pd.scratchpad_desc()};
  return cache_.emplace(key, std::move(t)).first->second;
}

void BatchedMatmul::run(int64_t batch, int64_t M, int64_t K, int64_t N, const StridedOperand& A,
                        const StridedOperand& B, bool b_transposed, float* C, int64_t sc, int64_t ldc, float alpha) {
  if (batch == 0 || M == 0 || N == 0) return;
  const int64_t blocks = (M + kTaskRows - 1) / kTaskRows;
  const int64_t tasks = batch * blocks;
  Task* full = &task(std::min(M, kTaskRows), K, N, A, B, b_transposed, ldc, alpha);
  Task* tail = &task(M - (blocks - 1) * kTaskRows, K, N, A, B, b_transposed, ldc, alpha);
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const size_t scratch_bytes = std::max<size_t>({full->scratchpad.get_size(), tail->scratchpad.get_size(), 1});
  auto run_task = [&](int64_t t) {
    const int64_t b = t / blocks, m0 = (t % blocks) * kTaskRows;
    const Task& k = m0 + kTaskRows > M ? *tail : *full;  // the last block may be shorter
    k.prim.execute(thread_stream(), {{DNNL_ARG_SRC, wrap(k.a, A.data + b * A.batch_stride + m0 * A.ld)},
                                     {DNNL_ARG_WEIGHTS, wrap(k.b, B.data + b * B.batch_stride)},
                                     {DNNL_ARG_DST, wrap(k.c, C + b * sc + m0 * ldc)},
                                     {DNNL_ARG_SCRATCHPAD, wrap(k.scratchpad, thread_scratchpad(scratch_bytes))}});
    thread_stream().wait();
  };
  if (threads == 1) {  // on this thread alone (a window-parallel worker, or one thread): no OpenMP region
    for (int64_t t = 0; t < tasks; ++t) run_task(t);
    return;
  }
  // Inside the parallel region oneDNN runs each task on the calling thread, so every task is computed the same
  // way whatever the number of threads.
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t t = 0; t < tasks; ++t) run_task(t);
}

}  // namespace qh::engine
