// Reading the parts of a tokenizer.json: every component object names its `type`; anything the project does
// not implement is refused by name (file, JSON field, value) rather than skipped, because a skipped
// normalizer or pre-tokenizer would give different ids without a word.
#pragma once

#include <string>

#include "models/json_util.h"

namespace qh::tok {

using json_util::Fields;

// The component's "type" string (required).
std::string component_type(const Fields& f);

// Refuses a component type with the list of the supported ones.
[[noreturn]] void refuse_type(const Fields& f, const std::string& kind, const std::string& type,
                              const std::string& supported);

// A Hugging Face pattern {"String": "..."} or {"Regex": "..."} as a regular expression.
std::string pattern_regex(const Fields& f, const std::string& key);

// A field that must be a single character (Metaspace replacement, Strip content).
char32_t single_char(const Fields& f, const std::string& key, const std::string& dflt);

// A non-negative integer field.
size_t count_field(const Fields& f, const std::string& key, size_t dflt);

}  // namespace qh::tok
