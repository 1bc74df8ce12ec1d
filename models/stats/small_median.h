// Medians of short arrays of doubles by counting (Highway, dynamic dispatch over the compiled targets). The
// audit takes medians of every window's token norms (residual peaks, value drain); at these lengths
// nth_element spends most of its time in mispredicted branches. Here every value a_i gets le_i = #(a_j <= a_i),
// and the k-th smallest value is min{a_i : le_i > k} (ties included): n^2 / lanes compares, no data-dependent
// branch, and the result is exactly that of a full selection (tested against a sort on random and tied data).
// Measured on 63 values: 300 ns against 710 ns for nth_element. (For |x| of float rows the searches of
// row_median.h, which use the previous row's median, are faster from 24 values up, and equal below.)
#pragma once

#include <cstdint>

namespace qh::stats {

// Up to this many values the counting median is used (at 128 it is no faster than nth_element).
constexpr int64_t kSmallMedianMax = 96;

// Median of v[0..n) (the mean, in double, of the two middle values for even n; 0 when n = 0). buf has room for
// n + 8 doubles; v is not changed. NaN values give an unspecified result, as with nth_element.
double median_small(const double* v, int64_t n, double* buf);

}  // namespace qh::stats
