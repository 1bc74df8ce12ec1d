#include "src/eval/case_forward.h"

#include <algorithm>

namespace qh::eval {

std::string case_label(const EvalCase& c) {
  if (!c.label.empty()) return c.label;
  const std::string p = c.protection.name();
  return (p == "none" ? c.scheme.name : c.scheme.name + "+" + p) +
         (c.method.is_rtn() ? std::string() : " [" + c.method.label() + "]");
}

bool any_needs_calibration(const std::vector<EvalCase>& cases) {
  return std::any_of(cases.begin(), cases.end(),
                     [](const EvalCase& c) { return engine::needs_calibration(c.scheme, c.protection); });
}

const float* case_logits(engine::Engine& engine, const EvalCase& c, const int32_t* tokens, int64_t T,
                         const float* fp_logits, const engine::ResidualNormObserver& norms, float tau_tokens,
                         std::vector<float>* q_logits, engine::Observer* observer) {
  const engine::Protection& p = c.protection;
  if (c.scheme.is_fp() && p.none()) return fp_logits;
  const auto mask = p.tokens ? norms.sink_tokens(tau_tokens) : std::vector<uint8_t>();
  q_logits->resize(static_cast<size_t>(T * engine.model().spec.vocab_size));
  engine.forward(tokens, T, q_logits->data(), observer, p.tokens ? mask.data() : nullptr);
  return q_logits->data();
}

}  // namespace qh::eval
