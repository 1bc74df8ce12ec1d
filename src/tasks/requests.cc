#include "src/tasks/requests.h"

#include <algorithm>

#include "src/core/error.h"
#include "src/tasks/lm_eval_text.h"

namespace qh::tasks {

std::vector<int32_t> special_prefix(const tok::Tokenizer& tokenizer) {
  const auto bos = tok::leading_bos(tokenizer);
  return bos ? std::vector<int32_t>{*bos} : std::vector<int32_t>{};
}

Request encode_request(const tok::Tokenizer& tokenizer, const std::vector<int32_t>& prefix, const Choice& choice,
                       int64_t model_context, const std::string& where) {
  std::string context = choice.context, continuation = choice.continuation;
  Request r;
  r.tokens = prefix;
  std::vector<int32_t> cont_ids;
  if (context.empty()) {
    if (prefix.empty()) {
      const auto start = tokenizer.bos_id() ? tokenizer.bos_id() : tokenizer.eos_id();
      if (!start)
        throw InputError(where + ": empty context, and the tokenizer has neither BOS nor EOS to condition on");
      r.tokens.push_back(*start);
    }
    cont_ids = tokenizer.encode(continuation, false);
  } else {
    const size_t spaces = py_trailing_space_bytes(context);  // lm-eval: context.rstrip()
    if (spaces > 0) {
      continuation = context.substr(context.size() - spaces) + continuation;
      context.resize(context.size() - spaces);
    }
    const std::vector<int32_t> whole = tokenizer.encode(context + continuation, false);
    const std::vector<int32_t> ctx = tokenizer.encode(context, false);
    r.tokens.insert(r.tokens.end(), ctx.begin(), ctx.end());
    if (whole.size() > ctx.size()) cont_ids.assign(whole.begin() + static_cast<int64_t>(ctx.size()), whole.end());
  }
  if (cont_ids.empty())
    throw InputError(where + ": the continuation '" + choice.continuation + "' encodes to no token");
  if (static_cast<int64_t>(cont_ids.size()) > model_context)
    throw InputError(where + ": the continuation is " + std::to_string(cont_ids.size()) +
                     " tokens, longer than the model's context of " + std::to_string(model_context));
  r.tokens.insert(r.tokens.end(), cont_ids.begin(), cont_ids.end());
  r.continuation = static_cast<int64_t>(cont_ids.size());
  return r;
}

int64_t input_start(const Request& r, int64_t model_context) {
  const int64_t n_input = static_cast<int64_t>(r.tokens.size()) - 1;
  return std::max<int64_t>(0, n_input - model_context);
}

}  // namespace qh::tasks
