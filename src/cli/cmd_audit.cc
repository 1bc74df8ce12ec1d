// qharness audit CKPT [--data SPEC] [--scheme S ...] [--out DIR] [--max-memory SIZE]: the per-layer outlier audit
// and the attribution of quantization loss to sink tokens and outlier channels. Writes audit.json, audit.md and
// audit.html. Before any weight is read, the memory the audit will hold is estimated from config.json and the
// data (src/audit/audit.h), printed, and an audit that cannot fit is refused (exit 2).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <omp.h>

#include "models/checkpoint.h"
#include "models/config.h"
#include "models/data/data_spec.h"
#include "src/core/error.h"
#include "src/core/limits.h"
#include "src/core/memory.h"
#include "src/audit/audit.h"
#include "src/audit/audit_report.h"
#include "src/audit/query_split.h"
#include "src/cli/command.h"
#include "src/cli/progress.h"
#include "src/suite/convert.h"

namespace qh::cli {
namespace {

struct AuditArgs {
  std::string checkpoint, data, out = "audit", query_class, max_memory;
  std::vector<std::string> schemes;
  int threads = 0;
  int64_t window = 0, max_sequences = 0, early_positions = 16;
  double dormant_threshold = 0.89, report_tau_channels = 20.0;
  engine::OutlierSettings outliers;
  bool no_attribution = false, no_sensitivity = false, quiet = false;
};

// The memory the audit may use: --max-memory, else what the machine has available (as eval).
AvailableMemory memory_budget(const AuditArgs& a) {
  if (a.max_memory.empty()) return available_memory();
  return {parse_byte_size(a.max_memory, "--max-memory"), "--max-memory"};
}

const char* const kMemoryHint =
    "audit fewer schemes, skip the sensitivities (--no-sensitivity) or the attribution (--no-attribution), use a "
    "shorter --window or fewer --max-seqs, or set --max-memory";

void run(const AuditArgs& a) {
  if (checked_threads(a.threads, "--threads") > 0) omp_set_num_threads(a.threads);
  if (a.max_sequences < 0)
    throw InputError("--max-seqs " + std::to_string(a.max_sequences) + ": expected 0 (all) or a positive count");
  if (a.window < 0) throw InputError("--window must be >= 0 (0: the default)");
  std::vector<Scheme> schemes;
  for (const std::string& s : a.schemes.empty() ? std::vector<std::string>{"W8A8", "W4A4"} : a.schemes)
    schemes.push_back(parse_scheme(s));
  const AvailableMemory budget = memory_budget(a);
  // The architecture from config.json, without reading any weight: the memory estimate and the data need it.
  std::error_code ec;
  if (!std::filesystem::is_directory(a.checkpoint, ec)) (void)load_checkpoint(a.checkpoint);  // names the problem
  const ArchSpec arch = read_config((std::filesystem::path(a.checkpoint) / "config.json").string());
  if (a.window > arch.context)
    throw InputError("audit: window " + std::to_string(a.window) + " is longer than the model's context of " +
                     std::to_string(arch.context));
  audit::AuditOptions o;
  o.window = a.window;
  o.max_sequences = a.max_sequences;
  o.dormant_threshold = a.dormant_threshold;
  if (!a.query_class.empty()) o.query_class = audit::parse_query_class(a.query_class, arch.vocab_size);
  o.early_positions = a.early_positions;
  o.report_tau_channels = a.report_tau_channels;
  o.outliers = a.outliers;
  o.attribution = !a.no_attribution;
  o.site_sensitivity = !a.no_sensitivity;
  o.layer_sensitivity = !a.no_sensitivity;

  // What does not depend on the data (the window, when --window is given) is checked before the data is read;
  // the whole estimate once the data fixes the window and the scored tokens, before the weights are read.
  audit::AuditExtent extent;
  extent.window = a.window > 0 ? a.window : 1;
  engine::check_memory_fits(audit::estimate_audit_memory(arch, schemes, o, extent), extent.window, budget,
                            a.checkpoint, 0, kMemoryHint);
  std::string spec = a.data;
  if (spec.empty()) {
    spec = data::default_eval_spec(arch.recipe_json);
    if (spec.empty())
      throw InputError("audit: --data is required: the checkpoint '" + a.checkpoint +
                       "' has no training recipe naming its task (e.g. --data bb:seed=7,seqs=64)");
  }
  data::Dataset data = data::load_data(spec, arch.vocab_size, {a.checkpoint, nullptr});
  data::bound_sequences(&data, a.max_sequences, a.window > 0 ? a.window : arch.context);
  extent = audit::audit_extent(arch, data, o);
  const engine::MemoryEstimate need = audit::estimate_audit_memory(arch, schemes, o, extent);
  if (!a.quiet)
    std::fprintf(stderr, "memory: about %s; %s available (%s)\n", need.describe(extent.window).c_str(),
                 budget.bytes ? format_bytes(budget.bytes).c_str() : "unknown",
                 budget.bytes ? budget.source.c_str() : "no /proc/meminfo");
  engine::check_memory_fits(need, extent.window, budget, a.checkpoint, 0, kMemoryHint);
  const Model model = load_checkpoint(a.checkpoint);

  auto progress = std::make_shared<Progress>("audit", 0, a.quiet);
  o.progress = [progress](int64_t done, int64_t total) {
    progress->set(done, std::to_string(done) + "/" + std::to_string(total) + " windows");
  };
  suite::check_fp_is_finite(model, data, a.window, a.checkpoint);
  const audit::AuditResult r = audit::run_audit(model, data, schemes, o);
  progress->finish();
  suite::require_finite_fp(r.fp.nll_fp, a.checkpoint, spec);
  const std::vector<std::string> paths = audit::write_audit_dir(a.out, r);
  if (a.quiet) return;
  std::printf("audit of %s on %s: %lld tokens, fp ppl %.4g\n", a.checkpoint.c_str(), spec.c_str(),
              static_cast<long long>(r.tokens), r.fp.ppl_fp);
  double peak = 0, sink = 0;
  for (const auto& l : r.layers) peak = std::max(peak, l.residual_peak);
  for (const auto& h : r.heads) sink = std::max(sink, h.sink_mass);
  std::printf("max residual_peak %.4g, max sink_mass %.4g\n", peak, sink);
  for (const auto& s : r.schemes) {
    std::printf("%-12s delta_ppl %9.4g  kld_mean %9.4g", s.scheme.c_str(), s.metrics.delta_ppl, s.metrics.kld_mean);
    if (s.has_attribution)
      std::printf("  kld: tokens %.0f%%  channels %.0f%%  rest %.0f%%", 100 * s.kld.share_tokens,
                  100 * s.kld.share_channels, 100 * s.kld.share_rest);
    std::printf("\n");
  }
  for (const auto& p : paths) std::printf("wrote %s\n", p.c_str());
}

}  // namespace

void add_audit(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<AuditArgs>();
  CLI::App* cmd = app.add_subcommand("audit", "Per-layer outlier audit (sinks, drains, residual peaks, outlier channels) and attribution of quantization loss");
  cmd->add_option("checkpoint", args->checkpoint, "checkpoint directory")->required();
  cmd->add_option("--data", args->data,
                  "data spec (bb:..., tokens:PATH, text:PATH); default: fresh samples of the recipe's BB task");
  cmd->add_option("--scheme", args->schemes, "scheme(s) to audit (default W8A8 and W4A4)");
  cmd->add_option("--out", args->out, "output directory (default ./audit)");
  cmd->add_option("--threads", args->threads, "threads (default: all)");
  cmd->add_option("--window", args->window, "window length (default: context or the longest sequence)");
  cmd->add_option("--max-seqs", args->max_sequences, "audit at most this many sequences");
  cmd->add_option("--dormant-threshold", args->dormant_threshold, "attention on key 0 that makes a query dormant");
  cmd->add_option("--query-class", args->query_class,
                  "token ids of the query class the dormant profile is split by: a file of ids (comma / whitespace "
                  "separated, # comments) or a list like 3,17,42 (default: BB triggers, else --early-positions)");
  cmd->add_option("--early-positions", args->early_positions,
                  "without a class on non-BB data: split the dormant profile into window positions 1..P vs the "
                  "rest (default 16)");
  cmd->add_option("--report-tau-channels", args->report_tau_channels,
                  "outlier channels listed in the report: chan_max >= tau x median chan_max (default 20)");
  cmd->add_option("--tau-tokens", args->outliers.tau_tokens,
                  "sink token rule (protection T): residual norm > tau x median (default 10)");
  cmd->add_option("--top-k-channels", args->outliers.top_k_channels,
                  "protection C keeps the top k channels by max |x| on the calibration data (default 2)");
  cmd->add_option("--tau-channels", args->outliers.tau_channels,
                  "protection C keeps the channels with chan_max >= tau x median instead of the top k (default 0: "
                  "top k)");
  cmd->add_option("--calib-sequences", args->outliers.calib_sequences,
                  "calibration data: the first window of each of the first N sequences (default 4)");
  cmd->add_flag("--no-attribution", args->no_attribution, "skip the 2x2 protection design");
  cmd->add_flag("--no-sensitivity", args->no_sensitivity, "skip per-site / per-layer sensitivity");
  cmd->add_option("--max-memory", args->max_memory,
                  "memory the audit may use, e.g. 7G (default: MemAvailable of /proc/meminfo, or the cgroup's "
                  "limit less its usage when smaller); the estimate printed before loading must fit, else exit 2");
  cmd->add_flag("--quiet", args->quiet, "no progress, summary or memory estimate");
  cmd->callback([args, exit_code] {
    run(*args);
    *exit_code = kExitOk;
  });
}

}  // namespace qh::cli
