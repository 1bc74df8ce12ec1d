// The training loop: a recipe in, a checkpoint in the project's format out (config.json whose
// qharness.recipe records the full recipe, thread count and git revision; model.safetensors), next to a
// JSONL training log (train_log.jsonl: step, loss, loss_backcopy, loss_bigram, lr, grad_norm, seconds; every
// probe_every steps a "probe" object with the extreme-token statistics of probes.h) and train_summary.json
// (written last: its presence marks a complete checkpoint for the cache).
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "models/model.h"
#include "models/train/probes.h"
#include "models/train/recipe.h"

namespace qh::train {

struct TrainOptions {
  int threads = 0;  // 0: OpenMP's default
  // Called after every step (for progress / ETA displays); may be empty.
  std::function<void(int step_done, int total, double loss)> on_step;
};

struct TrainResult {
  Model model;
  double seconds = 0;
  double final_loss = 0, final_loss_backcopy = 0, final_loss_bigram = 0;  // mean of the last log window
  ProbeStats probe;            // at the end of training
  nlohmann::json summary;      // what train_summary.json holds
};

// Trains in memory (no files). The log rows are appended to *log_jsonl when non-null.
TrainResult train(const TrainRecipe& r, const TrainOptions& o, std::string* log_jsonl = nullptr);

// Trains and writes the checkpoint, train_log.jsonl and train_summary.json into out_dir.
TrainResult train_to_dir(const TrainRecipe& r, const std::string& out_dir, const TrainOptions& o,
                         const std::string& name = "");

}  // namespace qh::train
