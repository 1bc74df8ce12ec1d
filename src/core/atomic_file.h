// Atomic file output: write to "<path>.tmp.<pid>", flush, rename over <path>. A reader (or a killed run)
// never sees a half-written checkpoint, result or report. Lives at the bottom layer (quant/) because every
// layer above writes files. Throws InputError naming the path when the directory is not writable.
#pragma once

#include <string>
#include <string_view>

namespace qh {

void write_file_atomic(const std::string& path, std::string_view content);
// Creates the directory and its parents; throws InputError naming the path on failure.
void make_dirs(const std::string& path);

}  // namespace qh
