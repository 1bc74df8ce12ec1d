// Task text -> token requests, as lm-evaluation-harness encodes them: trailing spaces of the context move to the
// continuation, the whole string context + continuation is encoded once and the continuation tokens are those
// of the whole beyond the encoded context (so a merge across the boundary is what the model would see).
// Texts are encoded without special tokens; the tokens the tokenizer itself puts first (add_special_tokens:
// the zoo's and Llama's BOS, nothing for GPT-2) precede every request, as lm-eval's add_bos_token does. An
// empty context with no such prefix is conditioned on the tokenizer's BOS, else its EOS (lm-eval's
// prefix_token_id).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/tokenizer/tokenizer.h"
#include "src/tasks/task.h"

namespace qh::tasks {

struct Request {
  std::vector<int32_t> tokens;  // prefix + context + continuation
  int64_t continuation = 0;     // the last `continuation` tokens are scored
};

// The tokens the tokenizer adds in front of a text with add_special_tokens (its BOS), or none.
std::vector<int32_t> special_prefix(const tok::Tokenizer& tokenizer);

// `where` (file:line) names the item in errors: a continuation that encodes to no token, or one longer than
// the model's context.
Request encode_request(const tok::Tokenizer& tokenizer, const std::vector<int32_t>& prefix, const Choice& choice,
                       int64_t model_context, const std::string& where);

// The model's input for a request: tokens without the last one, keeping only the last `model_context` of them
// (lm-eval's left truncation). Returns the index of the first input token in request.tokens.
int64_t input_start(const Request& r, int64_t model_context);

}  // namespace qh::tasks
