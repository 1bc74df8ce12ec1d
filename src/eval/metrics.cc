#include "src/eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "src/core/error.h"
#include "src/core/median.h"
#include "src/eval/log_probs.h"

namespace qh::eval {

const char* to_string(PosClass c) {
  switch (c) {
    case PosClass::kFirst: return "first";
    case PosClass::kSink: return "sink";
    case PosClass::kRest: return "rest";
  }
  return "rest";
}

void log_softmax(const float* x, int64_t n, double* out) {
  const double lse = log_sum_exp(x, n);
  for (int64_t i = 0; i < n; ++i) out[i] = double(x[i]) - lse;
}

int64_t argmax(const float* x, int64_t n) { return argmax_row(x, n); }  // strict: the first maximum wins

double kl_divergence(const float* p, const float* q, int64_t n) {
  double kl = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    if (p[i] <= 0.0f) continue;
    if (q[i] <= 0.0f) return std::numeric_limits<double>::infinity();
    kl += double(p[i]) * (std::log(double(p[i])) - std::log(double(q[i])));
  }
  return kl;
}

double percentile_sorted(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0.0;
  const double n = static_cast<double>(sorted.size());
  int64_t rank = static_cast<int64_t>(std::ceil(p / 100.0 * n));  // nearest rank, 1-based
  rank = std::clamp<int64_t>(rank, 1, static_cast<int64_t>(sorted.size()));
  return sorted[rank - 1];
}

Summary summarize(std::vector<double> v) {
  Summary s;
  s.n = static_cast<int64_t>(v.size());
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  double sum = 0.0;
  for (double x : v) sum += x;
  s.mean = sum / s.n;
  if (s.n > 1) {
    double ss = 0.0;
    for (double x : v) ss += (x - s.mean) * (x - s.mean);
    s.se = std::sqrt(ss / (s.n - 1)) / std::sqrt(double(s.n));
  }
  s.median = median_sorted(v.data(), s.n);
  s.p1 = percentile_sorted(v, 1);
  s.p10 = percentile_sorted(v, 10);
  s.p90 = percentile_sorted(v, 90);
  s.p99 = percentile_sorted(v, 99);
  s.min = v.front();
  s.max = v.back();
  return s;
}

void MetricsAccumulator::add(const ScoredRows& r) {
  QH_CHECK(r.fp_logits != nullptr && r.targets != nullptr && r.vocab > 0);
  const int64_t V = r.vocab;
  if (r.oracle) has_oracle_ = true;
  for (int64_t i = 0; i < r.n; ++i) {
    const int32_t y = r.targets[i];
    if (y < 0) continue;
    QH_CHECK(y < V);
    const float* fl = r.fp_logits + i * V;
    const float* ql = r.q_logits ? r.q_logits + i * V : fl;
    // a = fl - lse_a and b = ql - lse_b are the log-probabilities; they are formed entry by entry where needed.
    const double lse_a = r.fp_lse ? r.fp_lse[i] : log_sum_exp(fl, V);
    const double lse_b = ql != fl ? log_sum_exp(ql, V) : lse_a;
    const double a_y = double(fl[y]) - lse_a, b_y = double(ql[y]) - lse_b;
    double kl = kl_from_logits(fl, lse_a, ql, lse_b, V);
    kl = std::max(kl, 0.0);  // exact KL is >= 0; rounding may leave -1e-17
    const int64_t top_fp = argmax(fl, V), top_q = argmax(ql, V);
    const double agree = top_fp == top_q ? 1.0 : 0.0;
    const double dp = std::exp(b_y) - std::exp(a_y);
    kld_.push_back(kl);
    delta_p_.push_back(dp);
    nll_ -= b_y;
    nll_fp_ -= a_y;
    agree_ += agree;
    const int c = r.pos_class ? std::min<int>(r.pos_class[i], kNumPosClasses - 1)
                              : (i == 0 ? int(PosClass::kFirst) : int(PosClass::kRest));
    ClassSums& cs = cls_[c];
    ++cs.n;
    cs.nll -= b_y;
    cs.nll_fp -= a_y;
    cs.kld += kl;
    cs.agree += agree;
    cs.delta_p += dp;
    if (r.oracle) {
      // Excess risk = sum_v o_v (log o_v - log p_v) = KL(oracle || model).
      const float* o = r.oracle + i * V;
      double risk = 0.0, risk_fp = 0.0;
      for (int64_t v = 0; v < V; ++v) {
        if (o[v] <= 0.0f) continue;
        const double lo = r.oracle_log ? r.oracle_log[i * V + v] : std::log(double(o[v]));
        risk += o[v] * (lo - (double(ql[v]) - lse_b));
        risk_fp += o[v] * (lo - (double(fl[v]) - lse_a));
      }
      const bool back = r.backcopy && r.backcopy[i];
      if (back) {
        ++n_backcopy_;
        backcopy_risk_ += risk;
        backcopy_risk_fp_ += risk_fp;
        backcopy_hits_ += top_q == y ? 1.0 : 0.0;
        backcopy_hits_fp_ += top_fp == y ? 1.0 : 0.0;
      } else {
        ++n_bigram_;
        bigram_risk_ += risk;
        bigram_risk_fp_ += risk_fp;
      }
    }
  }
}

