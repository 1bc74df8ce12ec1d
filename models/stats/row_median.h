// Medians of |x| over a row and the persistence test of ARCHITECTURE.md 1.2 (a hit is |x[c]| >= tau_p * median |x|),
// exact (equal to a full sort) and fast on the audit's rows: Highway kernels with dynamic dispatch. Most rows
// never need their median: row_moments' counts exclude rows with no hit, and persistence_hits recognises rows
// whose max entries are the only hits; the rest search for the median from the previous row's.
#pragma once

#include <cstdint>

namespace qh::stats {

// Median of |x[0..n)| (the mean of the two middle values for even n; 0 when n = 0), equal to a full selection.
// guess (e.g. the previous row's median; 0 for none) is where the search starts: rows of up to 64 values are
// split at thresholds around it until two splits fall next to the middle values (no sort); longer rows, or
// short ones the splits do not settle in a few passes, are narrowed to a bracket of a few values by counting,
// and only those are sorted. buf has room for n + 16 floats.
double median_abs_row(const float* x, int64_t n, float guess, float* buf);
double median_abs_row_reference(const float* x, int64_t n);  // qh::median of |x| (src/core/median.h)

// The persistence test of one row (ARCHITECTURE.md 1.2): hits[c] += 1 where double(|x[c]|) >= tau_p * median_c |x[c]|,
// for n finite entries (nothing is counted when the threshold is not > 0); max_abs is the row's max |x|. Rows
// whose max entries are the only hits (one outlier channel: the usual case) are recognised by two counting
// passes without the median; the others compute it, starting at *guess (median_abs_row), which becomes this
// row's median. buf: n + 16 floats.
void persistence_hits(const float* x, int64_t n, float max_abs, double tau_p, float* guess, float* buf,
                      int32_t* hits);
void persistence_hits_reference(const float* x, int64_t n, double tau_p, int32_t* hits);  // a full sort

// hits[c] += 1 where double(|x[c]|) >= threshold, for c < n.
void count_at_least(const float* x, int64_t n, double threshold, int32_t* hits);

}  // namespace qh::stats
