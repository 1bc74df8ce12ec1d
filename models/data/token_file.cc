#include "models/data/token_file.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "models/data/data_spec.h"
#include "src/core/error.h"
#include "src/core/limits.h"

namespace qh::data {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

uint64_t read_le(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// The value of 'key' in the header dict: the text after "'key':" up to the matching end.
std::string dict_value(const std::string& header, const std::string& key, const std::string& name) {
  const std::string needle = "'" + key + "'";
  size_t pos = header.find(needle);
  if (pos == std::string::npos) throw InputError(fmt::format("{}: npy header has no '{}' field", name, key));
  pos = header.find(':', pos + needle.size());
  if (pos == std::string::npos) throw InputError(fmt::format("{}: npy header field '{}' has no value", name, key));
  ++pos;
  while (pos < header.size() && header[pos] == ' ') ++pos;
  if (pos >= header.size()) throw InputError(fmt::format("{}: npy header field '{}' has no value", name, key));
  const char open = header[pos];
  if (open == '\'' || open == '"') {
    const size_t end = header.find(open, pos + 1);
    if (end == std::string::npos) throw InputError(fmt::format("{}: npy header field '{}' is unterminated", name, key));
    return header.substr(pos + 1, end - pos - 1);
  }
  if (open == '(') {
    const size_t end = header.find(')', pos);
    if (end == std::string::npos) throw InputError(fmt::format("{}: npy header shape is unterminated", name));
    return header.substr(pos + 1, end - pos - 1);
  }
  size_t end = pos;
  while (end < header.size() && header[end] != ',' && header[end] != '}') ++end;
  return header.substr(pos, end - pos);
}

std::vector<int64_t> parse_shape(const std::string& text, const std::string& name) {
  std::vector<int64_t> shape;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == ',')) ++i;
    if (i >= text.size()) break;
    if (text[i] < '0' || text[i] > '9')
      throw InputError(fmt::format("{}: npy shape '({})' is not a tuple of non-negative integers", name, text));
    int64_t v = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      v = v * 10 + (text[i] - '0');
      if (v > (int64_t(1) << 40)) throw InputError(fmt::format("{}: npy shape '({})' is too large", name, text));
      ++i;
    }
    shape.push_back(v);
  }
  return shape;
}

}  // namespace

uint64_t data_file_size(const std::string& path, uint64_t max_bytes, const std::string& what) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) throw InputError(fmt::format("cannot read file '{}'", path));
  if (std::filesystem::is_directory(status))
    throw InputError(fmt::format("'{}' is a directory; {} must be a file", path, what));
  if (!std::filesystem::is_regular_file(status))
    throw InputError(fmt::format("'{}' is not a regular file; {} must be one", path, what));
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) throw InputError(fmt::format("cannot read file '{}': {}", path, ec.message()));
  if (size > max_bytes)
    throw InputError(fmt::format("{} '{}' has {} bytes, more than the {} ids one data set may hold (about {} "
                                 "bytes of this file); use a part of it",
                                 what, path, size, kMaxDataTokens, max_bytes));
  return size;
}

std::vector<uint8_t> read_bytes(const std::string& path, uint64_t max_bytes, const std::string& what) {
  const uint64_t size = data_file_size(path, max_bytes, what);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("cannot read file '{}'", path));
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (static_cast<uint64_t>(in.gcount()) != size) throw InputError(fmt::format("cannot read file '{}'", path));
  return bytes;
}

