#include "src/suite/case_cache.h"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <vector>

#include "src/core/atomic_file.h"
#include "src/core/error.h"

namespace qh::suite {

namespace fs = std::filesystem;

std::string stable_hash(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("{:016x}", h);
}

std::string checkpoint_identity(const std::string& dir) {
  std::error_code ec;
  std::vector<std::string> parts;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file(ec)) continue;
    const auto size = entry.file_size(ec);
    const auto mtime = entry.last_write_time(ec).time_since_epoch().count();
    parts.push_back(entry.path().filename().string() + ":" + std::to_string(size) + ":" + std::to_string(mtime));
  }
  std::sort(parts.begin(), parts.end());
  std::string id = fs::weakly_canonical(dir, ec).string();
  for (const auto& p : parts) id += "|" + p;
  return id;
}

std::string CaseCache::path_of(const std::string& key) const { return dir_ + "/" + key + ".json"; }

std::optional<reports::CaseResult> CaseCache::load(const std::string& key) const {
  std::ifstream in(path_of(key), std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream buffer;
  buffer << in.rdbuf();
  try {
    const auto j = nlohmann::ordered_json::parse(buffer.str());
    return reports::case_from_json(j, path_of(key));
  } catch (const std::exception&) {
    return std::nullopt;  // a damaged entry is recomputed
  }
}

void CaseCache::store(const std::string& key, const reports::CaseResult& c) const {
  make_dirs(dir_);
  write_file_atomic(path_of(key), reports::to_json(c).dump() + "\n");
}

}  // namespace qh::suite
