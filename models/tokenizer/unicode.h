// Unicode character properties, normalization forms and case mapping, all from ICU (no tables of our own).
// The predicates follow the Rust standard library and regex crate that Hugging Face tokenizers is written
// with, so that pre-tokenizers split where the reference splits.
#pragma once

#include <string>
#include <string_view>

namespace qh::tok {

bool is_whitespace(char32_t c);   // Rust char::is_whitespace: the White_Space property
bool is_numeric(char32_t c);      // Rust char::is_numeric: general categories Nd, Nl, No
bool is_punctuation(char32_t c);  // ASCII punctuation or a P* general category (HF Punctuation pre-tokenizer)
bool is_word_char(char32_t c);    // regex \w: Alphabetic, marks, Nd, Pc, Join_Control

enum class NormalForm { kNFC, kNFD, kNFKC, kNFKD };
// `text` must be valid UTF-8.
std::string normalize(std::string_view text, NormalForm form);
// Full Unicode lowercase mapping (context-sensitive final sigma, multi-character results), as Rust's
// str::to_lowercase.
std::string to_lower(std::string_view text);

}  // namespace qh::tok
