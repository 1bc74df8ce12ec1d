// The model-level transforms of the methods (each keeps the full-precision function; see method.h):
// norm folding, the residual / per-head / down-projection rotations, and SmoothQuant's smoothing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/model.h"
#include "src/engine/engine.h"
#include "src/methods/method.h"

namespace qh::methods {

// Folds every norm's weight into the linears that read its output (q, k, v, g_proj; gate, up; lm_head) and
// sets it to 1. LayerNorm is turned into RMSNorm: every writer of the residual stream (embeddings, positions,
// o and down projections with their biases) is centred, so the stream has zero mean and the mean subtraction
// does nothing. Refuses by name (InputError) what it cannot fold: norms with a bias.
void fold_norms(Model& m);

// The rotation of `kind` (QuaRot / SpinQuant family) on a model whose norms are folded: the residual stream
// by a randomized Hadamard (or random orthogonal) Q folded into every reader and writer, a per-head Hadamard
// between V and O, and the inverse of the online Hadamard of the down projection's input folded into w_down.
// Returns the online transforms the engine must run (down; per-head q/k for a quantized KV cache).
// `notes` receives what was left out and why (the V/O rotation under an elementwise output gate).
std::shared_ptr<engine::OnlineTransforms> rotate_model(Model& m, RotationKind kind, uint64_t seed,
                                                       std::vector<std::string>* notes);

// SmoothQuant factor of one channel: max|X_j|^alpha / max|W_j|^(1-alpha); 1 when either maximum is 0.
double smoothing_factor(double x_absmax, double w_absmax, double alpha);
// Smooths the inputs of q/k/v (+ g_proj) and gate/up (folded into the preceding norm), o (folded into v's
// output channels) and, with SwiGLU or ReLU, down (folded into up's output channels), from the per-channel max |x|
// of a calibration (CalibrationObserver on this model). `notes` receives the sites left unsmoothed.
void smooth_model(Model& m, const engine::Calibration& calib, double alpha, std::vector<std::string>* notes);

}  // namespace qh::methods
