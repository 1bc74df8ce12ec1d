// One error type for everything a user can get wrong: a bad checkpoint, suite file, data spec or scheme.
// It is thrown where the problem is found, carries a message that names the file / field (and for YAML the
// line and column) and what was expected, and is caught once at the CLI boundary, which prints it on one
// line and exits with code 2. Internal invariants are not InputErrors: they are QH_CHECK failures (abort), and
// any other exception that reaches the CLI (a oneDNN failure, a library's logic error) is an internal error
// with exit code 3, so that a CI gate never mistakes a bug for bad input.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace qh {

class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& message) : std::runtime_error(message) {}
};

// Exit codes of every qharness command (ARCHITECTURE.md 2.2).
inline constexpr int kExitOk = 0;          // success; all checks pass
inline constexpr int kExitCheckFailed = 1;  // a threshold, expectation or baseline check failed
inline constexpr int kExitBadInput = 2;     // bad input or usage
inline constexpr int kExitInternal = 3;     // an internal error (a bug or a library failure), not the input

}  // namespace qh

// Internal invariant: a bug in qharness, not in the user's input.
#define QH_CHECK(cond)                                                                   \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "qharness internal error: %s:%d: check failed: %s\n", __FILE__, \
                   __LINE__, #cond);                                                     \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)