void MetricsAccumulator::reserve(int64_t tokens) {
  kld_.reserve(static_cast<size_t>(std::max<int64_t>(tokens, 0)));
  delta_p_.reserve(static_cast<size_t>(std::max<int64_t>(tokens, 0)));
}

void MetricsAccumulator::merge(const MetricsAccumulator& o) {
  kld_.insert(kld_.end(), o.kld_.begin(), o.kld_.end());
  delta_p_.insert(delta_p_.end(), o.delta_p_.begin(), o.delta_p_.end());
  nll_ += o.nll_;
  nll_fp_ += o.nll_fp_;
  agree_ += o.agree_;
  for (int c = 0; c < kNumPosClasses; ++c) {
    cls_[c].n += o.cls_[c].n;
    cls_[c].nll += o.cls_[c].nll;
    cls_[c].nll_fp += o.cls_[c].nll_fp;
    cls_[c].kld += o.cls_[c].kld;
    cls_[c].agree += o.cls_[c].agree;
    cls_[c].delta_p += o.cls_[c].delta_p;
  }
  has_oracle_ |= o.has_oracle_;
  n_backcopy_ += o.n_backcopy_;
  n_bigram_ += o.n_bigram_;
  backcopy_risk_ += o.backcopy_risk_;
  backcopy_risk_fp_ += o.backcopy_risk_fp_;
  bigram_risk_ += o.bigram_risk_;
  bigram_risk_fp_ += o.bigram_risk_fp_;
  backcopy_hits_ += o.backcopy_hits_;
  backcopy_hits_fp_ += o.backcopy_hits_fp_;
}

EvalMetrics MetricsAccumulator::finish() const {
  EvalMetrics m;
  const int64_t n = count();
  m.n_tokens = n;
  if (n == 0) return m;
  m.nll = nll_ / n;
  m.nll_fp = nll_fp_ / n;
  m.ppl = std::exp(m.nll);
  m.ppl_fp = std::exp(m.nll_fp);
  m.delta_ppl = m.ppl - m.ppl_fp;
  m.ppl_ratio = m.ppl / m.ppl_fp;
  const Summary k = summarize(kld_);
  m.kld_mean = k.mean;
  m.kld_mean_se = k.se;
  m.kld_median = k.median;
  m.kld_p90 = k.p90;
  m.kld_p99 = k.p99;
  m.kld_max = k.max;
  m.top1_agree = agree_ / n;
  const Summary d = summarize(delta_p_);
  m.delta_p_mean = d.mean;
  m.delta_p_se = d.se;
  m.delta_p_median = d.median;
  m.delta_p_p1 = d.p1;
  m.delta_p_p10 = d.p10;
  m.delta_p_p90 = d.p90;
  m.delta_p_p99 = d.p99;
  for (int c = 0; c < kNumPosClasses; ++c) {
    const ClassSums& s = cls_[c];
    ClassMetrics& cm = m.by_class[c];
    cm.n = s.n;
    if (s.n == 0) continue;
    cm.ppl = std::exp(s.nll / s.n);
    cm.ppl_fp = std::exp(s.nll_fp / s.n);
    cm.delta_ppl = cm.ppl - cm.ppl_fp;
    cm.kld_mean = s.kld / s.n;
    cm.top1_agree = s.agree / s.n;
    cm.delta_p_mean = s.delta_p / s.n;
  }
  m.has_oracle = has_oracle_;
  m.n_backcopy = n_backcopy_;
  m.n_bigram = n_bigram_;
  if (n_backcopy_) {
    m.backcopy_risk = backcopy_risk_ / n_backcopy_;
    m.backcopy_risk_fp = backcopy_risk_fp_ / n_backcopy_;
    m.backcopy_acc = backcopy_hits_ / n_backcopy_;
    m.backcopy_acc_fp = backcopy_hits_fp_ / n_backcopy_;
  }
  if (n_bigram_) {
    m.bigram_risk = bigram_risk_ / n_bigram_;
    m.bigram_risk_fp = bigram_risk_fp_ / n_bigram_;
  }
  return m;
}

