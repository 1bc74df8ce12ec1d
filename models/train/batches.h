// Training batches of a recipe's task: BB sequences from qh::data::BBTask (fresh sequences every step, the
// seed derived from the recipe seed and the step), or windows of a text file as bytes with BOS = 256 first.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/data/bb.h"
#include "models/train/recipe.h"

namespace qh::train {

struct Batch {
  int64_t B = 0, T = 0;
  std::vector<int32_t> tokens;    // [B*T]
  std::vector<int32_t> targets;   // [B*T] next token; -1 at the last position of each sequence
  std::vector<uint8_t> backcopy;  // [B*T] 1 when the target is a BB backcopy (x_t is a trigger, t >= 1)
  std::vector<uint8_t> trigger;   // [B*T] 1 when the token at this position is a BB trigger (query domain)
};

class BatchSource {
 public:
  // Throws InputError for an unreadable or too short text file, or a bad BB configuration.
  explicit BatchSource(const TrainRecipe& r);
  int vocab_size() const { return vocab_; }
  int bos() const { return bos_; }
  const data::BBTask* bb() const { return bb_.get(); }
  // B sequences of the recipe's seq_len; deterministic for the seed.
  Batch sample(int B, uint64_t seed) const;

 private:
  int seq_len_ = 0, vocab_ = 0, bos_ = 0;
  std::shared_ptr<const data::BBTask> bb_;
  std::string text_;
};

}  // namespace qh::train
