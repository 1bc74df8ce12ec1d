#include "models/train/zoo.h"

#include <yaml-cpp/yaml.h>

#include <atomic>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "models/train/trainer.h"
#include "models/train/trainer_version.h"
#include "models/train/yaml_keys.h"
#include "src/core/content_hash.h"
#include "src/core/error.h"

namespace qh::train {
namespace {

std::string where(const std::string& file, const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  if (m.line < 0) return file;
  return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

[[noreturn]] void fail(const std::string& file, const YAML::Node& n, const std::string& msg) {
  throw InputError(where(file, n) + ": " + msg);
}

void expect_map(const std::string& file, const YAML::Node& n, const std::string& what) {
  if (!n.IsMap()) fail(file, n, what + " must be a mapping");
}

std::string scalar(const std::string& file, const YAML::Node& n, const std::string& what) {
  if (!n.IsScalar()) fail(file, n, what + " must be a scalar value");
  return n.Scalar();
}

// Applies every recipe key of map n to r; unknown keys and bad values become file:line:col errors.
void apply_recipe_map(const std::string& file, const YAML::Node& n, TrainRecipe& r,
                      const std::set<std::string>& skip) {
  for (const auto& kv : n) {
    const std::string key = scalar(file, kv.first, "a key");
    if (skip.count(key)) continue;
    const std::string value = scalar(file, kv.second, "'" + key + "'");
    try {
      set_recipe_field(r, key, value);
    } catch (const InputError& e) {
      fail(file, kv.first, e.what());
    }
  }
}

bool valid_name(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) return false;
  return true;
}

}  // namespace

bool ZooEntry::has_tag(const std::string& t) const {
  for (const auto& x : tags)
    if (x == t) return true;
  return false;
}

std::vector<ZooEntry> load_zoo(const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::BadFile&) {
    throw InputError(file + ": cannot read the zoo file");
  } catch (const YAML::Exception& e) {
    throw InputError(file + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                     ": " + e.msg);
  }
  reject_duplicate_keys(root, file);
  expect_map(file, root, "the zoo file");
  YAML::Node defaults, task_defaults, models;
  for (const auto& kv : root) {
    const std::string key = scalar(file, kv.first, "a key");
    if (key == "version") {
      if (scalar(file, kv.second, "version") != "1") fail(file, kv.second, "version must be 1");
    } else if (key == "defaults") {
      defaults = kv.second;
      expect_map(file, defaults, "defaults");
    } else if (key == "task_defaults") {
      task_defaults = kv.second;
      expect_map(file, task_defaults, "task_defaults");
      for (const auto& t : task_defaults) {
        const std::string task = scalar(file, t.first, "a task");
        if (task != "bb" && task != "text") fail(file, t.first, "unknown task '" + task + "' (expected bb or text)");
        expect_map(file, t.second, "task_defaults." + task);
      }
    } else if (key == "models") {
      models = kv.second;
      if (!models.IsSequence()) fail(file, models, "models must be a list");
    } else {
      fail(file, kv.first, "unknown key '" + key + "' (expected version, defaults, task_defaults, models)");
    }
  }
  if (!models) throw InputError(file + ": missing 'models'");
  std::vector<ZooEntry> out;
  std::set<std::string> names;
  const std::set<std::string> meta = {"name", "description", "tags"};
  for (const auto& m : models) {
    expect_map(file, m, "a model entry");
    ZooEntry e;
    if (!m["name"]) fail(file, m, "model entry without 'name'");
    e.name = scalar(file, m["name"], "name");
    if (!valid_name(e.name)) fail(file, m["name"], "name '" + e.name + "' must match [a-z0-9._-]+");
    if (!names.insert(e.name).second) fail(file, m["name"], "duplicate model name '" + e.name + "'");
    if (m["description"]) e.description = scalar(file, m["description"], "description");
    if (m["tags"]) {
      if (!m["tags"].IsSequence()) fail(file, m["tags"], "tags must be a list");
      for (const auto& t : m["tags"]) e.tags.push_back(scalar(file, t, "a tag"));
    }
    // The task decides which task_defaults apply: the entry's own, else the defaults'.
    TrainRecipe probe;
    if (defaults) apply_recipe_map(file, defaults, probe, {});
    apply_recipe_map(file, m, probe, meta);
    if (defaults) apply_recipe_map(file, defaults, e.recipe, {});
    if (task_defaults && task_defaults[probe.task]) apply_recipe_map(file, task_defaults[probe.task], e.recipe, {});
    apply_recipe_map(file, m, e.recipe, meta);
    try {
      validate_recipe(e.recipe);
    } catch (const InputError& err) {
      fail(file, m, "model '" + e.name + "': " + err.what());
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<std::string> zoo_names(const std::string& zoo_yaml) {
  std::vector<std::string> names;
  for (const auto& e : load_zoo(zoo_yaml)) names.push_back(e.name);
  return names;
}

const ZooEntry& find_zoo_entry(const std::vector<ZooEntry>& zoo, const std::string& name, const std::string& file) {
  for (const auto& e : zoo)
    if (e.name == name) return e;
  std::string list;
  for (const auto& e : zoo) list += (list.empty() ? "" : ", ") + e.name;
  throw InputError(file + ": no model named '" + name + "' (the zoo has: " + list + ")");
}

std::string resolve_cache_dir(const ZooOptions& o) {
  if (!o.cache_dir.empty()) return o.cache_dir;
  const char* env = std::getenv("QH_CACHE");
  if (env && *env) return env;
  return ".cache/qharness";
}

std::string zoo_checkpoint_dir(const ZooEntry& e, const ZooOptions& o) {
  // Training splits its matmuls by thread count (Eigen's blocking depends on it), so the thread count is part
  // of what determines the weights: models trained with other than one thread get their own folder.
  if (o.threads < 1) throw InputError("zoo: training threads must be >= 1, got " + std::to_string(o.threads));
  const std::string threads = o.threads == 1 ? "" : "-t" + std::to_string(o.threads);
  // The recipe names its corpus by path; the corpus's content is what the weights are trained on.
  std::string corpus;
  const std::string& file = e.recipe.task == "text" ? e.recipe.text_path : e.recipe.bb_text;
  if (!file.empty()) {
    try {
      corpus = "-" + file_content_hash(file).substr(0, 8);
    } catch (const InputError& err) {
      throw InputError("zoo model '" + e.name + "': its corpus: " + err.what());
    }
  }
  // The trainer's own version: a trainer changed since a model was cached trains it again.
  const std::string version = "-" + (o.trainer_version.empty() ? trainer_version() : o.trainer_version).substr(0, 8);
  return resolve_cache_dir(o) + "/" + e.name + "-" + recipe_hash(e.recipe) + corpus + version + threads;
}

bool zoo_checkpoint_complete(const std::string& dir) {
  std::error_code ec;
  return std::filesystem::exists(dir + "/train_summary.json", ec) &&
         std::filesystem::exists(dir + "/config.json", ec) && std::filesystem::exists(dir + "/model.safetensors", ec);
}

std::vector<std::string> ensure_zoo_models(const std::vector<ZooEntry>& entries, const ZooOptions& o) {
  std::vector<std::string> dirs;
  std::vector<size_t> todo;
  for (size_t i = 0; i < entries.size(); ++i) {
    dirs.push_back(zoo_checkpoint_dir(entries[i], o));
    if (o.force || !zoo_checkpoint_complete(dirs.back())) todo.push_back(i);
  }
  int jobs = o.jobs > 0 ? o.jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  jobs = std::min<int>(jobs, static_cast<int>(todo.size()));
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::exception_ptr error;
  auto worker = [&] {
    for (size_t k = next++; k < todo.size(); k = next++) {
      const ZooEntry& e = entries[todo[k]];
      TrainOptions to;
      to.threads = o.threads;
      if (o.on_progress)
        to.on_step = [&](int done, int total, double) {
          std::lock_guard<std::mutex> lock(mu);
          o.on_progress(e.name, done, total);
        };
      try {
        train_to_dir(e.recipe, dirs[todo[k]], to, e.name);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!error) error = std::current_exception();
        next = todo.size();
      }
    }
  };
  if (jobs <= 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (int j = 0; j < jobs; ++j) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
  }
  if (error) std::rethrow_exception(error);
  return dirs;
}

std::string ensure_zoo_model(const std::string& zoo_yaml, const std::string& name, const ZooOptions& o) {
  const auto zoo = load_zoo(zoo_yaml);
  return ensure_zoo_models({find_zoo_entry(zoo, name, zoo_yaml)}, o).front();
}

}  // namespace qh::train
