// Reading token files: raw little-endian u16 / u32 streams and NumPy .npy arrays (format versions 1-3,
// dtypes <u2 <u4 <i4 <i8, C order, 1-D or 2-D). The header is untrusted input and validated.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qh::data {

// The whole file; InputError when it cannot be read.
std::vector<uint8_t> read_bytes(const std::string& path);

struct NpyArray {
  std::string descr;            // "<u2" | "<u4" | "<i4" | "<i8"
  std::vector<int64_t> shape;   // 1 or 2 dimensions
  std::vector<int64_t> values;  // row-major
};
// Parses an in-memory .npy file; `name` prefixes error messages.
NpyArray parse_npy(const std::vector<uint8_t>& bytes, const std::string& name);

}  // namespace qh::data
