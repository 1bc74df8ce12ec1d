#include "models/train/batches.h"

#include <fstream>
#include <sstream>

#include "src/core/rng.h"
#include "src/core/error.h"

namespace qh::train {

BatchSource::BatchSource(const TrainRecipe& r) : seq_len_(r.seq_len) {
  if (r.task == "bb") {
    data::BBConfig c;
    c.base_vocab = r.bb_vocab;
    c.k_triggers = r.bb_k;
    c.seq_len = r.seq_len;
    c.table_seed = r.bb_table_seed;
    c.alpha = r.bb_alpha;
    c.text_path = r.bb_text;
    bb_ = std::make_shared<const data::BBTask>(c);
    vocab_ = bb_->vocab_size();
    bos_ = bb_->bos();
    return;
  }
  std::ifstream in(r.text_path, std::ios::binary);
  if (!in) throw InputError("text: cannot read '" + r.text_path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  text_ = ss.str();
  if (text_.size() < static_cast<size_t>(seq_len_))
    throw InputError("text: '" + r.text_path + "' has " + std::to_string(text_.size()) +
                     " bytes, fewer than seq_len - 1 = " + std::to_string(seq_len_ - 1));
  vocab_ = 257;
  bos_ = 256;
}

Batch BatchSource::sample(int B, uint64_t seed) const {
  Batch b;
  b.B = B;
  b.T = seq_len_;
  const int64_t T = seq_len_;
  b.tokens.resize(B * T);
  b.targets.assign(B * T, -1);
  b.backcopy.assign(B * T, 0);
  b.trigger.assign(B * T, 0);
  if (bb_) {
    const auto seqs = bb_->sample(B, seed);
    for (int i = 0; i < B; ++i) {
      QH_CHECK(static_cast<int64_t>(seqs[i].size()) == T);
      std::copy(seqs[i].begin(), seqs[i].end(), b.tokens.begin() + i * T);
      for (int64_t t = 0; t < T; ++t) {
        b.trigger[i * T + t] = bb_->is_trigger(seqs[i][t]) ? 1 : 0;
        b.backcopy[i * T + t] = bb_->is_backcopy(seqs[i].data(), t) ? 1 : 0;
      }
    }
  } else {
    Rng rng(seed);
    const uint64_t span = text_.size() - static_cast<size_t>(T - 1) + 1;
    for (int i = 0; i < B; ++i) {
      const size_t off = rng.below(span);
      b.tokens[i * T] = bos_;
      for (int64_t t = 1; t < T; ++t) b.tokens[i * T + t] = static_cast<unsigned char>(text_[off + t - 1]);
    }
  }
  for (int i = 0; i < B; ++i)
    for (int64_t t = 0; t + 1 < T; ++t) b.targets[i * T + t] = b.tokens[i * T + t + 1];
  return b;
}

}  // namespace qh::train
