#include "models/arch.h"

#include <cmath>

namespace qh {

const char* to_string(NormKind k) { return k == NormKind::kLayerNorm ? "layernorm" : "rmsnorm"; }

const char* to_string(PosKind k) {
  switch (k) {
    case PosKind::kLearned: return "learned";
    case PosKind::kRope: return "rope";
    case PosKind::kNone: return "none";
  }
  return "?";
}

const char* to_string(MlpKind k) {
  switch (k) {
    case MlpKind::kRelu: return "relu";
    case MlpKind::kGelu: return "gelu";
    case MlpKind::kGeluExact: return "gelu_exact";
    case MlpKind::kSwiGLU: return "swiglu";
    case MlpKind::kGeGLU: return "geglu";
  }
  return "?";
}

const char* to_string(QkNorm k) {
  switch (k) {
    case QkNorm::kNone: return "none";
    case QkNorm::kPerHead: return "head";
    case QkNorm::kFull: return "full";
  }
  return "?";
}

float ArchSpec::score_scale() const {
  return attn_scale > 0.0f ? attn_scale : 1.0f / std::sqrt(static_cast<float>(head_dim));
}

const char* to_string(AttnKind k) {
  switch (k) {
    case AttnKind::kSoftmax: return "softmax";
    case AttnKind::kRelu: return "relu";
    case AttnKind::kSink: return "sink";
    case AttnKind::kGated: return "gated";
    case AttnKind::kClipped: return "clipped";
  }
  return "?";
}

const char* to_string(GateKind k) { return k == GateKind::kElementwise ? "elementwise" : "head"; }

}  // namespace qh
