// TrainRecipe: everything that determines a trained checkpoint (task and data, architecture, optimiser,
// schedule, steps, batch, seed). One flat key/value vocabulary is shared by models/zoo.yaml and
// `qharness train` options, so a zoo entry and a command line mean the same thing. The canonical JSON of a
// recipe (sorted keys, without the thread count and revision) is hashed (FNV-1a 64) to key the cache.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/arch.h"
#include "models/train/optimizer.h"

namespace qh::train {

// Debian's base-files package installs the GPL-3 text on every Debian machine: the default text corpus.
inline constexpr const char* kDefaultTextCorpus = "/usr/share/common-licenses/GPL-3";

struct TrainRecipe {
  std::string task = "bb";  // "bb" | "text"
  // BB task (ARCHITECTURE.md 1.4): random Dirichlet bigram table, or the bigrams of bb_text when set.
  int bb_vocab = 64, bb_k = 3;
  uint64_t bb_table_seed = 0;
  double bb_alpha = 0.5;
  std::string bb_text;
  // Byte-level text task.
  std::string text_path = kDefaultTextCorpus;
  int seq_len = 64;  // tokens per training sequence, BOS included; also the model's context
  // Architecture.
  int layers = 1, d_model = 64, heads = 1, head_dim = 0 /* d_model / heads */, d_ff = 0 /* 4 d_model */;
  std::string norm = "layernorm", positions = "learned", mlp = "relu", attention = "softmax",
              gate = "elementwise";
  double zeta = 1.0, gamma = 0.0;  // clipped attention
  bool tied = false;
  // Optimisation.
  OptimConfig optim;
  int steps = 500, batch = 16;
  uint64_t seed = 1;
  // Logging: a JSONL row every log_every steps, probe statistics every probe_every steps (and at the end).
  int log_every = 10, probe_every = 50, probe_seqs = 16;
};

// Sets one field from its textual value; throws InputError("<key>: <what was expected>") on an unknown key
// or a bad value. Keys: the names in recipe_keys().
void set_recipe_field(TrainRecipe& r, const std::string& key, const std::string& value);
const std::vector<std::string>& recipe_keys();
// Cross-field validation (called before training); throws InputError naming the field.
void validate_recipe(const TrainRecipe& r);

// The full recipe as JSON (every key of recipe_keys(), plus derived "data" and "tokenizer").
nlohmann::json recipe_to_json(const TrainRecipe& r);
// 16 hex digits: FNV-1a 64 of recipe_to_json(r).dump() (sorted keys).
std::string recipe_hash(const TrainRecipe& r);

// The architecture the recipe trains (vocab / BOS from the task: BB base vocabulary + BOS, or bytes 0..255 +
// BOS 256).
ArchSpec recipe_arch(const TrainRecipe& r, int vocab_size, int bos);

// A data spec `qharness eval` understands for this recipe's task (BB with the same table, held-out seed; or
// text:PATH,len=seq_len).
std::string eval_data_spec(const TrainRecipe& r);

}  // namespace qh::train
