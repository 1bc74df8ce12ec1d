// Accuracy statistics of a task, and the paired comparison of a quantized case with the fp model on the same
// items.
//   accuracy: mean of the per-item 0/1 outcomes; standard error = sample standard deviation (n - 1) / sqrt(n),
//   as lm-evaluation-harness reports (undefined, NaN, for fewer than 2 items).
//   paired drop (points): with b = items right in fp and wrong quantized, c = wrong in fp and right quantized,
//   drop = 100 (b - c) / n; its 95% interval is the Wald interval of a difference of paired proportions,
//   100 [(b - c)/n -+ z sqrt(b + c - (b - c)^2 / n) / n], z = 1.959963984540054; and McNemar's exact test gives
//   the two-sided p-value of "no change": min(1, 2 P[X <= min(b, c)]), X ~ Binomial(b + c, 1/2) (1 when b + c = 0).
#pragma once

#include <cstdint>
#include <vector>

namespace qh::tasks {

struct Accuracy {
  int64_t n = 0;
  double mean = 0, stderr_ = 0;
};
Accuracy accuracy(const std::vector<uint8_t>& correct);

struct PairedDrop {
  int64_t n = 0, fp_only = 0, quant_only = 0;  // n, b, c
  double drop = 0, lo = 0, hi = 0;             // points
  double p_mcnemar = 1;
};
// fp and quant: per-item outcomes of the same items (equal lengths: a QH_CHECK).
PairedDrop paired_drop(const std::vector<uint8_t>& fp, const std::vector<uint8_t>& quant);

// Two-sided exact McNemar p-value for b and c discordant pairs.
double mcnemar_exact_p(int64_t b, int64_t c);

}  // namespace qh::tasks
