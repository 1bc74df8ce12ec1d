// The process-wide oneDNN CPU engine, per-thread streams and scratchpads, and small helpers shared by the
// engine's matmuls.
#pragma once

#include <cstdint>
#include <string>

#include <oneapi/dnnl/dnnl.hpp>

namespace qh::engine {

dnnl::engine& cpu_engine();
// The calling thread's own stream and scratchpad: primitives executed concurrently from several threads (with
// scratchpad_mode::user) each get the buffer of the thread that runs them. The scratchpad grows to `bytes` and
// is reused by every later execution on the thread.
dnnl::stream& thread_stream();
void* thread_scratchpad(size_t bytes);

// A dense row-major 3-D memory descriptor {b, r, c}.
inline dnnl::memory::desc md3(int64_t b, int64_t r, int64_t c, dnnl::memory::data_type dt) {
  return dnnl::memory::desc({b, r, c}, dt, dnnl::memory::format_tag::abc);
}
// {b, r, c} with explicit strides (element units).
inline dnnl::memory::desc md3s(int64_t b, int64_t r, int64_t c, dnnl::memory::data_type dt, int64_t sb,
                               int64_t sr, int64_t sc) {
  return dnnl::memory::desc({b, r, c}, dt, dnnl::memory::dims{sb, sr, sc});
}
// Wraps an existing buffer (no copy).
inline dnnl::memory wrap(const dnnl::memory::desc& md, const void* p) {
  return dnnl::memory(md, cpu_engine(), const_cast<void*>(p));
}
// impl_info_str() of a primitive descriptor, e.g. "brg:avx512_core_vnni".
std::string impl_name(const dnnl::primitive_desc_base& pd);

}  // namespace qh::engine
