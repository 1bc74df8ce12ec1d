// Text helpers for the scheme parsers: case folding, did-you-mean, exact float printing, key=value lists.
#include "quant/scheme_text.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>

#include "src/core/error.h"

namespace qh {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

int edit_distance(const std::string& a_in, const std::string& b_in) {
  const std::string a = lower(a_in), b = lower(b_in);
  std::vector<int> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      const int substitute = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, substitute});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  const std::string* best = nullptr;
  int best_distance = 3;  // farther than 2 edits is not a typo
  for (const std::string& c : candidates) {
    const int d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = &c;
    }
  }
  if (!best && !word.empty()) {
    for (const std::string& c : candidates) {
      if (lower(c).rfind(lower(word), 0) == 0) {
        best = &c;
        break;
      }
    }
  }
  return best ? "; did you mean '" + *best + "'?" : "";
}

std::string format_float(float v) {
  char buf[32];
  for (int precision = 1; precision <= 9; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, static_cast<double>(v));
    if (std::strtof(buf, nullptr) == v) break;
  }
  return buf;
}

std::map<std::string, std::string> split_fields(const std::string& text, const std::string& where) {
  std::map<std::string, std::string> out;
  std::string last_key;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    const std::string part = text.substr(start, comma - start);
    const size_t eq = part.find('=');
    if (eq == std::string::npos) {
      if (last_key.empty()) {
        throw InputError(where + ": expected key=value, got '" + part + "'");
      }
      out[last_key] += "," + part;  // a list value such as sites=q,k,v
    } else {
      const std::string key = part.substr(0, eq);
      if (key.empty()) throw InputError(where + ": empty key in '" + part + "'");
      if (out.count(key)) throw InputError(where + ": key '" + key + "' given twice");
      out[key] = part.substr(eq + 1);
      last_key = key;
    }
    start = comma + 1;
  }
  return out;
}

}  // namespace qh
