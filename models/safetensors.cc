#include "models/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "models/half.h"
#include "src/core/atomic_file.h"
#include "src/core/error.h"

namespace qh {

using nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& label, const std::string& what, const std::string& expected) {
  throw InputError(label + ": " + what + ": " + expected);
}

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// nlohmann's parser is iterative, but deeply nested input is still costly and has no meaning here: a valid
// header nests three levels. Reject before parsing.
bool nesting_within(const uint8_t* p, size_t n, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t c = p[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

// Non-negative integer that fits in uint64 (JSON numbers like 3.0 or -1 are rejected).
bool as_u64(const json& v, uint64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer() && v.get<int64_t>() >= 0) {
    *out = static_cast<uint64_t>(v.get<int64_t>());
    return true;
  }
  return false;
}

SafetensorsEntry parse_entry(const std::string& name, const json& v, const std::string& label) {
  const std::string where = "tensor '" + name + "'";
  if (!v.is_object()) fail(label, where, "expected an object with dtype, shape and data_offsets");
  SafetensorsEntry e;
  e.name = name;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (it.key() != "dtype" && it.key() != "shape" && it.key() != "data_offsets")
      fail(label, where, "unexpected key '" + it.key() + "' (expected dtype, shape, data_offsets)");
  }
  if (!v.contains("dtype") || !v["dtype"].is_string()) fail(label, where + ".dtype", "expected a dtype string");
  const std::string dt = v["dtype"].get<std::string>();
  const auto parsed = parse_dtype(dt);
  if (!parsed) fail(label, where + ".dtype", "unknown dtype '" + dt + "' (expected F32, F16, BF16, ...)");
  e.dtype = *parsed;
  if (!v.contains("shape") || !v["shape"].is_array()) fail(label, where + ".shape", "expected an array");
  const json& shape = v["shape"];
  if (shape.size() > 8) fail(label, where + ".shape", "expected at most 8 dimensions");
  for (const json& d : shape) {
    uint64_t n = 0;
    if (!as_u64(d, &n) || n > (1ull << 40))
      fail(label, where + ".shape", "expected non-negative integer dimensions below 2^40");
    e.shape.push_back(static_cast<int64_t>(n));
  }
  if (!v.contains("data_offsets") || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2 ||
      !as_u64(v["data_offsets"][0], &e.begin) || !as_u64(v["data_offsets"][1], &e.end))
    fail(label, where + ".data_offsets", "expected [begin, end] non-negative integers");
  if (e.end < e.begin) fail(label, where + ".data_offsets", "expected begin <= end");
  // numel x dtype size, overflow-checked (each dim < 2^40, the product must stay below 2^63).
  unsigned __int128 bytes = dtype_size(e.dtype);
  for (int64_t d : e.shape) {
    bytes *= static_cast<uint64_t>(d);
    if (bytes > (static_cast<unsigned __int128>(1) << 63)) bytes = static_cast<unsigned __int128>(1) << 63;
  }
  if (bytes != e.end - e.begin)
    fail(label, where + ".data_offsets",
         "byte range [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + ") does not match shape " +
             shape_str(e.shape) + " x " + to_string(e.dtype) + " (expected " +
             std::to_string(static_cast<uint64_t>(bytes)) + " bytes)");
  return e;
}

}  // namespace

const SafetensorsEntry* SafetensorsHeader::find(const std::string& name) const {
  auto it = std::lower_bound(tensors.begin(), tensors.end(), name,
                             [](const SafetensorsEntry& e, const std::string& n) { return e.name < n; });
  return it != tensors.end() && it->name == name ? &*it : nullptr;
}

