// How the active-dormant profile splits the queries into two domains (ARCHITECTURE.md 1.1, issue "audit": "for BB
// trigger vs non-trigger queries; for token files, by a user-given token class or by position").
//   bb_trigger   BB data without a class: domain 1 = the query token is a trigger of the task;
//   token_class  --query-class: domain 1 = the query token is one of the given ids (any data);
//   position     token / text data without a class: domain 1 = window positions 1..early_positions.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "models/data/bb.h"

namespace qh::audit {

enum class SplitKind { kBBTrigger, kTokenClass, kPosition };

struct QuerySplit {
  SplitKind kind = SplitKind::kPosition;
  std::vector<int32_t> class_ids;  // kTokenClass: sorted, unique
  int64_t early_positions = 16;    // kPosition
  const data::BBTask* bb = nullptr;  // kBBTrigger

  // The JSON / report names: the split ("bb_trigger" | "token_class" | "position") and of domain 0 / 1
  // ("non_trigger" / "trigger", "other_tokens" / "class_tokens", "late_positions" / "early_positions").
  const char* name() const;
  std::array<std::string, 2> labels() const;
  // domain[t] in {0, 1} for the T tokens of a window (t = window position).
  void fill(const int32_t* tokens, int64_t T, uint8_t* domain) const;
};

// The split an audit uses: the class when one is given, else BB triggers for BB data (bb != nullptr), else
// the position split. Throws InputError when early_positions < 1.
QuerySplit choose_query_split(const std::vector<int32_t>& class_ids, const data::BBTask* bb, int64_t early_positions);

// --query-class FILE|IDS: a file of token ids (decimal, separated by commas, spaces or newlines; '#' starts a
// comment) or an inline comma-separated list ("3,17,42"). Every id must be in [0, vocab_size). Returns the
// sorted unique ids; InputError naming the file (and line) or the argument and what was expected otherwise.
std::vector<int32_t> parse_query_class(const std::string& arg, int64_t vocab_size);

}  // namespace qh::audit
