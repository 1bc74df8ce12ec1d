// The harness's own identity: release version and the git revision it was built from. Results, checkpoint
// recipes and cache keys record them, so a number can be traced to the code that computed it and an upgrade
// never reuses another version's cached results.
#pragma once

#include <string>

namespace qh {

const char* version();       // the project version, e.g. "0.1.0"
const char* git_revision();  // 12 hex digits, with "-dirty" when built from uncommitted changes; "unknown" outside git

// "0.1.0+<revision>": what cache keys and results.json record.
std::string version_string();

}  // namespace qh
