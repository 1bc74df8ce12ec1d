#include "src/suite/case_cache.h"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <vector>

#include "models/data/data_spec.h"
#include "reports/metric_info.h"
#include "src/core/atomic_file.h"
#include "src/core/content_hash.h"
#include "src/core/error.h"
#include "src/core/version.h"

namespace qh::suite {

namespace fs = std::filesystem;

std::string checkpoint_identity(const std::string& dir) {
  std::error_code ec;
  std::vector<std::string> parts;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file(ec)) continue;
    const std::string name = entry.path().filename().string();
    if (name == "train_log.jsonl" || name == "train_summary.json" || name.rfind(".", 0) == 0) continue;
    parts.push_back(name + ":" + file_content_hash(entry.path().string()));
  }
  if (ec) throw InputError(fmt::format("cannot read checkpoint directory '{}': {}", dir, ec.message()));
  std::sort(parts.begin(), parts.end());
  std::string id;
  for (const auto& p : parts) id += (id.empty() ? "" : "|") + p;
  return id;
}

std::string data_identity(const std::string& spec) {
  if (reports::is_task_data(spec)) {  // "task:<file>": the task file's content
    const std::string path = spec.substr(std::string(reports::kTaskDataPrefix).size());
    return spec + "|" + file_content_hash(path);
  }
  std::string id = spec;
  for (const auto& file : data::data_spec_files(spec)) id += "|" + file + ":" + file_content_hash(file);
  return id;
}

std::string harness_identity() { return "qharness " + version_string(); }

std::string CaseCache::path_of(const std::string& key) const { return dir_ + "/" + key + ".json"; }

bool CaseCache::has(const std::string& key) const {
  std::error_code ec;
  return !key.empty() && fs::exists(path_of(key), ec);
}

namespace {

// The entry of `key` read by `read`, or nullopt when it is missing or damaged (and so recomputed).
template <typename T>
std::optional<T> load_entry(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream buffer;
  buffer << in.rdbuf();
  try {
    T value;
    read_json(reports::ojson::parse(buffer.str()), path, &value);
    return value;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

void read_json(const reports::ojson& j, const std::string& where, AuditRecord* a) {
  const reports::JsonFields f(j, where);
  f.required("model", &a->model);
  f.required("data", &a->data);
  f.required("audit", &a->audit);
}

std::optional<reports::CaseResult> CaseCache::load(const std::string& key) const {
  return load_entry<reports::CaseResult>(path_of(key));
}

void CaseCache::store(const std::string& key, const reports::CaseResult& c) const {
  make_dirs(dir_);
  write_file_atomic(path_of(key), reports::to_json(c).dump() + "\n");
}

std::optional<AuditRecord> CaseCache::load_audit(const std::string& key) const {
  return load_entry<AuditRecord>(path_of(key));
}

void CaseCache::store_audit(const std::string& key, const AuditRecord& a) const {
  make_dirs(dir_);
  reports::ojson j = reports::ojson::object();
  j["model"] = a.model;
  j["data"] = a.data;
  j["audit"] = a.audit;
  write_file_atomic(path_of(key), j.dump() + "\n");
}

}  // namespace qh::suite
