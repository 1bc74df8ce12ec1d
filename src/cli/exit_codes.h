// The one place where exceptions become exit codes (used by main): bad input -> 2, anything else -> 3 (an
// internal error: a bug, a library failure such as oneDNN's, an exhausted machine), each printed on one line.
#pragma once

#include <functional>

namespace qh::cli {

// Runs body() and returns its exit code, or the code of the exception it threw after printing it to stderr.
// CLI11's parse errors (usage, --help) are the caller's to turn into codes inside body.
int run_with_exit_codes(const std::function<int()>& body);

}  // namespace qh::cli
