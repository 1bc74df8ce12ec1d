// The checkpoint zoo (models/zoo.yaml): named training recipes, trained on demand and cached by a hash of
// the recipe, so suites and tests get the same checkpoints on any machine without a download.
//
// zoo.yaml schema (unknown keys and wrong types are InputErrors with file:line:col):
//   version: 1
//   defaults: {<recipe key>: value, ...}            applied to every model
//   task_defaults: {bb: {...}, text: {...}}          applied after `defaults`, by the model's task
//   models:
//     - name: bb1-softmax-adamw                      [a-z0-9._-]+, unique
//       description: "..."                           optional
//       tags: [quickstart]                           optional
//       <recipe key>: value                          see recipe_keys() (models/train/recipe.h)
// Cache layout: <cache_dir>/<name>-<recipe hash>[-<corpus hash>][-t<threads>]/ (the corpus part for recipes
// that read a text file: its content, 8 hex digits; the thread part when trained with other than one thread,
// because the weights depend on the thread count) holding the checkpoint, train_log.jsonl and
// train_summary.json (written last; its presence marks the entry complete).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "models/train/recipe.h"

namespace qh::train {

struct ZooEntry {
  std::string name, description;
  std::vector<std::string> tags;
  TrainRecipe recipe;
  bool has_tag(const std::string& t) const;
};

struct ZooOptions {
  std::string cache_dir;  // empty: $QH_CACHE, else ".cache/qharness"
  int threads = 1;        // threads per model (1: checkpoints are identical on every machine)
  int jobs = 0;           // models trained at once by ensure_zoo_models; 0: the number of cores
  bool quiet = false;
  bool force = false;     // retrain even when cached
  // The trainer's version in the cache key (trainer_version.h); tests set another to see the folder move.
  std::string trainer_version;  // empty: trainer_version()
  // Progress of one model: (name, steps done, total steps); called from worker threads, serialised.
  std::function<void(const std::string& name, int done, int total)> on_progress;
};

std::vector<ZooEntry> load_zoo(const std::string& zoo_yaml);
std::vector<std::string> zoo_names(const std::string& zoo_yaml);
const ZooEntry& find_zoo_entry(const std::vector<ZooEntry>& zoo, const std::string& name, const std::string& file);

std::string resolve_cache_dir(const ZooOptions& o);
// Where an entry's checkpoint lives in the cache (whether or not it exists yet).
std::string zoo_checkpoint_dir(const ZooEntry& e, const ZooOptions& o);
bool zoo_checkpoint_complete(const std::string& dir);

// The checkpoint directory of zoo model `name`, training it first if it is not cached.
std::string ensure_zoo_model(const std::string& zoo_yaml, const std::string& name, const ZooOptions& o);
// The same for several entries, trained o.jobs at a time (each with o.threads threads). Returns the
// directories in the order of `entries`.
std::vector<std::string> ensure_zoo_models(const std::vector<ZooEntry>& entries, const ZooOptions& o);

}  // namespace qh::train
