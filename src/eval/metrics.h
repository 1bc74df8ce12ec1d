// Evaluation metrics of ARCHITECTURE.md 1.7, one module with exact formulas, accumulated in double.
// Per scored position (row) i with target y_i, fp log-probabilities a = log_softmax(fp_logits[i]) and quantized
// b = log_softmax(q_logits[i]) (both computed stably: x - max - log(sum exp(x - max))):
//   nll_fp = -a[y], nll = -b[y];  ppl = exp(mean nll), ppl_fp = exp(mean nll_fp), delta_ppl = ppl - ppl_fp,
//   ppl_ratio = ppl / ppl_fp;  kld_i = KL(fp || quant) = sum_v exp(a_v) (a_v - b_v);
//   top1 agreement: argmax a == argmax b (ties: the lowest index wins, in both);
//   delta_p_i = exp(b[y]) - exp(a[y]).
// Distribution summaries: mean with standard error (sample std / sqrt(n), n-1 in the variance), median (mean of
// the two middle values for an even count), percentiles by the nearest-rank method: p-th percentile =
// sorted[ceil(p/100 * n) - 1] (p90, p99; p1, p10 for the lower tail of delta_p), max.
// Breakdown by position class (position 0, sink tokens, the rest). BB task (oracle given): excess risk
// = cross-entropy minus oracle entropy = KL(oracle || model), averaged over backcopy positions
// (backcopy_risk) and the other positions (bigram_risk), for fp and quant; backcopy_acc = share of
// backcopy positions whose argmax is the target.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace qh::eval {

enum class PosClass : uint8_t { kFirst = 0, kSink = 1, kRest = 2 };
inline constexpr int kNumPosClasses = 3;
const char* to_string(PosClass c);  // "first" | "sink" | "rest"

// n rows of logits (row stride = vocab). Rows whose target is < 0 are not scored.
struct ScoredRows {
  const float* fp_logits = nullptr;   // [n, vocab]
  const float* q_logits = nullptr;    // [n, vocab]; nullptr = the fp logits (an fp-only evaluation)
  int64_t n = 0;
  int64_t vocab = 0;
  const int32_t* targets = nullptr;   // [n] next-token ids
  const uint8_t* pos_class = nullptr; // [n] PosClass values; nullptr = all kRest except row 0 -> kFirst
  const float* oracle = nullptr;      // [n, vocab] true next-token distributions (BB) or nullptr
  const uint8_t* backcopy = nullptr;  // [n] 1 where the target is a backcopy (BB) or nullptr
  // [n] log_sum_exp of the fp rows (log_probs.h), when the caller scores several cases against the same fp
  // rows and computes it once; nullptr: computed here.
  const double* fp_lse = nullptr;
  // [n, vocab] log(oracle) where oracle > 0 (other entries unread), likewise computed once for every case;
  // nullptr: computed here.
  const double* oracle_log = nullptr;
};

// Mean / spread summary of per-position values.
struct Summary {
  int64_t n = 0;
  double mean = 0, se = 0, median = 0, p1 = 0, p10 = 0, p90 = 0, p99 = 0, min = 0, max = 0;
};
// Nearest-rank percentile of sorted values (p in [0, 100]; p == 0 -> first). Empty: 0.
double percentile_sorted(const std::vector<double>& sorted, double p);
Summary summarize(std::vector<double> values);

struct ClassMetrics {
  int64_t n = 0;
  double ppl = 0, ppl_fp = 0, delta_ppl = 0, kld_mean = 0, top1_agree = 0, delta_p_mean = 0;
};

struct EvalMetrics {
  int64_t n_tokens = 0;
  double nll = 0, nll_fp = 0;  // mean NLL (nats)
  double ppl = 0, ppl_fp = 0, delta_ppl = 0, ppl_ratio = 0;
  double kld_mean = 0, kld_mean_se = 0, kld_median = 0, kld_p90 = 0, kld_p99 = 0, kld_max = 0;
  double top1_agree = 0;
  double delta_p_mean = 0, delta_p_se = 0, delta_p_median = 0, delta_p_p1 = 0, delta_p_p10 = 0,
         delta_p_p90 = 0, delta_p_p99 = 0;
  ClassMetrics by_class[kNumPosClasses];
  // BB only (has_oracle): excess risks in nats, accuracies in [0, 1].
  bool has_oracle = false;
  int64_t n_backcopy = 0, n_bigram = 0;
  double backcopy_risk = 0, backcopy_risk_fp = 0, bigram_risk = 0, bigram_risk_fp = 0;
  double backcopy_acc = 0, backcopy_acc_fp = 0;

  // ARCHITECTURE.md 2.7 names; per class under "by_position": {"first": {...}, "sink": {...}, "rest": {...}};
  // BB keys only with has_oracle.
  nlohmann::json to_json() const;
  static EvalMetrics from_json(const nlohmann::json& j);  // inverse of to_json (missing keys stay 0)
};

class MetricsAccumulator {
 public:
  void add(const ScoredRows& rows);
  void merge(const MetricsAccumulator& other);
  EvalMetrics finish() const;
  int64_t count() const { return static_cast<int64_t>(kld_.size()); }
  // Room for `tokens` scored tokens at once: the per-token values (two doubles each, kept for the KL
  // percentiles) then take exactly what a memory estimate counts, without doubling growth.
  void reserve(int64_t tokens);
  size_t bytes_held() const { return (kld_.capacity() + delta_p_.capacity()) * sizeof(double); }

 private:
  struct ClassSums {
    int64_t n = 0;
    double nll = 0, nll_fp = 0, kld = 0, agree = 0, delta_p = 0;
  };
  std::vector<double> kld_, delta_p_;
  double nll_ = 0, nll_fp_ = 0, agree_ = 0;
  ClassSums cls_[kNumPosClasses];
  bool has_oracle_ = false;
  int64_t n_backcopy_ = 0, n_bigram_ = 0;
  double backcopy_risk_ = 0, backcopy_risk_fp_ = 0, bigram_risk_ = 0, bigram_risk_fp_ = 0;
  double backcopy_hits_ = 0, backcopy_hits_fp_ = 0;
};

// Helpers shared with the audit (attention KL) and tests.
// log_softmax of n values into out, computed stably in double.
void log_softmax(const float* x, int64_t n, double* out);
// Index of the maximum; ties: the lowest index.
int64_t argmax(const float* x, int64_t n);
// KL(p || q) of two probability vectors (terms with p == 0 contribute 0; q == 0 where p > 0 -> +inf).
double kl_divergence(const float* p, const float* q, int64_t n);

}  // namespace qh::eval
