// Post-training methods (an axis orthogonal to the scheme): transforms of a loaded model's weights, applied
// before the engine builds its quantized linears, that make the same scheme lose less.
//   rtn          round-to-nearest, the scheme as is (no transform)
//   smoothquant  per-channel smoothing s_j = max|X_j|^alpha / max|W_j|^(1-alpha) (arXiv 2211.10438),
//                folded into the preceding norm (q/k/v, gate/up) or linear (o via v, down via up)
//   rotate       QuaRot / SpinQuant family (arXiv 2404.00456, 2405.16406): norm weights folded into the
//                following linears, a randomized Hadamard rotation of the residual stream folded into the
//                weights, a per-head Hadamard between V and O, an online Hadamard before the down
//                projection, and with a quantized KV cache an online per-head Hadamard of Q and K after RoPE;
//                kind=random uses random orthogonal matrices instead of Hadamard ones
//   gptq         GPTQ weights (arXiv 2210.17323) from per-layer Hessians of calibration activations
// and the combinations smoothquant+gptq and rotate+gptq (the QuaRot recipe).
//
// Text syntax: components joined by '+', each "name" or "name:key=value,key=value":
//   smoothquant:alpha=0.5        alpha in [0, 1]
//   rotate:seed=0,kind=hadamard  kind hadamard | random ("rotate=random" is kind=random)
//   gptq:damp=0.01,act_order=0,block=128,group=0
//                                damp: fraction of the mean Hessian diagonal added to it; act_order: columns
//                                by decreasing Hessian diagonal; block: columns per lazy batch update;
//                                group > 0: weights in groups of that many input channels (overrides the
//                                scheme's weight granularity), 0: the scheme's
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qh::methods {

enum class RotationKind { kNone, kHadamard, kRandom };

struct MethodSpec {
  bool smoothquant = false;
  double alpha = 0.5;
  RotationKind rotate = RotationKind::kNone;
  uint64_t seed = 0;
  bool gptq = false;
  double damp = 0.01;
  bool act_order = false;
  int64_t block = 128;
  int64_t group = 0;

  bool is_rtn() const { return !smoothquant && rotate == RotationKind::kNone && !gptq; }
  // Whether the method reads calibration activations (smoothquant, gptq).
  bool needs_calibration() const { return smoothquant || gptq; }
  // Canonical text: "rtn", "rotate:seed=0", "rotate:seed=0+gptq:damp=0.01,act_order=0,block=128,group=0", ...
  // (parses back to an equal spec; the short default forms are shown by label()).
  std::string name() const;
  // Short form for tables: parameters that differ from the defaults only ("rotate+gptq", "smoothquant:alpha=0.8").
  std::string label() const;
};

// Parses the text syntax above; InputError naming `where`, the component and what was expected.
MethodSpec parse_method(const std::string& text, const std::string& where = "method");

bool operator==(const MethodSpec& a, const MethodSpec& b);

}  // namespace qh::methods
