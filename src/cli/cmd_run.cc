// qharness run SUITE.yaml [--out DIR] [--baseline FILE] [--jobs N] [--shard I/N] [--threads N] [--max-memory SIZE]
//                    [--quiet|--verbose]
// qharness run SUITE.yaml --plan [--shards N]   prints which case goes to which shard and the estimated cost
// Runs a suite and writes results.json, report.md, report.html, junit.xml and cases.csv into DIR.
// Exit code 0 when every check passes, 1 when one fails (each printed with its numbers) or a worker process
// failed, 2 on bad input. The evaluation runs in this process unless --jobs N > 1 asks for N worker processes
// of this binary (src/suite/parallel.h; --verbose prints their command lines); the hidden --worker flag marks
// such a process. The steps of a run: src/suite/runner.h.
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include <omp.h>

#include "src/core/error.h"
#include "src/core/limits.h"
#include "src/core/memory.h"
#include "reports/writers.h"
#include "src/cli/command.h"
#include "src/cli/progress.h"
#include "src/suite/parallel.h"
#include "src/suite/plan.h"
#include "src/suite/runner.h"
#include "src/suite/suite.h"

namespace qh::cli {

namespace {

struct RunArgs {
  std::string suite, out = "qharness-out", baseline, shard, cache, max_memory;
  int jobs = 0, threads = 0, shards = 0;
  bool quiet = false, verbose = false, worker = false, plan = false;
};

}  // namespace

// Prints the failed checks and the report location; returns the exit code of a finished run.
int report_verdicts(const reports::Results& r, const std::string& out_dir, bool quiet) {
  const int failed = r.num_failed();
  for (const auto& v : r.verdicts) {
    if (!v.passed) std::printf("FAIL %s: %s\n", v.name.c_str(), v.message.c_str());
  }
  if (!quiet || failed) {
    std::printf("%zu cases, %zu checks, %d failed. Report: %s/report.html (also report.md, results.json, junit.xml,"
                " cases.csv)\n",
                r.cases.size(), r.verdicts.size(), failed, out_dir.c_str());
  }
  return failed ? kExitCheckFailed : kExitOk;
}

void add_run(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand("run", "Run a suite (models x data x schemes x protections) with its checks");
  cmd->add_option("suite", args->suite, "suite YAML file (see suites/SCHEMA.md)")->required();
  cmd->add_option("--out", args->out, "output directory")->capture_default_str();
  cmd->add_option("--baseline", args->baseline, "results.json of an earlier run to check against");
  cmd->add_option("--jobs", args->jobs,
                  "zoo models trained at once (default: the number of cores); N > 1 also evaluates in N worker "
                  "processes (default: in this process)");
  cmd->add_option("--shard", args->shard, "run only shard I of N (I/N); join the parts with `qharness merge`");
  cmd->add_option("--threads", args->threads, "OpenMP threads for evaluation (default: all)");
  cmd->add_option("--cache", args->cache, "zoo checkpoint cache (default: $QH_CACHE or .cache/qharness)");
  cmd->add_option("--max-memory", args->max_memory,
                  "memory each (model, data) group's evaluation and audit may use, e.g. 7G (default: MemAvailable "
                  "of /proc/meminfo, or the cgroup's limit less its usage when smaller); a group whose estimate "
                  "does not fit is refused with exit 2 before it runs");
  cmd->add_flag("--plan", args->plan,
                "print the shard plan (each case's shard and estimated cost; see --shards) and run nothing");
  cmd->add_option("--shards", args->shards, "with --plan: the number of shards (default: N of --shard, else 1)")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--quiet", args->quiet, "no progress, no summary unless a check fails");
  cmd->add_flag("--verbose", args->verbose, "print each worker process's command line (to rerun one alone)");
  cmd->add_flag("--worker", args->worker)->group("");  // internal: a worker process of --jobs N
  cmd->callback([args, exit_code] {
    if (args->worker) {
      // Die with the parent (a killed run must not leave workers behind); the cache keeps what they finished.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() == 1) std::_Exit(kExitCheckFailed);
      if (args->shard.empty()) throw InputError("--worker needs --shard I/N");
    }
    checked_threads(args->threads, "--threads");
    if (args->jobs < 0 || args->jobs > kMaxThreads)
      throw InputError("--jobs " + std::to_string(args->jobs) + ": expected 0 (all cores) to " +
                       std::to_string(kMaxThreads));
    const suite::SuiteSpec spec = suite::load_suite(args->suite);
    if (args->shards > 0 && !args->plan) throw InputError("--shards N goes with --plan (a run takes --shard I/N)");
    if (args->plan) {
      const int count = args->shards > 0 ? args->shards
                        : args->shard.empty() ? 1
                                              : suite::parse_shard(args->shard).count;
      std::fputs(suite::format_plan(spec, suite::plan_shards(spec, count)).c_str(), stdout);
      *exit_code = kExitOk;
      return;
    }
    suite::RunOptions o;
    o.out_dir = args->out;
    o.baseline_file = args->baseline;
    o.jobs = args->jobs;
    o.threads = args->threads;
    o.quiet = args->quiet;
    o.zoo_cache_dir = args->cache;
    if (!args->max_memory.empty()) o.max_memory = parse_byte_size(args->max_memory, "--max-memory");
    if (!args->shard.empty()) o.shard = suite::parse_shard(args->shard);
    o.verbose = args->verbose;  // asked for explicitly: also with --quiet
    o.worker = args->worker;
    if (o.worker) {
      o.quiet = true;
      (void)suite::run_suite(spec, o);  // its cases are in OUT/.cache; the parent writes the reports
      *exit_code = kExitOk;
      return;
    }
    if (args->jobs > 1 && o.shard.all()) {  // worker processes for the evaluation
      o.workers = args->jobs;
      o.worker_binary = std::filesystem::read_symlink("/proc/self/exe").string();
      o.threads_total = args->threads > 0 ? args->threads : omp_get_max_threads();
    }
    const auto total = static_cast<int64_t>(suite::shard_cases(spec, o.shard).size());
    Progress progress("run " + spec.name, total, args->quiet);
    o.progress = [&progress](int64_t done, int64_t, const std::string& note) { progress.set(done, note); };
    suite::RunOutcome outcome;
    try {
      outcome = suite::run_suite(spec, o);
    } catch (const InputError&) {
      throw;
    } catch (const suite::WorkerFailed& e) {  // what the workers finished stays cached
      progress.finish();
      std::fprintf(stderr, "error: %s\n", e.what());
      *exit_code = kExitCheckFailed;
      return;
    }
    progress.finish();
    reports::write_report_dir(args->out, outcome.results, outcome.baseline ? &*outcome.baseline : nullptr);
    *exit_code = report_verdicts(outcome.results, args->out, args->quiet);
  });
}

}  // namespace qh::cli
