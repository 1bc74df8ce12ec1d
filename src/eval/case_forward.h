// What every evaluation that compares cases with the fp model needs besides its own scoring: the case's label,
// whether any case needs calibration, and the forward of one case on a window whose fp pass already ran.
// Shared by the perplexity evaluator and the task scorer (src/tasks), so both quantize alike.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/engine/engine.h"
#include "src/eval/evaluator.h"

namespace qh::eval {

// The case's label: its own, else "<scheme>" or "<scheme>+<protection>", then " [<method>]" unless rtn.
std::string case_label(const EvalCase& c);

// Whether any case needs calibration data (static scales, outlier channels): engine::calibrate then runs.
bool any_needs_calibration(const std::vector<EvalCase>& cases);

// The logits [T, vocab] of case `c` on tokens whose fp pass gave fp_logits and norms: the fp logits themselves
// for the unprotected fp scheme, else the case engine's forward into *q_logits (sink rows, residual norm >
// tau_tokens x median, kept in full precision when the protection has tokens).
const float* case_logits(engine::Engine& engine, const EvalCase& c, const int32_t* tokens, int64_t T,
                         const float* fp_logits, const engine::ResidualNormObserver& norms, float tau_tokens,
                         std::vector<float>* q_logits, engine::Observer* observer);

}  // namespace qh::eval
