// Reading token files: raw little-endian u16 / u32 streams and NumPy .npy arrays (format versions 1-3,
// dtypes <u2 <u4 <i4 <i8, C order, 1-D or 2-D). The header is untrusted input and validated.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/core/limits.h"

namespace qh::data {

// The size of a data file, checked before it is read: InputError when it is missing, a directory or another
// non-regular file, or larger than max_bytes (the bytes kMaxDataTokens ids take in it, src/core/limits.h).
// `what` names the file's role in messages ("a token file").
uint64_t data_file_size(const std::string& path, uint64_t max_bytes, const std::string& what);
// The largest token file (in bytes) that can hold kMaxDataTokens ids, for its format (.npy / u16 / u32).
uint64_t token_file_max_bytes(const std::string& path, const std::string& dtype);
// The whole file, after data_file_size's checks; InputError when it cannot be read.
std::vector<uint8_t> read_bytes(const std::string& path, uint64_t max_bytes = kMaxDataTokens,
                                const std::string& what = "a data file");

struct NpyArray {
  std::string descr;            // "<u2" | "<u4" | "<i4" | "<i8"
  std::vector<int64_t> shape;   // 1 or 2 dimensions
  std::vector<int64_t> values;  // row-major
};
// Parses an in-memory .npy file; `name` prefixes error messages.
NpyArray parse_npy(const std::vector<uint8_t>& bytes, const std::string& name);

}  // namespace qh::data
