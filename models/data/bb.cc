#include "models/data/bb.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <numeric>

#include <fmt/format.h>

#include "src/core/rng.h"
#include "models/data/token_file.h"
#include "src/core/error.h"
#include "src/core/limits.h"

namespace qh::data {
namespace {

constexpr uint64_t kSampleStream = 0x5EED0BB5EED0BB00ull;  // separates sequence seeds from table seeds

// The seed of BB stream b of seed a (the table, or sequence b). It differs from qh::mix_seed by an additive
// constant and a second splitmix64 round; it stays as first written because every BB data set, and every zoo
// model trained on one, is drawn from these seeds.
uint64_t bb_seed(uint64_t a, uint64_t b) {
  uint64_t s = a ^ (b * 0xD1B54A32D192ED03ull + 0x8CB92BA72F3D8DD7ull);
  splitmix64(&s);
  return splitmix64(&s);
}

double entropy(const double* p, int n) {
  double h = 0.0;
  for (int i = 0; i < n; ++i)
    if (p[i] > 0.0) h -= p[i] * std::log(p[i]);
  return h;
}

void normalize(double* p, int n) {
  double s = 0.0;
  for (int i = 0; i < n; ++i) s += p[i];
  for (int i = 0; i < n; ++i) p[i] /= s;
}

}  // namespace

BBTask::BBTask(const BBConfig& config) : config_(config) {
  if (config_.seq_len < 2)
    throw InputError(fmt::format("bb: len={} is too short (expected at least 2: BOS and one token)",
                                 config_.seq_len));
  if (!(config_.alpha > 0.0) || !std::isfinite(config_.alpha))
    throw InputError(fmt::format("bb: alpha={} must be a positive number", config_.alpha));
  if (config_.k_triggers < 0) throw InputError(fmt::format("bb: k={} must be >= 0", config_.k_triggers));
  if (config_.text_path.empty()) {
    if (config_.base_vocab < 2 || config_.base_vocab > 65535)
      throw InputError(fmt::format("bb: vocab={} must be in [2, 65535]", config_.base_vocab));
    build_from_dirichlet();
  } else {
    build_from_text();
  }
  if (config_.k_triggers >= base_vocab_)
    throw InputError(fmt::format("bb: k={} triggers leave no non-trigger token in a vocabulary of {}",
                                 config_.k_triggers, base_vocab_));
  choose_triggers();
  row_entropy_.resize(base_vocab_);
  for (int a = 0; a < base_vocab_; ++a) row_entropy_[a] = entropy(&bigram_[size_t(a) * base_vocab_], base_vocab_);
}

// Text tables: the distinct bytes of the file, in byte order, are the base vocabulary. The bigram row of a
// character counts its successors plus one for every character (add-one / Laplace smoothing, so every
// transition is possible and the chain is irreducible); the unigram is the plain character frequency.
void BBTask::build_from_text() {
  const std::vector<uint8_t> bytes = read_bytes(config_.text_path, kMaxDataTokens, "bb: the text= file");
  const std::string text(bytes.begin(), bytes.end());
  if (text.size() < 2)
    throw InputError(fmt::format("bb: text file '{}' is empty or too short for bigrams", config_.text_path));
  int index[256];
  std::fill(index, index + 256, -1);
  for (unsigned char c : text) index[c] = 0;
  for (int b = 0; b < 256; ++b)
    if (index[b] == 0) {
      index[b] = static_cast<int>(alphabet_.size());
      alphabet_.push_back(static_cast<uint8_t>(b));
    }
  base_vocab_ = static_cast<int>(alphabet_.size());
  if (base_vocab_ < 2)
    throw InputError(fmt::format("bb: text file '{}' has fewer than 2 distinct characters", config_.text_path));
  const int V = base_vocab_;
  bigram_.assign(size_t(V) * V, 1.0);
  unigram_.assign(V, 0.0);
  for (size_t i = 0; i < text.size(); ++i) {
    const int cur = index[static_cast<unsigned char>(text[i])];
    unigram_[cur] += 1.0;
    if (i + 1 < text.size()) bigram_[size_t(cur) * V + index[static_cast<unsigned char>(text[i + 1])]] += 1.0;
  }
  for (int a = 0; a < V; ++a) normalize(&bigram_[size_t(a) * V], V);
  normalize(unigram_.data(), V);
}

// Sampled tables: each bigram row ~ Dirichlet(alpha, ..., alpha) from the table seed; the unigram is the
// chain's stationary distribution (power iteration from uniform), the frequency a long sequence shows.
void BBTask::build_from_dirichlet() {
  const int V = base_vocab_ = config_.base_vocab;
  Rng rng(bb_seed(config_.table_seed, 0xB16A4ull));
  bigram_.assign(size_t(V) * V, 0.0);
  for (int a = 0; a < V; ++a) {
    double* row = &bigram_[size_t(a) * V];
    double sum = 0.0;
    for (int b = 0; b < V; ++b) sum += row[b] = rng.gamma(config_.alpha);
    if (!(sum > 0.0)) {  // every draw underflowed (tiny alpha): fall back to one token, still a distribution
      row[rng.next() % V] = 1.0;
      sum = 1.0;
    }
    for (int b = 0; b < V; ++b) row[b] /= sum;
  }
  std::vector<double> pi(V, 1.0 / V), next(V);
  for (int it = 0; it < 2000; ++it) {
    std::fill(next.begin(), next.end(), 0.0);
    for (int a = 0; a < V; ++a)
      for (int b = 0; b < V; ++b) next[b] += pi[a] * bigram_[size_t(a) * V + b];
    // Averaging with the previous iterate (lazy chain) converges for periodic chains too.
    double diff = 0.0;
    for (int b = 0; b < V; ++b) {
      const double v = 0.5 * (pi[b] + next[b]);
      diff += std::fabs(v - pi[b]);
      pi[b] = v;
    }
    if (diff < 1e-15) break;
  }
  normalize(pi.data(), V);
  unigram_ = pi;
}

void BBTask::choose_triggers() {
  const int V = base_vocab_;
  std::vector<int> order(V);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return unigram_[a] > unigram_[b]; });
  triggers_.assign(order.begin(), order.begin() + config_.k_triggers);
  std::sort(triggers_.begin(), triggers_.end());
  trigger_mask_.assign(V, 0);
  for (int t : triggers_) trigger_mask_[t] = 1;
  first_ = unigram_;
  for (int t : triggers_) first_[t] = 0.0;
  double s = 0.0;
  for (double p : first_) s += p;
  if (!(s > 0.0)) {  // all mass on triggers (degenerate table): x1 uniform over the non-triggers
    for (int a = 0; a < V; ++a) first_[a] = trigger_mask_[a] ? 0.0 : 1.0;
  }
  normalize(first_.data(), V);
}

