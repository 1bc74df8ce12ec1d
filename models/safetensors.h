// safetensors: an 8-byte little-endian header length N, N bytes of JSON ({name: {dtype, shape,
// data_offsets: [begin, end]}, optional "__metadata__": {string: string}}), then the data section.
// The parser treats the file as untrusted: header length against the file size and a 100 MB cap, JSON
// validity, known dtypes, non-negative shapes, offsets inside the data section, end - begin equal to
// numel x dtype size, and no two tensors overlapping. Files are memory-mapped; F32 / F16 / BF16 tensors are
// converted to f32 on read. Errors are qh::InputError("<file>: <tensor or field>: <what was expected>").
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/dtype.h"
#include "src/core/tensor.h"

namespace qh {

inline constexpr uint64_t kMaxSafetensorsHeader = 100ull * 1000 * 1000;  // 100 MB

struct SafetensorsEntry {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte offsets inside the data section
};

struct SafetensorsHeader {
  uint64_t data_offset = 0;                   // 8 + header length: where the data section starts
  std::vector<SafetensorsEntry> tensors;      // sorted by name
  std::map<std::string, std::string> metadata;  // "__metadata__"
  const SafetensorsEntry* find(const std::string& name) const;
};

// Pure parser over the whole file's bytes (the fuzz target's entry point). `label` names the file in
// messages. Validates everything listed above; never reads outside [data, data + size).
SafetensorsHeader parse_safetensors(const uint8_t* data, size_t size, const std::string& label);

// Converts one validated entry's bytes to f32 (F32 / F16 / BF16 only; otherwise InputError).
Tensor decode_tensor(const uint8_t* file_data, const SafetensorsHeader& header, const SafetensorsEntry& e,
                     const std::string& label);

// A read-only memory-mapped file. Throws InputError naming the path when it cannot be opened.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Drops the whole pages inside [offset, offset + length) from this process's resident memory (the file is
  // untouched; reading them again pages them back in). The loader calls it once a tensor is converted, so a
  // checkpoint's mapped bytes and its converted copy are not resident together.
  void release(size_t offset, size_t length) const;

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// One mapped and parsed safetensors file.
class SafetensorsFile {
 public:
  // `label` is used in messages (usually the path relative to the checkpoint directory).
  SafetensorsFile(const std::string& path, const std::string& label);
  const SafetensorsHeader& header() const { return header_; }
  const std::string& label() const { return label_; }
  Tensor read(const SafetensorsEntry& e) const { return decode_tensor(file_.data(), header_, e, label_); }
  void release(const SafetensorsEntry& e) const { file_.release(header_.data_offset + e.begin, e.end - e.begin); }

 private:
  MappedFile file_;
  std::string label_;
  SafetensorsHeader header_;
};

// All tensors of a checkpoint directory: model.safetensors, or the shards listed in
// model.safetensors.index.json ({"weight_map": {tensor: shard file}}). Shard names must be plain file names
// inside the directory; every tensor the index names must be in its shard, and no name may appear twice.
class SafetensorsSet {
 public:
  explicit SafetensorsSet(const std::string& dir);
  struct Located {
    const SafetensorsEntry* entry;
    const SafetensorsFile* file;
  };
  // nullptr entry when absent.
  Located find(const std::string& name) const;
  std::vector<Located> all() const;  // sorted by name
  Tensor read(const Located& t) const { return t.file->read(*t.entry); }
  void release(const Located& t) const { t.file->release(*t.entry); }

 private:
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, Located> index_;
};

// A tensor to write: name + f32 data (shape from the tensor).
struct NamedTensor {
  std::string name;
  const Tensor* tensor;
};
// Serialises tensors in `dtype` (F32 / F16 / BF16, round-to-nearest-even), header padded to 8 bytes.
std::string serialize_safetensors(const std::vector<NamedTensor>& tensors, DType dtype,
                                  const std::map<std::string, std::string>& metadata = {{"format", "pt"}});
// serialize_safetensors + write_file_atomic.
void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors, DType dtype,
                       const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace qh
