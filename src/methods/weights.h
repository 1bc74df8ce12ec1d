// The weight edits the methods are made of, on linear weights W [out, in] (y = x W^T + b): each one is the
// weight side of a change of basis whose other side is folded elsewhere, so the model's function is kept.
#pragma once

#include <cstdint>
#include <vector>

#include "src/core/tensor.h"
#include "src/engine/hadamard.h"

namespace qh::methods {

// The input side: x -> x Q on the layer's input needs W -> W Q (every row of W times Q). Q acts on
// `width` columns starting at `offset`, repeatedly every `width` columns when `per_block` (per head).
void rotate_input(Tensor& w, const engine::HadamardTransform& q, bool per_block = false);
// The output side: y -> y Q on the layer's output needs W -> Q^T W and b -> b Q (per output block of `width`
// rows when per_block). Bias may be empty.
void rotate_output(Tensor& w, Tensor& b, const engine::HadamardTransform& q, bool per_block = false);
// W[:, j] *= s[j] (input channels).
void scale_input(Tensor& w, const std::vector<double>& s);
// W[i, :] *= s[i] and b[i] *= s[i] (output channels); b may be empty.
void scale_output(Tensor& w, Tensor& b, const std::vector<double>& s);
// Subtracts the mean over the output channels from every column of W (and from b): outputs of zero mean.
void center_output(Tensor& w, Tensor& b);

}  // namespace qh::methods