SafetensorsHeader parse_safetensors(const uint8_t* data, size_t size, const std::string& label) {
  if (size < 8)
    fail(label, "header length", "file truncated: " + std::to_string(size) + " bytes, expected at least 8");
  const uint64_t n = read_u64_le(data);
  if (n > kMaxSafetensorsHeader)
    fail(label, "header length", std::to_string(n) + " bytes exceeds the 100 MB limit");
  if (n > size - 8)
    fail(label, "header length",
         std::to_string(n) + " bytes runs beyond the end of the file (" + std::to_string(size) + " bytes)");
  const uint8_t* h = data + 8;
  if (n < 2 || h[0] != '{') fail(label, "header", "expected a JSON object starting with '{'");
  if (!nesting_within(h, n, 8)) fail(label, "header", "JSON nested deeper than 8 levels");
  const json doc = json::parse(h, h + n, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) fail(label, "header", "invalid JSON");
  if (!doc.is_object()) fail(label, "header", "expected a JSON object");

  SafetensorsHeader out;
  out.data_offset = 8 + n;
  const uint64_t data_size = size - out.data_offset;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it.value().is_object()) fail(label, "__metadata__", "expected an object of strings");
      for (auto m = it.value().begin(); m != it.value().end(); ++m) {
        if (!m.value().is_string()) fail(label, "__metadata__." + m.key(), "expected a string value");
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    SafetensorsEntry e = parse_entry(it.key(), it.value(), label);
    if (e.end > data_size)
      fail(label, "tensor '" + e.name + "'.data_offsets",
           "end " + std::to_string(e.end) + " lies beyond the data section (" + std::to_string(data_size) +
               " bytes; file truncated?)");
    out.tensors.push_back(std::move(e));
  }
  // Non-overlap: sorted by begin, each tensor must start at or after the previous one's end.
  std::vector<const SafetensorsEntry*> by_offset;
  for (const auto& e : out.tensors) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const SafetensorsEntry* a, const SafetensorsEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  const SafetensorsEntry* furthest = nullptr;  // the tensor reaching furthest so far
  for (const SafetensorsEntry* cur : by_offset) {
    if (cur->end == cur->begin) continue;  // empty tensors occupy no bytes
    if (furthest && cur->begin < furthest->end)
      fail(label, "tensor '" + cur->name + "'.data_offsets",
           "overlaps tensor '" + furthest->name + "' (expected disjoint byte ranges)");
    if (!furthest || cur->end > furthest->end) furthest = cur;
  }
  // nlohmann's object keeps keys sorted and unique, so tensors are already sorted by name.
  return out;
}

Tensor decode_tensor(const uint8_t* file_data, const SafetensorsHeader& header, const SafetensorsEntry& e,
                     const std::string& label) {
  if (!is_weight_dtype(e.dtype))
    fail(label, "tensor '" + e.name + "'",
         std::string("dtype ") + to_string(e.dtype) + " cannot hold weights (expected F32, F16 or BF16)");
  Tensor t(e.shape);
  const uint8_t* src = file_data + header.data_offset + e.begin;
  const size_t n = t.size();
  float* dst = t.ptr();
  static_assert(sizeof(float) == 4, "f32");
  switch (e.dtype) {
    case DType::kF32:
      if (n) std::memcpy(dst, src, n * 4);  // little-endian host (x86-64 / aarch64)
      break;
    case DType::kF16:
      for (size_t i = 0; i < n; ++i) dst[i] = f16_to_f32(static_cast<uint16_t>(src[2 * i] | src[2 * i + 1] << 8));
      break;
    case DType::kBF16:
      for (size_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(static_cast<uint16_t>(src[2 * i] | src[2 * i + 1] << 8));
      break;
    default:
      break;
  }
  return t;
}

MappedFile::MappedFile(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw InputError(path + ": not a regular file");
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      throw InputError(path + ": cannot map: " + std::strerror(err));
    }
    data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
}

void MappedFile::release(size_t offset, size_t length) const {
  if (!data_ || length == 0) return;
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t begin = (offset + page - 1) / page * page, end = std::min(offset + length, size_) / page * page;
  // Advice only: on failure the pages simply stay resident until the file is unmapped.
  if (end > begin) ::madvise(const_cast<uint8_t*>(data_) + begin, end - begin, MADV_DONTNEED);
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

SafetensorsFile::SafetensorsFile(const std::string& path, const std::string& label)
    : file_(path), label_(label), header_(parse_safetensors(file_.data(), file_.size(), label)) {}

std::string serialize_safetensors(const std::vector<NamedTensor>& tensors, DType dtype,
                                  const std::map<std::string, std::string>& metadata) {
  QH_CHECK(is_weight_dtype(dtype));
  const size_t esize = dtype_size(dtype);
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const NamedTensor& t : tensors) {
    QH_CHECK(t.tensor->size() == Tensor::count(t.tensor->shape));
    const uint64_t bytes = t.tensor->size() * esize;
    header[t.name] = {{"dtype", to_string(dtype)}, {"shape", t.tensor->shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data section starts 8-byte aligned
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((static_cast<uint64_t>(text.size()) >> (8 * i)) & 0xFF);
  out += text;
  out.reserve(out.size() + offset);
  for (const NamedTensor& t : tensors) {
    const float* src = t.tensor->ptr();
    const size_t n = t.tensor->size();
    if (dtype == DType::kF32) {
      out.append(reinterpret_cast<const char*>(src), n * 4);
      continue;
    }
    const size_t at = out.size();
    out.resize(at + 2 * n);
    for (size_t i = 0; i < n; ++i) {
      const uint16_t h = dtype == DType::kF16 ? f32_to_f16(src[i]) : f32_to_bf16(src[i]);
      out[at + 2 * i] = static_cast<char>(h & 0xFF);
      out[at + 2 * i + 1] = static_cast<char>(h >> 8);
    }
  }
  return out;
}

void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors, DType dtype,
                       const std::map<std::string, std::string>& metadata) {
  write_file_atomic(path, serialize_safetensors(tensors, dtype, metadata));
}

}  // namespace qh
