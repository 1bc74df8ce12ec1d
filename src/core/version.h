// The harness's own identity: release version and the git revision it was built from. Results, checkpoint
// recipes and cache keys record them, so a number can be traced to the code that computed it and an upgrade
// never reuses another version's cached results.
#pragma once

#include <string>

namespace qh {

const char* version();       // the project version, e.g. "0.1.0"
// 12 hex digits of HEAD; built from uncommitted changes, followed by "-dirty-" and 12 hex digits of a hash of
// those changes (the diff against HEAD, untracked source files); "unknown" outside git.
const char* git_revision();

// "0.1.0+<revision>": what cache keys and results.json record.
std::string version_string();

}  // namespace qh
