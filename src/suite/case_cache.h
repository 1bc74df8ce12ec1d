// Finished cases are kept in OUT/.cache/<key>.json so that a killed run resumes where it stopped. The key
// hashes everything that determines the numbers: the checkpoint's identity (its directory plus the size and
// modification time of its files), the data spec, the scheme field by field, the protection and the
// evaluation settings. Writes are atomic; an unreadable entry is treated as missing.
#pragma once

#include <optional>
#include <string>

#include "reports/results.h"

namespace qh::suite {

// 64-bit FNV-1a as 16 hex digits (stable across runs and machines).
std::string stable_hash(const std::string& text);

// "dir|config.json:<size>:<mtime>|model.safetensors:<size>:<mtime>|..." for every file of the directory.
std::string checkpoint_identity(const std::string& dir);

class CaseCache {
 public:
  explicit CaseCache(std::string dir) : dir_(std::move(dir)) {}
  std::optional<reports::CaseResult> load(const std::string& key) const;
  void store(const std::string& key, const reports::CaseResult& c) const;
  std::string path_of(const std::string& key) const;

 private:
  std::string dir_;
};

}  // namespace qh::suite
