// How exceptions become exit codes: bad input 2, everything else (a oneDNN failure, a library error, running out
// of memory, a non-standard exception) 3, never an abort; the body's own code passes through.
#include <gtest/gtest.h>

#include <new>
#include <stdexcept>

#include <oneapi/dnnl/dnnl.hpp>

#include "src/cli/exit_codes.h"
#include "src/core/error.h"

namespace qh::cli {
namespace {

TEST(ExitCodes, BodyCodePassesThrough) {
  EXPECT_EQ(run_with_exit_codes([] { return kExitOk; }), kExitOk);
  EXPECT_EQ(run_with_exit_codes([] { return kExitCheckFailed; }), kExitCheckFailed);
}

TEST(ExitCodes, InputErrorIsBadInput) {
  EXPECT_EQ(run_with_exit_codes([]() -> int { throw InputError("suite.yaml:3:1: nope"); }), kExitBadInput);
}

TEST(ExitCodes, EverythingElseIsInternal) {
  EXPECT_EQ(kExitInternal, 3);
  EXPECT_EQ(run_with_exit_codes([]() -> int { throw dnnl::error(dnnl_runtime_error, "primitive failed"); }),
            kExitInternal);
  EXPECT_EQ(run_with_exit_codes([]() -> int { throw std::logic_error("bug"); }), kExitInternal);
  EXPECT_EQ(run_with_exit_codes([]() -> int { throw std::bad_alloc(); }), kExitInternal);
  EXPECT_EQ(run_with_exit_codes([]() -> int { throw 42; }), kExitInternal);
}

}  // namespace
}  // namespace qh::cli
