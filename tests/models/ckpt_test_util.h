// Helpers for the checkpoint tests: temp directories, tiny random models, raw file writers for foreign
// architectures and broken files.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "models/checkpoint.h"
#include "models/half.h"
#include "models/safetensors.h"
#include "models/tensor_layout.h"
#include "src/core/error.h"

namespace qh::testing {

// A fresh directory under the system temp dir, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = (std::filesystem::temp_directory_path() /
             ("qh_ckpt_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)))
                .string();
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  std::string sub(const std::string& name) const {
    std::filesystem::create_directories(file(name));
    return file(name);
  }

 private:
  std::string path_;
};

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline Tensor random_tensor(std::vector<int64_t> shape, std::mt19937& rng) {
  Tensor t(std::move(shape));
  std::normal_distribution<float> dist(0.0f, 0.5f);
  for (float& x : t.data) x = dist(rng);
  return t;
}

// A tiny spec of the project format (2 layers, d=8, 2 heads of 4, ff=16, V=11, context=6).
inline ArchSpec tiny_spec() {
  ArchSpec s;
  s.architecture = "QHarnessForCausalLM";
  s.num_layers = 2;
  s.d_model = 8;
  s.num_heads = 2;
  s.num_kv_heads = 2;
  s.head_dim = 4;
  s.d_ff = 16;
  s.vocab_size = 11;
  s.context = 6;
  s.bos_token_id = 10;
  return s;
}

// Every tensor of the spec filled with seeded Gaussian values (lm_head = tok_emb when tied).
inline Model random_model(const ArchSpec& spec, uint32_t seed = 1) {
  Model m;
  m.spec = spec;
  std::mt19937 rng(seed);
  for (const TensorSlot& slot : canonical_layout(spec, &m))
    if (!slot.ignore) *slot.targets[0] = random_tensor(slot.shape, rng);
  if (spec.tied_embeddings) m.lm_head = m.tok_emb;
  return m;
}

// Compares every canonical tensor of two models exactly (or within tol).
inline void expect_same_weights(const Model& a, const Model& b, float tol = 0.0f) {
  Model& va = const_cast<Model&>(a);
  Model& vb = const_cast<Model&>(b);
  const auto sa = canonical_layout(a.spec, &va);
  const auto sb = canonical_layout(b.spec, &vb);
  ASSERT_EQ(sa.size(), sb.size());
  for (size_t i = 0; i < sa.size(); ++i) {
    const Tensor& ta = *sa[i].targets[0];
    const Tensor& tb = *sb[i].targets[0];
    ASSERT_EQ(ta.shape, tb.shape) << sa[i].name;
    for (size_t k = 0; k < ta.size(); ++k) ASSERT_NEAR(ta.data[k], tb.data[k], tol) << sa[i].name << " [" << k << "]";
  }
  ASSERT_EQ(a.lm_head.shape, b.lm_head.shape);
}

// The InputError message thrown by fn, or "" when nothing is thrown.
inline std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace qh::testing
