// qharness eval CKPT [--data SPEC] [--task FILE.jsonl ...] [--tokenizer PATH] --scheme S [--scheme S2 ...]
//                    [--protect none|tokens|channels|both ...] [--window N] [--protocol P] [--stride N]
//                    [--method rtn|smoothquant|rotate|gptq|rotate+gptq ...] [--calib-data SPEC]
//                    [--calib-sequences N] [--cache DIR | --no-cache] [--threads N] [--max-memory SIZE]
//                    [--json OUT] [--quiet]
// Evaluates each scheme x protection against the full-precision model (one shared fp pass per window) and
// prints a short table; the JSON carries every metric under the ARCHITECTURE.md 2.7 names. With --task, the accuracy of
// each task (src/tasks) per case, its drop in points against fp and the paired interval of the drop.
#include <fmt/format.h>
#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <filesystem>

#include "models/checkpoint.h"
#include "models/config.h"
#include "src/core/memory.h"
#include "models/data/data_spec.h"
#include "models/train/zoo.h"
#include "reports/json_io.h"
#include "src/core/atomic_file.h"
#include "src/core/error.h"
#include "src/core/limits.h"
#include "quant/scheme.h"
#include "src/cli/command.h"
#include "src/cli/progress.h"
#include "src/eval/evaluator.h"
#include "src/tasks/checkpoint_tokenizer.h"
#include "src/tasks/layouts.h"
#include "src/tasks/task_eval.h"
#include "src/suite/convert.h"
#include "src/methods/method.h"

