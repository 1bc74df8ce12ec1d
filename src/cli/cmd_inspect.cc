// qharness inspect CKPT [--json [FILE]]: what a checkpoint is (the ArchSpec it maps to), every tensor it
// stores (name, dtype, shape) and, per weight matrix, the statistics that predict quantization trouble.
// Non-finite weights are reported here (other commands refuse to compute with them).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "models/checkpoint.h"
#include "models/tensor_layout.h"
#include "models/weight_stats.h"
#include "src/core/atomic_file.h"
#include "src/core/error.h"
#include "src/cli/command.h"

namespace qh::cli {

namespace {

using nlohmann::json;

json finite_or_null(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }

std::string attention_desc(const AttnSpec& a) {
  switch (a.kind) {
    case AttnKind::kGated: return fmt::format("gated ({})", to_string(a.gate));
    case AttnKind::kClipped: return fmt::format("clipped (zeta {:g}, gamma {:g})", a.clip_zeta, a.clip_gamma);
    default: return to_string(a.kind);
  }
}

// Layers "0-3, 6" from flags (empty: every layer).
std::string layer_ranges(const std::vector<uint8_t>& flags, int num_layers) {
  std::string out;
  for (int l = 0; l < num_layers;) {
    if (!flags.empty() && !flags[l]) {
      ++l;
      continue;
    }
    int e = l;
    while (e + 1 < num_layers && (flags.empty() || flags[e + 1])) ++e;
    out += (out.empty() ? "" : ", ") + (e > l ? fmt::format("{}-{}", l, e) : std::to_string(l));
    l = e + 1;
  }
  return out.empty() ? "none" : out;
}

// The mitigations a checkpoint carries (attention variants other than plain softmax), every layer having them.
struct Mitigation {
  std::string kind, what;
};
std::vector<Mitigation> mitigations(const ArchSpec& s) {
  switch (s.attn.kind) {
    case AttnKind::kSink: return {{"sink", "learnable attention-sink logit per head (self_attn.sinks)"}};
    case AttnKind::kGated:
      return {{"gated", fmt::format("sigmoid output gate on attention, {} ({})", to_string(s.attn.gate),
                                    s.architecture == "QHarnessForCausalLM" ? "self_attn.g_proj"
                                                                            : "gate half of q_proj, attn_output_gate")}};
    case AttnKind::kClipped: return {{"clipped", attention_desc(s.attn)}};
    case AttnKind::kRelu: return {{"relu", "ReLU attention divided by the query position"}};
    case AttnKind::kSoftmax: return {};
  }
  return {};
}

// Files the tensors come from and their dtypes.
struct Storage {
  std::vector<std::string> files;
  std::map<std::string, int64_t> dtypes;  // dtype -> tensors
};
Storage storage_of(const CheckpointInfo& info) {
  Storage st;
  for (const StoredTensor& t : info.tensors) {
    if (std::find(st.files.begin(), st.files.end(), t.file) == st.files.end()) st.files.push_back(t.file);
    ++st.dtypes[to_string(t.dtype)];
  }
  std::sort(st.files.begin(), st.files.end());
  return st;
}

// Fused tensors of layer 0 (the same in every layer) and the canonical weights they split into on load. The
// engine runs the parts that share an input as one GEMM again (q|k|v, gate|up), with per-output-channel
// weight scales, so splitting changes no quantized value.
struct FusedTensor {
  std::string tensor;
  int parts = 0;
  bool per_head = false;  // interleaved per head (GPT-NeoX query_key_value, a gated q_proj)
};
std::vector<FusedTensor> fused_tensors(const CheckpointInfo& info) {
  Model scratch;
  scratch.spec = info.model.spec;
  std::string prefix;
  for (const StoredTensor& t : info.tensors)
    if (t.name.rfind("transformer.", 0) == 0) prefix = "transformer.";
  std::vector<FusedTensor> out;
  for (const TensorSlot& slot : file_layout(scratch.spec, &scratch, prefix)) {
    const bool layer0 = slot.name.find("layers.0.") != std::string::npos || slot.name.find("h.0.") != std::string::npos;
    if (layer0 && slot.targets.size() > 1 && slot.shape.size() == 2)
      out.push_back({slot.name, static_cast<int>(slot.targets.size()), slot.groups > 1});
  }
  return out;
}

json block_json(const ArchSpec& s) {
  json b = {{"pre_norm", s.pre_norm},
            {"post_norm", s.post_norm},
            {"parallel_residual", s.parallel_residual},
            {"qk_norm", to_string(s.qk_norm)},
            {"rotary_dims", s.positions == PosKind::kRope ? s.rotary_dims() : 0},
            {"score_scale", s.score_scale()},
            {"attn_softcap", s.attn_softcap},
            {"final_softcap", s.final_softcap},
            {"embed_scale", s.embed_scale},
            {"sliding_window", s.sliding_window}};
  json layers = json::array();
  for (int l = 0; l < s.num_layers; ++l)
    if (s.window_of(l) > 0) layers.push_back(l);
  b["sliding_layers"] = layers;
  return b;
}

json to_json(const CheckpointInfo& info, const std::vector<WeightStats>& stats) {
  const ArchSpec& s = info.model.spec;
  json attention_params = {{"variant", to_string(s.attn.kind)}};
  if (s.attn.kind == AttnKind::kGated) attention_params["gate"] = to_string(s.attn.gate);
  if (s.attn.kind == AttnKind::kClipped) {
    attention_params["zeta"] = s.attn.clip_zeta;
    attention_params["gamma"] = s.attn.clip_gamma;
  }
  json j = {{"checkpoint", info.dir},
            {"architecture", s.architecture},
            {"num_layers", s.num_layers},
            {"d_model", s.d_model},
            {"num_heads", s.num_heads},
            {"num_kv_heads", s.num_kv_heads},
            {"head_dim", s.head_dim},
            {"d_ff", s.d_ff},
            {"vocab_size", s.vocab_size},
            {"context", s.context},
            {"norm", to_string(s.norm)},
            {"positions", to_string(s.positions)},
            {"mlp", to_string(s.mlp)},
            {"attention", to_string(s.attn.kind)},
            {"attention_params", attention_params},
            {"tied_embeddings", s.tied_embeddings},
            {"num_params", num_params(info.model)}};
  j["block"] = block_json(s);
  json mit = json::array();
  for (const Mitigation& m : mitigations(s)) {
    json layers = json::array();
    for (int l = 0; l < s.num_layers; ++l) layers.push_back(l);
    mit.push_back({{"kind", m.kind}, {"description", m.what}, {"layers", layers}});
  }
  j["mitigations"] = mit;
  json fused = json::array();
  for (const FusedTensor& f : fused_tensors(info))
    fused.push_back({{"tensor", f.tensor}, {"parts", f.parts}, {"per_head", f.per_head}});
  j["fused_tensors"] = fused;
  const Storage st = storage_of(info);
  j["files"] = st.files;
  j["sharded"] = st.files.size() > 1;
  j["dtypes"] = st.dtypes;
  json tensors = json::array();
  for (const StoredTensor& t : info.tensors)
    tensors.push_back({{"name", t.name}, {"dtype", to_string(t.dtype)}, {"shape", t.shape}, {"file", t.file}});
  j["tensors"] = tensors;
  json weights = json::array();
  int64_t nonfinite = 0;
  for (const WeightStats& w : stats) {
    weights.push_back({{"name", w.name},
                       {"shape", w.shape},
                       {"absmax", finite_or_null(w.absmax)},
                       {"channel_ratio", finite_or_null(w.channel_ratio)},
                       {"kurtosis", finite_or_null(w.kurtosis)},
                       {"nonfinite", w.nonfinite}});
    nonfinite += w.nonfinite;
  }
  j["weights"] = weights;
  j["nonfinite_total"] = nonfinite;
  return j;
}

std::string shape_text(const std::vector<int64_t>& s) { return shape_str(s); }

void print_table(const CheckpointInfo& info, const std::vector<WeightStats>& stats) {
  const ArchSpec& s = info.model.spec;
  std::string out;
  out += fmt::format("checkpoint   {}\narchitecture {}\n", info.dir, s.architecture);
  out += fmt::format("layers {}  d_model {}  heads {}  kv_heads {}  head_dim {}  d_ff {}\n", s.num_layers,
                     s.d_model, s.num_heads, s.num_kv_heads, s.head_dim, s.d_ff);
  out += fmt::format("vocab {}  context {}  norm {}{}  positions {}  mlp {}  attention {}\n", s.vocab_size,
                     s.context, to_string(s.norm), s.norm_bias ? "+bias" : "", to_string(s.positions),
                     to_string(s.mlp), attention_desc(s.attn));
  out += fmt::format("tied embeddings {}  parameters {}\n", s.tied_embeddings ? "yes" : "no",
                     num_params(info.model));
  out += fmt::format("block        {}{}{}, qk norm {}, rotary dims {}, score scale {:g}\n",
                     s.parallel_residual ? "parallel residual, " : "",
                     s.pre_norm ? "pre-norm" : "no pre-norm", s.post_norm ? " + post-norm" : "", to_string(s.qk_norm),
                     s.positions == PosKind::kRope ? s.rotary_dims() : 0, s.score_scale());
  if (s.attn_softcap > 0 || s.final_softcap > 0 || s.embed_scale != 1.0f)
    out += fmt::format("scaling      attention soft-cap {:g}, final soft-cap {:g}, embeddings x {:g}\n", s.attn_softcap,
                       s.final_softcap, s.embed_scale);
  if (s.sliding_window > 0) {
    std::vector<uint8_t> flags(s.num_layers);
    for (int l = 0; l < s.num_layers; ++l) flags[l] = s.window_of(l) > 0;
    out += fmt::format("sliding      window {} in layers {}\n", s.sliding_window, layer_ranges(flags, s.num_layers));
  }
  const std::vector<Mitigation> mit = mitigations(s);
  if (mit.empty()) out += "mitigations  none (softmax attention)\n";
  for (const Mitigation& m : mit)
    out += fmt::format("mitigations  {} in layers {}: {}\n", m.kind, layer_ranges({}, s.num_layers), m.what);
  for (const FusedTensor& f : fused_tensors(info))
    out += fmt::format("fused        {} split into {} weights{} on load; quantized as one GEMM with "
                       "per-output-channel scales\n", f.tensor, f.parts, f.per_head ? " (per head)" : "");
  const Storage st = storage_of(info);
  std::string dtypes;
  for (const auto& [dt, n] : st.dtypes) dtypes += fmt::format("{}{} x {}", dtypes.empty() ? "" : ", ", dt, n);
  out += fmt::format("storage      {} ({} file{}{}), dtypes {}\n\n", st.files.size() > 1 ? "sharded" : "single file",
                     st.files.size(), st.files.size() > 1 ? "s" : "",
                     st.files.size() > 1 ? ": " + fmt::format("{}", fmt::join(st.files, ", ")) : "", dtypes);
  size_t width = 4;
  for (const StoredTensor& t : info.tensors) width = std::max(width, t.name.size());
  for (const WeightStats& w : stats) width = std::max(width, w.name.size());
  out += fmt::format("{:<{}}  {:<5}  {}\n", "tensor", width, "dtype", "shape");
  for (const StoredTensor& t : info.tensors)
    out += fmt::format("{:<{}}  {:<5}  {}\n", t.name, width, to_string(t.dtype), shape_text(t.shape));
  out += fmt::format("\n{:<{}}  {:>10}  {:>13}  {:>10}  {:>9}\n", "weight matrix", width, "absmax",
                     "max/med chan", "kurtosis", "nonfinite");
  int64_t nonfinite = 0;
  for (const WeightStats& w : stats) {
    out += fmt::format("{:<{}}  {:>10.4g}  {:>13.4g}  {:>10.4g}  {:>9}\n", w.name, width, w.absmax,
                       w.channel_ratio, w.kurtosis, w.nonfinite);
    nonfinite += w.nonfinite;
  }
  if (nonfinite > 0)
    out += fmt::format("\nwarning: {} non-finite weight values; commands that compute with this checkpoint will "
                       "refuse it\n", nonfinite);
  std::fputs(out.c_str(), stdout);
}

}  // namespace

void add_inspect(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("inspect", "Architecture, tensors and weight outlier statistics of a checkpoint");
  auto ckpt = std::make_shared<std::string>();
  auto json_path = std::make_shared<std::string>();
  cmd->add_option("CKPT", *ckpt, "Checkpoint directory (config.json + model.safetensors)")->required();
  auto* json_opt = cmd->add_option("--json", *json_path,
                                   "Write JSON: to FILE, or to stdout (instead of the table) without FILE")
                       ->expected(0, 1);
  cmd->callback([ckpt, json_path, json_opt, exit_code] {
    LoadOptions options;
    options.allow_nonfinite = true;  // reported, not rejected
    const CheckpointInfo info = inspect_checkpoint(*ckpt, options);
    const std::vector<WeightStats> stats = model_weight_stats(info.model);
    const bool want_json = json_opt->count() > 0;
    if (want_json && (json_path->empty() || *json_path == "-")) {
      std::fputs((to_json(info, stats).dump(2) + "\n").c_str(), stdout);
    } else {
      if (want_json) write_file_atomic(*json_path, to_json(info, stats).dump(2) + "\n");
      print_table(info, stats);
    }
    *exit_code = kExitOk;
  });
}

}  // namespace qh::cli
