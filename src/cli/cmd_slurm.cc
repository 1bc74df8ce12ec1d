// qharness slurm SUITE.yaml --out DIR --shards N [--partition P] [--time T] [--cpus-per-task C] [--mem M]
//                [--cache DIR] [--submit]
// Writes Slurm batch scripts that run the suite as a job array of N shards and merge the parts (see
// src/suite/slurm.h for the jobs and why the zoo is trained by a job of its own); --submit also submits them
// and prints the job ids. Exit 2 on bad input (checked before anything is written), 1 when sbatch failed.
#include <spawn.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "models/train/zoo.h"
#include "src/cli/command.h"
#include "src/core/error.h"
#include "src/suite/plan.h"
#include "src/suite/slurm.h"
#include "src/suite/suite.h"

extern char** environ;

namespace qh::cli {

namespace {

struct SlurmArgs {
  std::string suite, out, cache, partition, time, mem;
  int shards = 0, cpus = 1;
  bool submit = false, quiet = false;
};

std::string absolute(const std::string& p) { return std::filesystem::absolute(p).lexically_normal().string(); }

// Runs `bash submit.sh` (its output, the job ids, goes to our stdout); returns its exit status.
int run_submit_script(const std::string& script) {
  std::string bash = "bash", path = script;
  char* argv[] = {bash.data(), path.data(), nullptr};
  pid_t pid = 0;
  std::fflush(stdout);
  if (::posix_spawnp(&pid, "bash", nullptr, nullptr, argv, environ) != 0) return 127;
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return 127;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

void add_slurm(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<SlurmArgs>();
  CLI::App* cmd = app.add_subcommand(
      "slurm",
      "Run a suite on a Slurm cluster: writes DIR/slurm/{train,shard,merge}.sbatch and submit.sh. A first job\n"
      "trains the suite's zoo models once into the shared zoo cache; a job array of N tasks runs\n"
      "`qharness run SUITE --shard I/N` into DIR/parts/I; a merge job (--dependency=afterok on the array)\n"
      "joins the parts into DIR (results.json, report.md, junit.xml, ...). The jobs run in the current\n"
      "directory; every path in them is absolute. Exit code 0, 1 when sbatch failed, 2 on bad input.");
  cmd->add_option("suite", args->suite, "suite YAML file (see suites/SCHEMA.md)")->required();
  cmd->add_option("--out", args->out, "directory of the scripts, logs, parts and the merged report")->required();
  cmd->add_option("--shards", args->shards, "tasks of the job array (N of run --shard I/N)")->required();
  cmd->add_option("--partition", args->partition, "sbatch --partition (default: the cluster's default)");
  cmd->add_option("--time", args->time, "sbatch --time of each job, e.g. 30 (minutes), 2:00:00 or 1-12");
  cmd->add_option("--cpus-per-task", args->cpus,
                  "sbatch --cpus-per-task; also each run's --threads and the models trained at once")
      ->capture_default_str();
  cmd->add_option("--mem", args->mem, "sbatch --mem of each job, e.g. 8G");
  cmd->add_option("--cache", args->cache, "zoo checkpoint cache shared by the jobs (default: $QH_CACHE or "
                                          ".cache/qharness, made absolute)");
  cmd->add_flag("--submit", args->submit, "submit the jobs with sbatch and print their ids");
  cmd->add_flag("--quiet", args->quiet, "print only the job ids (with --submit)");
  cmd->callback([args, exit_code] {
    suite::SuiteSpec spec = suite::load_suite(absolute(args->suite));
    spec.zoo = absolute(spec.zoo);
    suite::SlurmOptions o;
    o.binary = std::filesystem::read_symlink("/proc/self/exe").string();
    o.out_dir = absolute(args->out);
    train::ZooOptions zoo;
    zoo.cache_dir = args->cache;
    o.zoo_cache = absolute(train::resolve_cache_dir(zoo));
    o.shards = args->shards;
    o.partition = args->partition;
    o.time = args->time;
    o.mem = args->mem;
    o.cpus_per_task = args->cpus;
    o.work_dir = std::filesystem::current_path().string();
    suite::validate_slurm_options(o);
    (void)suite::plan_shards(spec, o.shards);  // unreadable model shapes or data files are reported now
    const std::string submit = suite::write_slurm_scripts(spec, o);
    if (!args->quiet) {
      std::printf("wrote %s/slurm/*.sbatch; submit them with: bash %s%s\n", o.out_dir.c_str(), submit.c_str(),
                  args->submit ? "" : " (or add --submit)");
    }
    *exit_code = kExitOk;
    if (!args->submit) return;
    const int rc = run_submit_script(submit);
    if (rc != 0) {
      std::fprintf(stderr, "error: submitting the jobs failed (%s exited with %d; sbatch's message is above)\n",
                   submit.c_str(), rc);
      *exit_code = kExitCheckFailed;
      return;
    }
    if (!args->quiet) {
      std::printf("the merged report will be in %s (results.json, report.md, junit.xml); logs in %s/slurm/logs\n",
                  o.out_dir.c_str(), o.out_dir.c_str());
    }
  });
}

}  // namespace qh::cli