namespace qh::cli {

namespace {

struct EvalArgs {
  std::string checkpoint, data, json, protocol = "windows", tokenizer;
  std::vector<std::string> schemes, protections{"none"}, tasks, methods{"rtn"};
  std::string calib_data, cache, max_memory;
  int calib_sequences = 32;
  bool no_cache = false;
  int64_t window = 0, stride = 0, sequences = 0;
  int threads = 0;
  bool quiet = false, fake_quant = false;
};

// The evaluation data when --data is not given: the checkpoint recipe's data spec; for BB data with a
// different sampling seed than training, so the model is scored on sequences it has not seen.
std::string data_from_recipe(const ArchSpec& spec, const std::string& ckpt) {
  nlohmann::json recipe = nlohmann::json::parse(spec.recipe_json, nullptr, false);
  if (recipe.is_discarded() || !recipe.is_object() || !recipe.contains("data") || !recipe["data"].is_string())
    throw InputError("checkpoint " + ckpt + " has no recipe data spec: pass --data SPEC");
  const std::string d = recipe["data"].get<std::string>();
  if (d.rfind("bb:", 0) == 0 || d == "bb") {
    data::BBSpec bb = data::parse_bb_spec(d);
    bb.seed += 1000003;  // held-out sequences
    return data::format_bb_spec(bb);
  }
  return d;
}

// Calibration data of the post-training methods when --calib-data is not given: for BB recipes, another
// sampling seed than both training and evaluation (fresh sequences from the same table). Other data has no
// held-out split the harness could choose: the user names one.
std::string calibration_from_recipe(const ArchSpec& spec, const std::string& ckpt) {
  nlohmann::json recipe = nlohmann::json::parse(spec.recipe_json, nullptr, false);
  if (!recipe.is_discarded() && recipe.is_object() && recipe.contains("data") && recipe["data"].is_string()) {
    const std::string d = recipe["data"].get<std::string>();
    if (d.rfind("bb:", 0) == 0 || d == "bb") {
      data::BBSpec bb = data::parse_bb_spec(d);
      bb.seed += 2000003;  // neither the training nor the evaluation seed (+1000003)
      return data::format_bb_spec(bb);
    }
  }
  throw InputError("checkpoint " + ckpt + ": the method needs calibration data kept apart from the evaluated "
                   "data: pass --calib-data SPEC");
}

// The memory the run may use: --max-memory, else what the machine has available.
AvailableMemory memory_budget(const EvalArgs& args) {
  if (args.max_memory.empty()) return available_memory();
  return {parse_byte_size(args.max_memory, "--max-memory"), "--max-memory"};
}

// The memory estimate from config.json, printed and checked before any weight is read
// (src/engine/memory_estimate.h). Without --window the window depends on the data, read after the model: here
// the model's context bounds it, and only the part that does not depend on it is checked (the evaluator checks
// the whole once the window is known).
void check_memory_before_loading(const EvalArgs& args, const std::vector<eval::EvalCase>& cases) {
  const std::string config = (std::filesystem::path(args.checkpoint) / "config.json").string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(config, ec)) return;  // load_checkpoint names what is missing
  const ArchSpec spec = read_config(config);
  const int64_t window = args.window > 0 ? args.window : spec.context;
  const engine::MemoryEstimate need = eval::estimate_eval_memory(spec, cases, window);
  const AvailableMemory budget = memory_budget(args);
  if (!args.quiet)
    std::fprintf(stderr, "memory: about %s%s; %s available (%s)\n", need.describe(window).c_str(),
                 args.window > 0 ? "" : " at most", budget.bytes ? format_bytes(budget.bytes).c_str() : "unknown",
                 budget.bytes ? budget.source.c_str() : "no /proc/meminfo");
  if (args.window > 0) engine::check_memory_fits(need, window, budget, args.checkpoint);
  else engine::check_memory_fits(eval::estimate_eval_memory(spec, cases, 1), 1, budget, args.checkpoint);
}

std::string num(double v, const char* f = "{:.4f}") {
  return std::isfinite(v) ? fmt::format(fmt::runtime(f), v) : std::string(v > 0 ? "inf" : "-");
}

void run_perplexity(const EvalArgs& args, const Model& model, const eval::Protocol& protocol,
                    const std::vector<eval::EvalCase>& cases, nlohmann::json* out) {
  const std::string spec = args.data.empty() ? data_from_recipe(model.spec, args.checkpoint) : args.data;
  data::Dataset data = data::load_data(spec, model.spec.vocab_size, {args.checkpoint, nullptr});
  data::bound_sequences(&data, args.sequences, args.window > 0 ? args.window : model.spec.context);
  bool need_calib = false;
  for (const eval::EvalCase& c : cases) need_calib |= c.method.needs_calibration();
  std::string calib_spec;
  data::Dataset calib_data;
  if (need_calib) {
    calib_spec = args.calib_data.empty() ? calibration_from_recipe(model.spec, args.checkpoint) : args.calib_data;
    if (calib_spec == spec)
      throw InputError("--calib-data " + calib_spec + " is the evaluated data: calibration must be kept apart");
    calib_data = data::load_data(calib_spec, model.spec.vocab_size, {args.checkpoint, nullptr});
  }
  eval::EvalOptions opt;
  if (need_calib) {
    opt.method_data = &calib_data;
    opt.method_sequences = args.calib_sequences;
    train::ZooOptions zoo;  // the methods' statistics live beside the zoo's checkpoints
    zoo.cache_dir = args.cache;
    if (!args.no_cache) opt.method_cache_dir = train::resolve_cache_dir(zoo) + "/methods";
  }
  opt.window = args.window;
  opt.stride = args.stride;
  opt.protocol = protocol;
  opt.bos = data.bos;
  opt.max_sequences = args.sequences;
  opt.force_fake_quant = args.fake_quant;
  if (!args.max_memory.empty()) opt.max_memory = memory_budget(args).bytes;
  Progress progress("eval", 0, args.quiet);
  opt.progress = [&](int64_t done, int64_t total) {
    progress.set(done, fmt::format("window {}/{}", done, total));
  };
  suite::check_fp_is_finite(model, data, args.window, args.checkpoint);
  const auto started = std::chrono::steady_clock::now();
  const eval::EvalReport rep = eval::evaluate_report(model, data, cases, opt);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  progress.finish();
  if (!rep.cases.empty()) suite::require_finite_fp(rep.cases[0].metrics.nll_fp, args.checkpoint, spec);
  for (const eval::CaseResult& c : rep.cases) {
    if (!std::isfinite(c.metrics.nll))
      std::fprintf(stderr, "warning: %s: the quantized model's log-probabilities are not finite (it overflows); its "
                           "metrics are NaN\n", c.label.c_str());
  }

  if (!args.quiet) {
    std::printf("%s  data %s  protocol %s: %lld windows of %lld, %lld scored tokens, fp ppl %s\n",
                args.checkpoint.c_str(), spec.c_str(), rep.protocol.c_str(), static_cast<long long>(rep.windows),
                static_cast<long long>(rep.window), static_cast<long long>(rep.scored_tokens),
                rep.cases.empty() ? "-" : num(rep.cases[0].metrics.ppl_fp).c_str());
    std::printf("%-28s %10s %10s %10s %10s %8s %8s  %s\n", "case", "ppl", "delta_ppl", "kld_mean", "kld_p99",
                "top1", "sqnr_db", "path");
    for (const eval::CaseResult& c : rep.cases) {
      const std::string path = c.site_path[static_cast<int>(Site::kQ)] +
                               (c.int8_impl.empty() ? "" : " (" + c.int8_impl + ")");
      std::printf("%-28s %10s %10s %10s %10s %8s %8s  %s\n", c.label.c_str(), num(c.metrics.ppl).c_str(),
                  num(c.metrics.delta_ppl).c_str(), num(c.metrics.kld_mean, "{:.5f}").c_str(),
                  num(c.metrics.kld_p99, "{:.5f}").c_str(), num(c.metrics.top1_agree, "{:.4f}").c_str(),
                  num(c.sqnr_db, "{:.2f}").c_str(), path.c_str());
    }
    // Throughput of the whole evaluation (engines built, the fp pass, every case's pass and its metrics), so a
    // user sees what a run of this size costs on this machine; per-pass times are in --json.
    const int64_t passes = 1 + static_cast<int64_t>(rep.cases.size());
    const double tokens = static_cast<double>(rep.windows * rep.window * passes);
    std::printf("time: %.2f s on %d thread%s, %lld passes (fp + %zu case%s) over %lld windows of %lld: %s tokens/s\n",
                wall, omp_get_max_threads(), omp_get_max_threads() == 1 ? "" : "s", static_cast<long long>(passes),
                rep.cases.size(), rep.cases.size() == 1 ? "" : "s", static_cast<long long>(rep.windows),
                static_cast<long long>(rep.window), wall > 0 ? fmt::format("{:.0f}", tokens / wall).c_str() : "-");
  }
  nlohmann::json& j = *out;
  j["data"] = spec;
  j["tokenizer"] = data.tokenizer;
  j["protocol"] = rep.protocol;
  j["window"] = rep.window;
  j["stride"] = rep.stride;
  j["windows"] = rep.windows;
  j["scored_tokens"] = rep.scored_tokens;
  j["f32_impl"] = rep.f32_impl;
  j["fp_seconds"] = rep.fp_seconds;
  if (need_calib)
    j["method_calibration"] = {{"data", calib_spec},
                               {"sequences", std::min<int64_t>(args.calib_sequences,
                                                               static_cast<int64_t>(calib_data.sequences.size()))}};
  nlohmann::json arr = nlohmann::json::array();
  for (const eval::CaseResult& c : rep.cases) arr.push_back(c.to_json());
  j["cases"] = arr;
}

std::string interval(double lo, double hi) {
  return std::isfinite(lo) ? fmt::format("[{:+.2f}, {:+.2f}]", lo, hi) : std::string("-");
}

void run_tasks(const EvalArgs& args, const Model& model, const std::vector<tasks::Task>& task_files,
               const std::vector<eval::EvalCase>& cases, nlohmann::json* out) {
  const auto tokenizer = tasks::checkpoint_tokenizer(args.checkpoint, model, args.tokenizer);
  tasks::TaskOptions opt;
  opt.force_fake_quant = args.fake_quant;
  Progress progress("tasks", 0, args.quiet);
  opt.progress = [&](int64_t done, int64_t total) { progress.set(done, fmt::format("item {}/{}", done, total)); };
  const tasks::TasksReport rep = tasks::evaluate_tasks(model, *tokenizer, task_files, cases, opt);
  progress.finish();
  if (!args.quiet) {
    std::printf("%s  tokenizer %s\n", args.checkpoint.c_str(), rep.tokenizer.c_str());
    std::printf("%-16s %-24s %7s %7s %7s %7s %9s %17s %9s %7s\n", "task", "case", "acc", "stderr", "acc_n",
                "stderr", "acc_drop", "95% interval", "norm_drop", "p");
    for (const tasks::TaskReport& t : rep.tasks) {
      for (const tasks::TaskCaseResult& c : t.cases) {
        const tasks::TaskMetrics& m = c.metrics;
        std::printf("%-16s %-24s %7s %7s %7s %7s %9s %17s %9s %7s\n", t.name.c_str(), c.label.c_str(),
                    num(m.acc.mean).c_str(), num(m.acc.stderr_).c_str(),
                    m.has_norm ? num(m.acc_norm.mean).c_str() : "-",
                    m.has_norm ? num(m.acc_norm.stderr_).c_str() : "-", num(m.acc_drop.drop, "{:+.2f}").c_str(),
                    interval(m.acc_drop.lo, m.acc_drop.hi).c_str(),
                    m.has_norm ? num(m.acc_norm_drop.drop, "{:+.2f}").c_str() : "-",
                    num(m.acc_drop.p_mcnemar, "{:.3f}").c_str());
      }
    }
  }
  nlohmann::json& j = *out;
  j["tokenizer"] = rep.tokenizer;
  j["task_protocol"] = tasks::kTaskProtocol;
  nlohmann::json arr = nlohmann::json::array();
  for (const tasks::TaskReport& t : rep.tasks) {
    nlohmann::json tj;
    tj["task"] = t.name;
    tj["file"] = t.path;
    tj["layout"] = t.layout;
    tj["items"] = t.items;
    tj["requests"] = t.requests;
    nlohmann::json cs = nlohmann::json::array();
    for (const tasks::TaskCaseResult& c : t.cases) cs.push_back(c.to_json());
    tj["cases"] = cs;
    arr.push_back(tj);
  }
  j["tasks"] = arr;
}

void run_eval(const EvalArgs& args, int* exit_code) {
  if (checked_threads(args.threads, "--threads") > 0) omp_set_num_threads(args.threads);
  if (args.sequences < 0)
    throw InputError("--sequences " + std::to_string(args.sequences) + ": expected 0 (all) or a positive count");
  if (args.window < 0 || args.stride < 0) throw InputError("--window and --stride must be >= 0 (0: the default)");
  if (args.schemes.empty()) throw InputError("eval: give at least one --scheme (named: W8A8, W4A4, ...)");
  if (args.calib_sequences < 1) throw InputError("--calib-sequences must be at least 1");
  std::vector<methods::MethodSpec> method_specs;
  for (const std::string& m : args.methods) method_specs.push_back(methods::parse_method(m, "--method"));
  std::vector<eval::EvalCase> cases;
  for (const methods::MethodSpec& m : method_specs)
    for (const std::string& s : args.schemes) {
      const Scheme scheme = parse_scheme(s);
      for (const std::string& p : args.protections) cases.push_back({"", scheme, engine::parse_protection(p), m});
    }
  if (!args.tasks.empty())
    for (const methods::MethodSpec& m : method_specs)
      if (!m.is_rtn())
        throw InputError("--method " + m.label() + " with --task: the task scorer does not apply post-training "
                         "methods (evaluate them on --data)");
  const eval::Protocol protocol = eval::parse_protocol(args.protocol);
  std::vector<tasks::Task> task_files;
  for (const std::string& path : args.tasks) task_files.push_back(tasks::read_task_file(path));
  check_memory_before_loading(args, cases);
  const Model model = load_checkpoint(args.checkpoint);
  nlohmann::json j;
  reports::put_schema_header(&j, "eval");  // reports/json_io.h: one schema version for every JSON file
  j["checkpoint"] = args.checkpoint;
  j["threads"] = omp_get_max_threads();
  if (!args.data.empty() || task_files.empty()) run_perplexity(args, model, protocol, cases, &j);
  if (!task_files.empty()) run_tasks(args, model, task_files, cases, &j);
  if (!args.json.empty()) write_file_atomic(args.json, j.dump(2) + "\n");
  *exit_code = kExitOk;
}

}  // namespace

