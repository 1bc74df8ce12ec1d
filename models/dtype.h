// Storage dtypes of safetensors files. Weights are computed in f32; F16 and BF16 are storage formats only.
// The other safetensors dtypes are recognised (so a file holding, say, an I64 buffer parses) but cannot be
// loaded as weights.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace qh {

enum class DType { kF32, kF16, kBF16, kF64, kI64, kI32, kI16, kI8, kU8, kU16, kU32, kU64, kBool, kF8E4M3, kF8E5M2 };

// "F32", "F16", "BF16", ... as in the safetensors header.
const char* to_string(DType t);
// Bytes per element.
size_t dtype_size(DType t);
// Parses a safetensors dtype name; nullopt for an unknown one.
std::optional<DType> parse_dtype(std::string_view name);
// F32, F16 or BF16: the dtypes weights may be stored in.
inline bool is_weight_dtype(DType t) { return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16; }

}  // namespace qh
