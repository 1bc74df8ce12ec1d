// The text transformations lm-evaluation-harness applies to task documents before scoring, reproduced so the
// same file gives the same requests: Python's str.capitalize, str.strip, HellaSwag's preprocess, LAMBADA's
// last-word split, and len() of a str (code points, which acc_norm divides by).
#pragma once

#include <cstdint>
#include <string>

namespace qh::tasks {

// Number of Unicode code points of UTF-8 text (Python's len(str)). Bytes that do not start a code point are
// continuation bytes and not counted; the caller has validated the UTF-8.
int64_t code_points(const std::string& utf8);

// Python's str.capitalize: the first character title-cased (ICU's simple title case), the rest lower-cased
// with the full Unicode mapping (ICU). Throws InputError on invalid UTF-8.
std::string py_capitalize(const std::string& utf8);

// Python's str.strip(): whitespace as str.isspace (below) removed from both ends.
std::string py_strip(const std::string& s);

// Byte length of the trailing whitespace Python's str.rstrip() removes (code points of category Zs or of
// bidirectional class WS, B or S: Python's str.isspace).
size_t py_trailing_space_bytes(const std::string& utf8);

// lm-eval's HellaSwag preprocess: strip, " [title]" -> ". ", remove "[...]" (non-greedy), "  " -> " ".
std::string hellaswag_preprocess(const std::string& text);

// Whether the bytes are valid UTF-8.
bool valid_utf8(const std::string& s);

}  // namespace qh::tasks
