#include "src/cli/exit_codes.h"

#include <cstdio>
#include <exception>
#include <new>

#include "src/core/error.h"

namespace qh::cli {

int run_with_exit_codes(const std::function<int()>& body) {
  try {
    return body();
  } catch (const InputError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return kExitBadInput;
  } catch (const std::bad_alloc&) {
    // Inputs are sized before they are allocated (src/core/limits.h): running out is the machine's limit.
    std::fprintf(stderr, "internal error: out of memory\n");
    return kExitInternal;
  } catch (const std::exception& e) {
    // Not the input's fault: a oneDNN failure (dnnl::error), a library's logic or I/O error, a bug.
    std::fprintf(stderr, "internal error: %s\n", e.what());
    return kExitInternal;
  } catch (...) {
    std::fprintf(stderr, "internal error: an unknown exception\n");
    return kExitInternal;
  }
}

}  // namespace qh::cli