nlohmann::json EvalMetrics::to_json() const {
  nlohmann::json j = {{"n_tokens", n_tokens},       {"nll", nll},
                      {"nll_fp", nll_fp},           {"ppl", ppl},
                      {"ppl_fp", ppl_fp},           {"delta_ppl", delta_ppl},
                      {"ppl_ratio", ppl_ratio},     {"kld_mean", kld_mean},
                      {"kld_mean_se", kld_mean_se}, {"kld_median", kld_median},
                      {"kld_p90", kld_p90},         {"kld_p99", kld_p99},
                      {"kld_max", kld_max},         {"top1_agree", top1_agree},
                      {"delta_p_mean", delta_p_mean}, {"delta_p_se", delta_p_se},
                      {"delta_p_median", delta_p_median}, {"delta_p_p1", delta_p_p1},
                      {"delta_p_p10", delta_p_p10}, {"delta_p_p90", delta_p_p90},
                      {"delta_p_p99", delta_p_p99}};
  nlohmann::json by = nlohmann::json::object();
  for (int c = 0; c < kNumPosClasses; ++c) {
    const ClassMetrics& cm = by_class[c];
    by[to_string(static_cast<PosClass>(c))] = {{"n_tokens", cm.n},          {"ppl", cm.ppl},
                                               {"ppl_fp", cm.ppl_fp},       {"delta_ppl", cm.delta_ppl},
                                               {"kld_mean", cm.kld_mean},   {"top1_agree", cm.top1_agree},
                                               {"delta_p_mean", cm.delta_p_mean}};
  }
  j["by_position"] = by;
  if (has_oracle) {
    j["n_backcopy"] = n_backcopy;
    j["n_bigram"] = n_bigram;
    j["backcopy_risk"] = backcopy_risk;
    j["backcopy_risk_fp"] = backcopy_risk_fp;
    j["bigram_risk"] = bigram_risk;
    j["bigram_risk_fp"] = bigram_risk_fp;
    j["backcopy_acc"] = backcopy_acc;
    j["backcopy_acc_fp"] = backcopy_acc_fp;
  }
  return j;
}

EvalMetrics EvalMetrics::from_json(const nlohmann::json& j) {
  EvalMetrics m;
  auto get = [&](const nlohmann::json& o, const char* key, auto* out) {
    if (o.is_object() && o.contains(key) && o[key].is_number()) *out = o[key].get<std::remove_pointer_t<decltype(out)>>();
  };
  get(j, "n_tokens", &m.n_tokens);
  get(j, "nll", &m.nll);
  get(j, "nll_fp", &m.nll_fp);
  get(j, "ppl", &m.ppl);
  get(j, "ppl_fp", &m.ppl_fp);
  get(j, "delta_ppl", &m.delta_ppl);
  get(j, "ppl_ratio", &m.ppl_ratio);
  get(j, "kld_mean", &m.kld_mean);
  get(j, "kld_mean_se", &m.kld_mean_se);
  get(j, "kld_median", &m.kld_median);
  get(j, "kld_p90", &m.kld_p90);
  get(j, "kld_p99", &m.kld_p99);
  get(j, "kld_max", &m.kld_max);
  get(j, "top1_agree", &m.top1_agree);
  get(j, "delta_p_mean", &m.delta_p_mean);
  get(j, "delta_p_se", &m.delta_p_se);
  get(j, "delta_p_median", &m.delta_p_median);
  get(j, "delta_p_p1", &m.delta_p_p1);
  get(j, "delta_p_p10", &m.delta_p_p10);
  get(j, "delta_p_p90", &m.delta_p_p90);
  get(j, "delta_p_p99", &m.delta_p_p99);
  if (j.contains("by_position") && j["by_position"].is_object()) {
    for (int c = 0; c < kNumPosClasses; ++c) {
      const char* name = to_string(static_cast<PosClass>(c));
      if (!j["by_position"].contains(name)) continue;
      const nlohmann::json& o = j["by_position"][name];
      ClassMetrics& cm = m.by_class[c];
      get(o, "n_tokens", &cm.n);
      get(o, "ppl", &cm.ppl);
      get(o, "ppl_fp", &cm.ppl_fp);
      get(o, "delta_ppl", &cm.delta_ppl);
      get(o, "kld_mean", &cm.kld_mean);
      get(o, "top1_agree", &cm.top1_agree);
      get(o, "delta_p_mean", &cm.delta_p_mean);
    }
  }
  m.has_oracle = j.contains("backcopy_risk");
  get(j, "n_backcopy", &m.n_backcopy);
  get(j, "n_bigram", &m.n_bigram);
  get(j, "backcopy_risk", &m.backcopy_risk);
  get(j, "backcopy_risk_fp", &m.backcopy_risk_fp);
  get(j, "bigram_risk", &m.bigram_risk);
  get(j, "bigram_risk_fp", &m.bigram_risk_fp);
  get(j, "backcopy_acc", &m.backcopy_acc);
  get(j, "backcopy_acc_fp", &m.backcopy_acc_fp);
  return m;
}

}  // namespace qh::eval
