// A dense row-major f32 tensor: the currency between the checkpoint loader, the quantizer, the engine and
// the trainer. Shapes are small vectors; data is owned. Linear weights follow the HF nn.Linear convention
// [out_features, in_features] (GPT-2's transposed Conv1D weights are transposed on load).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace qh {

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;

  Tensor() = default;
  explicit Tensor(std::vector<int64_t> s) : shape(std::move(s)), data(count(shape), 0.0f) {}
  Tensor(std::vector<int64_t> s, std::vector<float> d) : shape(std::move(s)), data(std::move(d)) {}

  static size_t count(const std::vector<int64_t>& s) {
    size_t n = 1;
    for (int64_t d : s) n *= static_cast<size_t>(d);
    return n;
  }
  bool empty() const { return data.empty(); }
  size_t size() const { return data.size(); }
  int64_t dim(size_t i) const { return shape.at(i); }
  int64_t rows() const { return shape.empty() ? 0 : shape[0]; }
  // Product of all but the first dimension (the row length of a 2-D view).
  int64_t cols() const {
    int64_t c = 1;
    for (size_t i = 1; i < shape.size(); ++i) c *= shape[i];
    return shape.empty() ? 0 : c;
  }
  float* row(int64_t r) { return data.data() + r * cols(); }
  const float* row(int64_t r) const { return data.data() + r * cols(); }
  float* ptr() { return data.data(); }
  const float* ptr() const { return data.data(); }
};

// "[4096, 11008]" for messages.
inline std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace qh
