// `qharness merge`: joins the parts of a sharded run into one result. The parts must be the shards 1..N of
// one suite, each exactly once: every part records its shard ("I/N") and the suite's identity (the hash of
// the suite file's text), and a missing, repeated or foreign part is an InputError naming it, so that a failed
// job never passes as a smaller run. A case may appear in one part only. With the suite at hand, the merged
// cases must be exactly the suite's plan; they are ordered as an unsharded run orders them, and attributions
// and verdicts are recomputed over the whole.
#pragma once

#include <string>
#include <vector>

#include "reports/results.h"
#include "src/suite/suite.h"

namespace qh::suite {

// What is wrong with the set of parts as shards of one suite ("" when they are shards 1..N exactly once).
// `names` label the parts (file paths). A part without a shard is a whole run (1/1).
std::string shard_set_problem(const std::vector<reports::Results>& parts, const std::vector<std::string>& names);

// Checks the set (InputError with shard_set_problem's text) and concatenates the cases. Environment and suite
// come from the first part.
reports::Results merge_parts(const std::vector<reports::Results>& parts, const std::vector<std::string>& names);

// The merged results must come from this suite file as it is now (same hash) and hold every case of its plan,
// nothing else. InputError naming the first missing or foreign case and how many there are.
void check_against_suite(const SuiteSpec& suite, const reports::Results& merged);

}  // namespace qh::suite