void add_eval(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand("eval", "Evaluate quantization schemes against the full-precision model");
  cmd->add_option("checkpoint", args->checkpoint, "checkpoint directory")->required();
  cmd->add_option("--data", args->data,
                  "data spec (bb:..., tokens:PATH, text:PATH); default: the recipe's data, unless --task is given");
  cmd->add_option("--task", args->tasks,
                  "multiple-choice / cloze task file (JSONL: HellaSwag, ARC, PIQA, WinoGrande, LAMBADA or "
                  "{context, choices, gold}); repeatable");
  cmd->add_option("--tokenizer", args->tokenizer,
                  "tokenizer of the task text (a checkpoint folder, tokenizer.json or tokenizer.model); default: "
                  "the checkpoint's, or bytes for a byte-level model");
  cmd->add_option("--scheme", args->schemes, "scheme (W8A8, W4A4, W4A8-kv4, ...); repeatable")->required();
  cmd->add_option("--protect", args->protections, "none | tokens | channels | both; repeatable")
      ->capture_default_str();
  cmd->add_option("--method", args->methods,
                  "post-training method: rtn, smoothquant[:alpha=A], rotate[:seed=S,kind=hadamard|random], "
                  "gptq[:damp=D,act_order=0|1,block=B,group=G], rotate+gptq; repeatable")
      ->capture_default_str();
  cmd->add_option("--calib-data", args->calib_data,
                  "calibration data of smoothquant / gptq, kept apart from --data (default for BB checkpoints: "
                  "the recipe's data with another seed)");
  cmd->add_option("--calib-sequences", args->calib_sequences, "calibration sequences of the methods")
      ->capture_default_str();
  cmd->add_option("--cache", args->cache,
                  "cache of the methods' calibration statistics, under DIR/methods (default: $QH_CACHE or "
                  ".cache/qharness, as the zoo)");
  cmd->add_flag("--no-cache", args->no_cache, "calibrate the methods without reading or writing the cache");
  cmd->add_option("--window", args->window, "tokens per window (default: the context or the sequence length)");
  cmd->add_option("--protocol", args->protocol,
                  "perplexity protocol: windows (non-overlapping), strided:S (Hugging Face: windows every S "
                  "tokens, only new tokens scored) or half (llama.cpp: second half of each window)")
      ->capture_default_str();
  cmd->add_option("--stride", args->stride, "shorthand for --protocol strided:N");
  cmd->add_option("--sequences", args->sequences, "evaluate only the first N sequences");
  cmd->add_option("--threads", args->threads, "OpenMP threads (default: all)");
  cmd->add_option("--max-memory", args->max_memory,
                  "memory the evaluation may use, e.g. 7G (default: MemAvailable of /proc/meminfo, or the cgroup's "
                  "limit less its usage when smaller); the estimate printed before loading must fit, else exit 2");
  cmd->add_option("--json", args->json, "write every metric as JSON to this file");
  cmd->add_flag("--quiet", args->quiet, "no table, no progress");
  cmd->add_flag("--fake-quant", args->fake_quant, "run every quantized site through the fake-quant path");
  cmd->callback([args, exit_code] { run_eval(*args, exit_code); });
}

}  // namespace qh::cli