NpyArray parse_npy(const std::vector<uint8_t>& bytes, const std::string& name) {
  static const uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, 6) != 0)
    throw InputError(fmt::format("{}: not a .npy file (bad magic)", name));
  const int major = bytes[6];
  if (major < 1 || major > 3) throw InputError(fmt::format("{}: unsupported npy format version {}", name, major));
  const size_t len_bytes = major == 1 ? 2 : 4;
  if (bytes.size() < 8 + len_bytes) throw InputError(fmt::format("{}: truncated npy header", name));
  const uint64_t header_len = read_le(bytes.data() + 8, static_cast<int>(len_bytes));
  const size_t data_start = 8 + len_bytes + header_len;
  if (header_len > (1u << 20) || data_start > bytes.size())
    throw InputError(fmt::format("{}: npy header length {} runs past the end of the file", name, header_len));
  const std::string header(bytes.begin() + 8 + len_bytes, bytes.begin() + data_start);
  NpyArray a;
  a.descr = dict_value(header, "descr", name);
  int width = 0;
  bool is_signed = false;
  if (a.descr == "<u2") width = 2;
  else if (a.descr == "<u4") width = 4;
  else if (a.descr == "<i4") { width = 4; is_signed = true; }
  else if (a.descr == "<i8") { width = 8; is_signed = true; }
  else throw InputError(fmt::format("{}: npy dtype '{}' is not supported (expected <u2, <u4, <i4 or <i8)", name, a.descr));
  const std::string fortran = dict_value(header, "fortran_order", name);
  if (fortran.find("False") == std::string::npos)
    throw InputError(fmt::format("{}: npy arrays in Fortran order are not supported (save with C order)", name));
  a.shape = parse_shape(dict_value(header, "shape", name), name);
  if (a.shape.empty() || a.shape.size() > 2)
    throw InputError(fmt::format("{}: npy array has {} dimensions (expected 1 or 2)", name, a.shape.size()));
  int64_t count = 1;
  for (int64_t d : a.shape) count *= d;
  if (count == 0) throw InputError(fmt::format("{}: npy array is empty", name));
  if (count > kMaxDataTokens)
    throw InputError(fmt::format("{}: npy array of {} ids is larger than the {} one data set may hold", name, count,
                                 kMaxDataTokens));
  const uint64_t need = static_cast<uint64_t>(count) * width;
  if (bytes.size() - data_start != need)
    throw InputError(fmt::format("{}: npy data has {} bytes, shape needs {}", name, bytes.size() - data_start, need));
  a.values.resize(static_cast<size_t>(count));
  const uint8_t* p = bytes.data() + data_start;
  for (int64_t i = 0; i < count; ++i, p += width) {
    const uint64_t raw = read_le(p, width);
    if (!is_signed) a.values[i] = static_cast<int64_t>(raw);
    else if (width == 4) a.values[i] = static_cast<int32_t>(static_cast<uint32_t>(raw));
    else a.values[i] = static_cast<int64_t>(raw);
  }
  return a;
}

uint64_t token_file_max_bytes(const std::string& path, const std::string& dtype) {
  // The widest id is 8 bytes (.npy <i8, plus its header); the exact id count is checked once the width is known.
  const bool npy = dtype.empty() && ends_with(path, ".npy");
  return npy ? kMaxDataTokens * 8 + (1u << 20) : kMaxDataTokens * 4;
}

std::vector<int64_t> read_token_file(const std::string& path, const std::string& dtype, int64_t* row_len) {
  *row_len = 0;
  const std::vector<uint8_t> bytes = read_bytes(path, token_file_max_bytes(path, dtype), "a token file");
  if (bytes.empty()) throw InputError(fmt::format("token file '{}' is empty", path));
  if (dtype.empty() && ends_with(path, ".npy")) {
    NpyArray a = parse_npy(bytes, fmt::format("token file '{}'", path));
    if (a.shape.size() == 2) *row_len = a.shape[1];
    return std::move(a.values);
  }
  int width = 0;
  if (dtype == "u16" || (dtype.empty() && ends_with(path, ".u16"))) width = 2;
  else if (dtype == "u32" || (dtype.empty() && ends_with(path, ".u32"))) width = 4;
  else
    throw InputError(fmt::format("token file '{}': unknown format (expected extension .u16, .u32 or .npy, or "
                                 "dtype=u16|u32 in the spec)",
                                 path));
  if (bytes.size() % width != 0)
    throw InputError(fmt::format("token file '{}': {} bytes is not a whole number of {}-byte ids", path,
                                 bytes.size(), width));
  if (bytes.size() / width > static_cast<uint64_t>(kMaxDataTokens))
    throw InputError(fmt::format("token file '{}': {} ids, more than the {} one data set may hold", path,
                                 bytes.size() / width, kMaxDataTokens));
  std::vector<int64_t> ids(bytes.size() / width);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int64_t>(read_le(bytes.data() + i * width, width));
  return ids;
}

}  // namespace qh::data
