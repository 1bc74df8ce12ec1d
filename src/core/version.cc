#include "src/core/version.h"

// Generated at every build by src/core/git_revision.cmake (rewritten only when the revision changes, so an
// unchanged tree recompiles nothing). It defines QH_GIT_REVISION.
#include "qh_git_revision.h"

namespace qh {

const char* version() { return QH_PROJECT_VERSION; }
const char* git_revision() { return QH_GIT_REVISION; }
std::string version_string() { return std::string(version()) + "+" + git_revision(); }

}  // namespace qh
