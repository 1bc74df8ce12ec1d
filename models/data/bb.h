// The Bigram-Backcopy (BB) task of ARCHITECTURE.md 1.4 (Guo et al., "Active-dormant attention heads").
// Vocabulary: base characters 0..base_vocab-1 plus BOS (id base_vocab, the last id).
// A sequence is x0 = BOS, x1 ~ unigram with the triggers removed, then for t >= 1: if x_t is a trigger,
// x_{t+1} = x_{t-1} (backcopy), else x_{t+1} ~ P(.|x_t) (bigram). Triggers are the k most frequent tokens
// (by the unigram / stationary frequency of the table, ties broken by the lower id).
// The bigram table comes from the character bigrams of a text file (its distinct bytes form the base
// vocabulary; add-one smoothing) or from a seeded Dirichlet(alpha) sample. Everything is deterministic for a
// seed and uses the project's own PRNG (no std:: distributions, whose output differs across libraries).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qh::data {

struct BBConfig {
  int base_vocab = 64;      // number of base characters (ignored with text_path: the text's distinct bytes)
  int k_triggers = 3;       // number of trigger tokens
  int seq_len = 256;        // tokens per sequence, BOS included
  uint64_t table_seed = 0;  // seed of the Dirichlet bigram table
  double alpha = 0.5;       // Dirichlet concentration of each bigram row (and of the unigram when sampled)
  std::string text_path;    // non-empty: bigram table from this text file's character bigrams
};

class BBTask {
 public:
  // Throws qh::InputError on nonsense (k >= base_vocab, seq_len < 2, alpha <= 0, unreadable/short text).
  explicit BBTask(const BBConfig& config);

  const BBConfig& config() const { return config_; }
  int base_vocab() const { return base_vocab_; }
  int vocab_size() const { return base_vocab_ + 1; }  // base characters + BOS
  int bos() const { return base_vocab_; }             // the last id
  int seq_len() const { return config_.seq_len; }
  const std::vector<int>& triggers() const { return triggers_; }
  bool is_trigger(int tok) const { return tok >= 0 && tok < base_vocab_ && trigger_mask_[tok] != 0; }

  // Row-major [base_vocab, base_vocab] bigram probabilities P(next | cur), rows sum to 1.
  const std::vector<double>& bigram() const { return bigram_; }
  // Unigram (stationary) distribution over the base vocabulary, and the trigger-free one used for x1.
  const std::vector<double>& unigram() const { return unigram_; }
  const std::vector<double>& first_token() const { return first_; }
  // The characters of the text file (text tables only): byte value of base id i, for display.
  const std::vector<uint8_t>& alphabet() const { return alphabet_; }

  // n_seqs sequences of length seq_len, x0 = BOS. Deterministic for (table, seed).
  std::vector<std::vector<int32_t>> sample(int n_seqs, uint64_t seed) const;

  // The true next-token distribution after position t of seq (vocab_size() floats, BOS gets 0):
  // t == 0 -> trigger-free unigram; x_t trigger (t >= 1) -> one-hot at x_{t-1}; else the bigram row of x_t.
  void oracle(const int32_t* seq, int64_t t, float* probs) const;
  // Whether the token after position t is a backcopy (x_t is a trigger and t >= 1).
  bool is_backcopy(const int32_t* seq, int64_t t) const;
  // Entropy (nats) of the oracle distribution after position t (0 at backcopy positions).
  double oracle_entropy(const int32_t* seq, int64_t t) const;

 private:
  void build_from_text();
  void build_from_dirichlet();
  void choose_triggers();

  BBConfig config_;
  int base_vocab_ = 0;
  std::vector<double> bigram_;
  std::vector<double> unigram_;
  std::vector<double> first_;
  std::vector<double> row_entropy_;
  std::vector<int> triggers_;
  std::vector<uint8_t> trigger_mask_;
  std::vector<uint8_t> alphabet_;
};

}  // namespace qh::data
