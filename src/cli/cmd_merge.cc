// qharness merge PART.json... --out DIR [--suite SUITE.yaml] [--baseline FILE]
// Joins the results of `qharness run --shard I/N` into the result of the whole suite: the same cases in the
// same order, attributions and verdicts computed over all parts, the same report files. The suite defaults to
// the file recorded in the parts. The parts must be shards 1..N of that suite, each once (src/suite/merge.h):
// a missing part file, a missing or repeated shard, or a part of another suite is bad input (exit 2) naming
// it. Otherwise the exit code is as for `run`.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "src/core/error.h"
#include "reports/writers.h"
#include "src/cli/command.h"
#include "src/suite/merge.h"
#include "src/suite/runner.h"
#include "src/suite/suite.h"

namespace qh::cli {

int report_verdicts(const reports::Results& r, const std::string& out_dir, bool quiet);  // cmd_run.cc

namespace {

struct MergeArgs {
  std::vector<std::string> parts;
  std::string out = "qharness-out", suite, baseline;
  bool quiet = false;
};

}  // namespace

void add_merge(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<MergeArgs>();
  CLI::App* cmd = app.add_subcommand("merge", "Join the results of sharded runs (run --shard I/N) into one");
  cmd->add_option("parts", args->parts, "results.json of each shard")->required();
  cmd->add_option("--out", args->out, "output directory")->capture_default_str();
  cmd->add_option("--suite", args->suite, "the suite (default: the file recorded in the parts)");
  cmd->add_option("--baseline", args->baseline, "results.json of an earlier run to check against");
  cmd->add_flag("--quiet", args->quiet, "no summary unless a check fails");
  cmd->callback([args, exit_code] {
    // A part file that is not there (its job failed before writing it): name it together with the shards the
    // others leave uncovered.
    std::vector<reports::Results> parts;
    std::vector<std::string> names, absent;
    for (const auto& p : args->parts) {
      if (!std::filesystem::exists(p)) {
        absent.push_back(p);
        continue;
      }
      parts.push_back(reports::read_results(p));
      names.push_back(p);
    }
    if (!absent.empty()) {
      std::string message = "merge: no such part file: " + absent[0];
      for (size_t i = 1; i < absent.size(); ++i) message += ", " + absent[i];
      if (!parts.empty()) {
        const std::string problem = suite::shard_set_problem(parts, names);
        if (!problem.empty()) message += "; " + problem;
      }
      throw InputError(message);
    }
    reports::Results merged = suite::merge_parts(parts, names);
    const std::string suite_file = !args->suite.empty() ? args->suite : merged.suite_file;
    std::optional<reports::Results> baseline;
    if (!suite_file.empty()) {
      if (args->suite.empty() && !std::filesystem::exists(suite_file)) {
        throw InputError(args->parts[0] + ": the suite file '" + suite_file +
                         "' recorded in the results is not here; pass --suite SUITE.yaml");
      }
      const suite::SuiteSpec spec = suite::load_suite(suite_file);
      suite::check_against_suite(spec, merged);
      suite::sort_cases_by_plan(spec, &merged);
      baseline = suite::finalize_results(spec, args->baseline, &merged);
    } else if (!args->baseline.empty()) {
      baseline = reports::read_results(args->baseline);
      merged.verdicts = reports::check_against_baseline(*baseline, merged, reports::BaselineOptions{});
    }
    reports::write_report_dir(args->out, merged, baseline ? &*baseline : nullptr);
    *exit_code = report_verdicts(merged, args->out, args->quiet);
  });
}

}  // namespace qh::cli
