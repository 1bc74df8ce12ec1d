// qharness compare OLD.json NEW.json [--out DIR] [--metric M ...] [--abs X] [--rel Y]
// The regression diff of two runs: every case of OLD is checked in NEW (worse by more than abs + rel * |old|
// is a regression), and the same report files as `run` are written for NEW with OLD -> NEW deltas.
// Exit code 0 no regression, 1 regressions (each printed with its numbers), 2 bad input.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "src/core/error.h"
#include "reports/baseline.h"
#include "reports/metric_info.h"
#include "reports/writers.h"
#include "src/cli/command.h"

namespace qh::cli {

int report_verdicts(const reports::Results& r, const std::string& out_dir, bool quiet);  // cmd_run.cc

namespace {

struct CompareArgs {
  std::string old_file, new_file, out = "qharness-compare";
  std::vector<std::string> metrics;
  double abs = -1, rel = -1;
  bool quiet = false;
};

}  // namespace

void add_compare(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<CompareArgs>();
  CLI::App* cmd = app.add_subcommand("compare", "Regression diff of two result files (OLD -> NEW)");
  cmd->add_option("old", args->old_file, "results.json of the reference run")->required();
  cmd->add_option("new", args->new_file, "results.json of the new run")->required();
  cmd->add_option("--out", args->out, "output directory")->capture_default_str();
  cmd->add_option("--metric", args->metrics, "metric to check (repeatable; default kld_mean, delta_ppl, top1_agree)");
  cmd->add_option("--abs", args->abs, "absolute tolerance (default 0.001)");
  cmd->add_option("--rel", args->rel, "relative tolerance, fraction of |old| (default 0.05)");
  cmd->add_flag("--quiet", args->quiet, "no summary unless something regressed");
  cmd->callback([args, exit_code] {
    const reports::Results old_run = reports::read_results(args->old_file);
    reports::Results new_run = reports::read_results(args->new_file);
    reports::BaselineOptions o;
    if (!args->metrics.empty()) {
      for (const auto& m : args->metrics) {
        if (!reports::is_known_metric(m)) {
          throw InputError("--metric '" + m + "': not a metric name (see ARCHITECTURE.md 2.7)");
        }
      }
      o.metrics = args->metrics;
    }
    if (args->abs != -1) {
      if (args->abs < 0) throw InputError("--abs must be >= 0");
      o.tolerance.abs = args->abs;
    }
    if (args->rel != -1) {
      if (args->rel < 0) throw InputError("--rel must be >= 0");
      o.tolerance.rel = args->rel;
    }
    new_run.verdicts = reports::check_against_baseline(old_run, new_run, o);
    reports::write_report_dir(args->out, new_run, &old_run);
    *exit_code = report_verdicts(new_run, args->out, args->quiet);
  });
}

}  // namespace qh::cli
