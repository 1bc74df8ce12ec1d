#include "src/audit/query_split.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "src/core/error.h"

namespace qh::audit {

const char* QuerySplit::name() const {
  switch (kind) {
    case SplitKind::kBBTrigger: return "bb_trigger";
    case SplitKind::kTokenClass: return "token_class";
    case SplitKind::kPosition: return "position";
  }
  return "position";
}

std::array<std::string, 2> QuerySplit::labels() const {
  switch (kind) {
    case SplitKind::kBBTrigger: return {"non_trigger", "trigger"};
    case SplitKind::kTokenClass: return {"other_tokens", "class_tokens"};
    case SplitKind::kPosition: return {"late_positions", "early_positions"};
  }
  return {"domain_0", "domain_1"};
}

void QuerySplit::fill(const int32_t* tokens, int64_t T, uint8_t* domain) const {
  for (int64_t t = 0; t < T; ++t) {
    switch (kind) {
      case SplitKind::kBBTrigger: domain[t] = bb && bb->is_trigger(tokens[t]) ? 1 : 0; break;
      case SplitKind::kTokenClass:
        domain[t] = std::binary_search(class_ids.begin(), class_ids.end(), tokens[t]) ? 1 : 0;
        break;
      case SplitKind::kPosition: domain[t] = t <= early_positions ? 1 : 0; break;
    }
  }
}

QuerySplit choose_query_split(const std::vector<int32_t>& class_ids, const data::BBTask* bb, int64_t early_positions) {
  if (early_positions < 1)
    throw InputError(fmt::format("audit: --early-positions {}: expected a number of window positions >= 1",
                                 early_positions));
  QuerySplit s;
  s.early_positions = early_positions;
  if (!class_ids.empty()) {
    s.kind = SplitKind::kTokenClass;
    s.class_ids = class_ids;
    std::sort(s.class_ids.begin(), s.class_ids.end());
    s.class_ids.erase(std::unique(s.class_ids.begin(), s.class_ids.end()), s.class_ids.end());
  } else if (bb) {
    s.kind = SplitKind::kBBTrigger;
    s.bb = bb;
  } else {
    s.kind = SplitKind::kPosition;
  }
  return s;
}

namespace {

// Appends the ids of one piece of text; `where` names the source for errors ("file F, line N" or "'ARG'").
void parse_ids(const std::string& text, const std::string& where, int64_t vocab_size, std::vector<int32_t>* out) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == ',' || std::isspace(c)) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() && text[j] != ',' && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    const std::string word = text.substr(i, j - i);
    const bool digits = !word.empty() && word.size() <= 10 &&
                        std::all_of(word.begin(), word.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    const long long id = digits ? std::stoll(word) : -1;
    if (!digits || id >= vocab_size)
      throw InputError(fmt::format("--query-class: {}: '{}' is not a token id; expected decimal ids in [0, {}) "
                                   "separated by commas or whitespace",
                                   where, word, vocab_size));
    out->push_back(static_cast<int32_t>(id));
    i = j;
  }
}

}  // namespace

std::vector<int32_t> parse_query_class(const std::string& arg, int64_t vocab_size) {
  std::vector<int32_t> ids;
  std::error_code ec;
  if (std::filesystem::is_regular_file(arg, ec)) {
    std::ifstream in(arg);
    if (!in) throw InputError("--query-class: cannot read the file '" + arg + "'");
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      const size_t hash = line.find('#');
      if (hash != std::string::npos) line.resize(hash);
      parse_ids(line, fmt::format("file '{}', line {}", arg, n), vocab_size, &ids);
    }
    if (ids.empty())
      throw InputError("--query-class: the file '" + arg + "' holds no token ids; expected decimal ids in [0, " +
                       std::to_string(vocab_size) + ")");
  } else {
    const bool looks_like_ids =
        !arg.empty() && std::all_of(arg.begin(), arg.end(), [](char c) { return (c >= '0' && c <= '9') || c == ','; });
    if (!looks_like_ids)
      throw InputError("--query-class '" + arg +
                       "': no such file, and not a comma-separated list of token ids (e.g. 3,17,42)");
    parse_ids(arg, "'" + arg + "'", vocab_size, &ids);
    if (ids.empty()) throw InputError("--query-class '" + arg + "': no token ids in the list");
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

}  // namespace qh::audit
