// `qharness merge`: joins the parts of a sharded run into one result. Cases are concatenated (a case present
// in two parts must be identical, else it is an InputError naming both files); the suite, when known, orders
// them as an unsharded run would and recomputes attributions and verdicts over the whole.
#pragma once

#include <string>
#include <vector>

#include "reports/results.h"

namespace qh::suite {

// `names` label the parts in error messages (file paths). Environment and suite name come from the first part.
reports::Results merge_parts(const std::vector<reports::Results>& parts, const std::vector<std::string>& names);

}  // namespace qh::suite
