// Fixtures of tests/engine/hf_arch/ (written by make_fixtures.py there): tiny random checkpoints in the exact
// Hugging Face layout of each architecture, and the logits / sink and gate statistics PyTorch computed for
// them. The weights are not stored: element i of tensor `name` is hf_element(name, i), the hash the script
// uses, so the test writes the same checkpoint the script computed with.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "models/dtype.h"
#include "models/safetensors.h"
#include "src/core/tensor.h"

namespace qh::hftest {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  uint64_t z = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

inline uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001B3ull;
  return h;
}

inline bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

// make_fixtures.py's element(): the same double arithmetic, rounded to float by the caller.
inline double hf_element(const std::string& name, uint64_t i) {
  const double u = static_cast<double>(splitmix64(fnv1a(name) + i) >> 11) * 0x1p-53 * 2.0 - 1.0;
  if (ends_with(name, ".bias")) return 0.2 * u;
  if (ends_with(name, "sinks")) return 2.0 * u;
  if (name.find("norm") != std::string::npos && ends_with(name, ".weight")) return 1.0 + 0.3 * u;
  if (name.find("embed") != std::string::npos) return u;
  return 0.4 * u;
}

struct Fixture {
  std::string name;
  nlohmann::json config;
  std::vector<std::pair<std::string, std::vector<int64_t>>> tensors;  // HF names and shapes, in module order
  std::vector<int32_t> tokens;
  std::vector<std::vector<double>> logits;     // [T][V]
  std::vector<std::vector<double>> sink_mass;  // [layer][head] or empty
  std::vector<std::vector<double>> gate_mean;  // [layer][head] or empty
  // The stored values as the checkpoint holds them (floats), by name.
  std::map<std::string, std::vector<double>> values() const {
    std::map<std::string, std::vector<double>> out;
    for (const auto& [n, shape] : tensors) {
      const size_t count = Tensor::count(shape);
      std::vector<double> v(count);
      for (size_t i = 0; i < count; ++i) v[i] = static_cast<float>(hf_element(n, i));
      out[n] = std::move(v);
    }
    return out;
  }
};

inline std::string fixture_dir() { return std::string(QH_SOURCE_DIR) + "/tests/engine/hf_arch"; }

inline Fixture load_fixture(const std::string& name) {
  std::ifstream in(fixture_dir() + "/" + name + ".json");
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  const nlohmann::json j = nlohmann::json::parse(ss.str());
  Fixture f;
  f.name = name;
  f.config = j.at("config");
  for (const auto& t : j.at("tensors")) f.tensors.push_back({t[0].get<std::string>(), t[1].get<std::vector<int64_t>>()});
  f.tokens = j.at("tokens").get<std::vector<int32_t>>();
  f.logits = j.at("logits").get<std::vector<std::vector<double>>>();
  if (j.contains("sink_mass")) f.sink_mass = j["sink_mass"].get<std::vector<std::vector<double>>>();
  if (j.contains("gate_mean")) f.gate_mean = j["gate_mean"].get<std::vector<std::vector<double>>>();
  return f;
}

// A fresh directory, removed at scope exit.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    path_ = (std::filesystem::temp_directory_path() /
             ("qh_hf_arch_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)))
                .string();
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Writes the fixture's checkpoint (config.json as HF writes it, model.safetensors with the HF names) to dir.
inline void write_checkpoint(const Fixture& f, const std::string& dir, const nlohmann::json* config = nullptr) {
  std::ofstream(dir + "/config.json") << (config ? *config : f.config).dump(2) << "\n";
  std::vector<Tensor> data;
  data.reserve(f.tensors.size());
  const auto values = f.values();
  for (const auto& [n, shape] : f.tensors) {
    const auto& v = values.at(n);
    data.emplace_back(shape, std::vector<float>(v.begin(), v.end()));
  }
  std::vector<NamedTensor> named;
  for (size_t i = 0; i < f.tensors.size(); ++i) named.push_back({f.tensors[i].first, &data[i]});
  write_safetensors(dir + "/model.safetensors", named, DType::kF32);
}

inline const std::vector<std::string>& fixture_names() {
  static const std::vector<std::string> names = {"llama_sinks", "mistral_window", "qwen3",       "qwen3_gated",
                                                 "olmo2",       "gemma",          "gemma2",      "phi3",
                                                 "neox_parallel", "neox_sequential"};
  return names;
}

}  // namespace qh::hftest
