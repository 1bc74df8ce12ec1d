// SafetensorsSet: the single-file and the sharded (model.safetensors.index.json) layouts behind one lookup.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "models/safetensors.h"
#include "src/core/error.h"

namespace qh {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string read_small_file(const std::string& path, const std::string& label) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(label + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A shard name must be a plain file name: no directories, no "..", nothing absolute.
bool plain_file_name(const std::string& s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos &&
         s.find('\\') == std::string::npos && s.find('\0') == std::string::npos;
}

}  // namespace

SafetensorsSet::SafetensorsSet(const std::string& dir) {
  const std::string index_path = (fs::path(dir) / "model.safetensors.index.json").string();
  const std::string single_path = (fs::path(dir) / "model.safetensors").string();
  std::error_code ec;
  if (fs::exists(index_path, ec)) {
    const std::string label = index_path;
    const json doc = json::parse(read_small_file(index_path, label), nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) throw InputError(label + ": header: invalid JSON");
    if (!doc.contains("weight_map") || !doc["weight_map"].is_object())
      throw InputError(label + ": weight_map: expected an object {tensor name: shard file}");
    std::map<std::string, size_t> shard_index;  // shard file -> files_ index
    for (auto it = doc["weight_map"].begin(); it != doc["weight_map"].end(); ++it) {
      if (!it.value().is_string())
        throw InputError(label + ": weight_map." + it.key() + ": expected a shard file name string");
      const std::string shard = it.value().get<std::string>();
      if (!plain_file_name(shard))
        throw InputError(label + ": weight_map." + it.key() + ": shard '" + shard +
                         "' must be a plain file name inside the checkpoint directory");
      if (!shard_index.count(shard)) {
        shard_index[shard] = files_.size();
        files_.push_back(std::make_unique<SafetensorsFile>((fs::path(dir) / shard).string(),
                                                           (fs::path(dir) / shard).string()));
      }
    }
    // Every tensor in every shard, exactly once; and the index must agree with the shards.
    for (const auto& f : files_) {
      for (const SafetensorsEntry& e : f->header().tensors) {
        if (index_.count(e.name))
          throw InputError(f->label() + ": tensor '" + e.name + "': also stored in " +
                           index_[e.name].file->label() + " (expected each tensor in one shard)");
        index_[e.name] = Located{&e, f.get()};
      }
    }
    for (auto it = doc["weight_map"].begin(); it != doc["weight_map"].end(); ++it) {
      const SafetensorsFile* f = files_[shard_index[it.value().get<std::string>()]].get();
      auto found = index_.find(it.key());
      if (found == index_.end() || found->second.file != f)
        throw InputError(label + ": weight_map." + it.key() + ": tensor not found in shard " + f->label());
    }
    return;
  }
  if (!fs::exists(single_path, ec))
    throw InputError(single_path + ": missing (expected model.safetensors or model.safetensors.index.json)");
  files_.push_back(std::make_unique<SafetensorsFile>(single_path, single_path));
  for (const SafetensorsEntry& e : files_[0]->header().tensors) index_[e.name] = Located{&e, files_[0].get()};
}

SafetensorsSet::Located SafetensorsSet::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? Located{nullptr, nullptr} : it->second;
}

std::vector<SafetensorsSet::Located> SafetensorsSet::all() const {
  std::vector<Located> out;
  for (const auto& kv : index_) out.push_back(kv.second);
  return out;
}

}  // namespace qh
