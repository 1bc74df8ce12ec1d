// The one definition of a median in qharness: the middle value of n values, or for even n the mean (in double)
// of the two middle values; 0 for n = 0. Every fast median (models/stats/small_median.h, row_median.h,
// fused.h) is tested against these functions, and every other median in the code calls them.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace qh {

// Median of values already sorted ascending.
template <typename T>
double median_sorted(const T* sorted, int64_t n) {
  if (n <= 0) return 0.0;
  const int64_t mid = n / 2;
  return n % 2 ? static_cast<double>(sorted[mid])
               : 0.5 * (static_cast<double>(sorted[mid - 1]) + static_cast<double>(sorted[mid]));
}

// Median of v[0..n) by selection (v is reordered). NaN values give an unspecified result.
template <typename T>
double median_in_place(T* v, int64_t n) {
  if (n <= 0) return 0.0;
  const int64_t mid = n / 2;
  std::nth_element(v, v + mid, v + n);
  const double hi = static_cast<double>(v[mid]);
  if (n % 2) return hi;
  return 0.5 * (static_cast<double>(*std::max_element(v, v + mid)) + hi);
}

// Median of a copy of v.
template <typename T>
double median(std::vector<T> v) {
  return median_in_place(v.data(), static_cast<int64_t>(v.size()));
}

}  // namespace qh
