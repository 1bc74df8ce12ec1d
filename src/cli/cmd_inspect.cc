// qharness inspect CKPT [--json [FILE]]: what a checkpoint is (the ArchSpec it maps to), every tensor it
// stores (name, dtype, shape) and, per weight matrix, the statistics that predict quantization trouble.
// Non-finite weights are reported here (other commands refuse to compute with them).
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "models/checkpoint.h"
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
  out += fmt::format("tied embeddings {}  parameters {}\n\n", s.tied_embeddings ? "yes" : "no",
                     num_params(info.model));
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
