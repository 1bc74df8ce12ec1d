// Perplexity protocols: how a sequence longer than the window is cut into windows and which rows of each window
// are scored, so that perplexities can be compared with the tool a user knows.
//   windows    non-overlapping windows at 0, W, 2W, ...; every next token of the sequence is scored once, the
//              last row of a window predicting the first token after it (the harness's historical protocol).
//   strided:S  Hugging Face's "perplexity of fixed-length models": windows start every S tokens (S <= W), end
//              at min(start + W, L), and score only the targets that the previous window did not score
//              (targets in [max(previous end, start + 1), end)); the last window ends at the sequence end.
//              With S == W the token at each window boundary is never a target, as in that recipe.
//   half       llama.cpp's llama-perplexity: non-overlapping chunks of exactly W tokens (a shorter tail is not
//              scored), each scoring only the targets in its second half, rows [W/2, W - 1) predicting the
//              tokens W/2 + 1 .. W - 1 of the chunk; the chunk's first token is replaced by BOS when the
//              tokenizer has one (llama.cpp's add_bos), so every chunk starts as a document does.
// Row r of a window predicts sequence token start + r + 1.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qh::eval {

enum class ProtocolKind { kWindows, kStrided, kHalf };

struct Protocol {
  ProtocolKind kind = ProtocolKind::kWindows;
  int64_t stride = 0;  // kStrided only
  std::string name() const;  // "windows" | "strided:S" | "half" (what parse_protocol reads)
};

// "windows" | "strided:S" (S >= 1) | "half"; InputError naming the text otherwise.
Protocol parse_protocol(const std::string& text);

struct Window {
  size_t seq = 0;
  int64_t start = 0, end = 0;          // tokens [start, end) of the sequence
  int64_t row_begin = 0, row_end = 0;  // rows [row_begin, row_end) of the window are scored
};

// The windows of the first n sequences (sequences shorter than 2 tokens give none). InputError when
// strided's S exceeds the window or the window is shorter than 2 tokens for half.
std::vector<Window> plan_windows(const std::vector<std::vector<int32_t>>& sequences, size_t n, int64_t window,
                                 const Protocol& protocol);

}  // namespace qh::eval
