// Small text helpers shared by the scheme parsers (internal to qh_quant; not part of the public API).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace qh {

std::string lower(std::string s);
// Levenshtein distance, case-insensitive.
int edit_distance(const std::string& a, const std::string& b);
// "; did you mean 'W4A4'?" for the closest candidate within distance 2 (or a prefix match), else "".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);
// Shortest decimal text that reads back to exactly the same float ("0.9", "1", "0.125").
std::string format_float(float v);
// "a=1,b=2,sites=q,k" -> {a:1, b:2, sites:"q,k"}: a part without '=' continues the previous value, so lists
// survive the ',' separator. Throws InputError (prefixed by `where`) on an empty key or a repeated key.
std::map<std::string, std::string> split_fields(const std::string& text, const std::string& where);

}  // namespace qh