std::vector<std::vector<int32_t>> BBTask::sample(int n_seqs, uint64_t seed) const {
  QH_CHECK(n_seqs >= 0);
  const int V = base_vocab_, L = config_.seq_len;
  std::vector<std::vector<int32_t>> out(n_seqs);
  for (int s = 0; s < n_seqs; ++s) {
    // One stream per sequence: sequence s is the same whatever n_seqs is.
    Rng rng(bb_seed(seed ^ kSampleStream, static_cast<uint64_t>(s)));
    std::vector<int32_t>& x = out[s];
    x.resize(L);
    x[0] = bos();
    x[1] = rng.categorical(first_.data(), V);
    for (int t = 1; t + 1 < L; ++t)
      x[t + 1] = is_trigger(x[t]) ? x[t - 1] : rng.categorical(&bigram_[size_t(x[t]) * V], V);
  }
  return out;
}

bool BBTask::is_backcopy(const int32_t* seq, int64_t t) const { return t >= 1 && is_trigger(seq[t]); }

void BBTask::oracle(const int32_t* seq, int64_t t, float* probs) const {
  const int V = base_vocab_;
  std::fill(probs, probs + vocab_size(), 0.0f);
  if (t == 0) {
    for (int a = 0; a < V; ++a) probs[a] = static_cast<float>(first_[a]);
  } else if (is_backcopy(seq, t)) {
    probs[seq[t - 1]] = 1.0f;
  } else {
    QH_CHECK(seq[t] >= 0 && seq[t] < V);
    const double* row = &bigram_[size_t(seq[t]) * V];
    for (int a = 0; a < V; ++a) probs[a] = static_cast<float>(row[a]);
  }
}

double BBTask::oracle_entropy(const int32_t* seq, int64_t t) const {
  if (t == 0) return entropy(first_.data(), base_vocab_);
  if (is_backcopy(seq, t)) return 0.0;
  return row_entropy_[seq[t]];
}

}  // namespace qh::data
