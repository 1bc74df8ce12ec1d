// Log-probabilities of logit rows without materialising them: the log-sum-exp of a row, the KL divergence
// between the softmaxes of two rows, in double, and the row's argmax. These are the metrics' inner loops (every scored token of
// every case: a few exps per vocabulary entry, more time than the quantized forward pass of a small model
// with a large vocabulary when done one std::exp at a time), so they run as Highway kernels (double lanes,
// Highway's Exp, dispatched once per row). Each has a scalar reference with the metrics' original formula
// (std::exp, a left-to-right sum), and the tests compare the two on every compiled target; the kernels sum
// in lanes, so they agree with the references to rounding, not bit for bit (the same machine always gives
// the same bits: nothing depends on threads).
#pragma once

#include <cstdint>

namespace qh::eval {

// lse(x) = m + log(sum_v exp(x_v - m)), m = max_v x_v, in double from float logits. A NaN entry, a +inf
// maximum or a row of -inf only gives NaN (as the formula does); an empty row gives -inf.
double log_sum_exp(const float* x, int64_t n);
double log_sum_exp_reference(const float* x, int64_t n);

// KL(softmax(x) || softmax(y)) = sum_v exp(a_v) (a_v - b_v) with a = x - lse_x, b = y - lse_y (the rows'
// log_sum_exp), in double, with the formula's IEEE semantics (NaN in, NaN out; a -inf entry of x gives NaN
// as 0 * -inf; a -inf entry of y alone gives +inf).
double kl_from_logits(const float* x, double lse_x, const float* y, double lse_y, int64_t n);
double kl_from_logits_reference(const float* x, double lse_x, const float* y, double lse_y, int64_t n);

// The first index of the row's maximum (ties: the lowest index), as a left-to-right scan that replaces the best
// only on a strictly greater entry: a NaN entry is never chosen, except at index 0, where it stays (nothing
// compares greater). Exact: the vector form finds the same index. n >= 1.
int64_t argmax_row(const float* x, int64_t n);
int64_t argmax_row_reference(const float* x, int64_t n);

}  // namespace qh::eval
