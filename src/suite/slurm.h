// `qharness slurm`: a suite as Slurm jobs. Three batch scripts and the script that submits them, in OUT/slurm:
//   train.sbatch   one job that trains the suite's zoo models into the shared zoo cache (absent when the suite
//                  names no zoo model). Training once, before the shards start, is the choice made here: shards
//                  training on demand would train the same model in several tasks at once.
//   shard.sbatch   a job array of N tasks: task I runs `qharness run SUITE --shard I/N` into OUT/parts/I (its
//                  own directory and case cache), after the training job succeeded (afterok).
//   merge.sbatch   `qharness merge` of the N parts into OUT (results.json, report.md, junit.xml, ...), after
//                  every task of the array succeeded (afterok on the array's job id). A failed task makes Slurm
//                  cancel the merge (--kill-on-invalid-dep=yes) instead of leaving it pending for ever; run the
//                  merge by hand then and it names the missing shard (exit 2).
//   submit.sh      submits the three with their dependencies and prints "train ID", "shards ID", "merge ID".
// Every path in the scripts is absolute, so they run from any directory of a cluster sharing the filesystem.
// The qharness binary is the one that wrote the scripts unless $QHARNESS names another.
#pragma once

#include <string>
#include <vector>

#include "src/suite/suite.h"

namespace qh::suite {

struct SlurmOptions {
  std::string binary;     // the qharness executable the jobs run
  std::string out_dir;    // OUT: scripts, logs, parts and the merged report
  std::string zoo_cache;  // the zoo checkpoint cache shared by the jobs
  std::string work_dir;   // the jobs' working directory (sbatch --chdir): where relative paths of the suite
                          // that are not resolved against its folder resolve, as in a local run
  int shards = 0;         // N, the tasks of the array
  std::string partition, time, mem;  // passed to sbatch as given (validated); empty: the cluster's default
  int cpus_per_task = 1;             // also the threads of each run and the models trained at once
};

struct SlurmScript {
  std::string file;  // name inside OUT/slurm
  std::string text;
};

// Checks the options (InputError naming the option and what Slurm accepts) before anything is written.
void validate_slurm_options(const SlurmOptions& o);

// The scripts for `suite` (absolute paths are taken as given: callers make them absolute).
std::vector<SlurmScript> slurm_scripts(const SuiteSpec& suite, const SlurmOptions& o);

// Validates, then writes the scripts into OUT/slurm (the .sh ones executable) and makes OUT/slurm/logs and
// OUT/parts, where Slurm and the tasks write. Returns the path of submit.sh.
std::string write_slurm_scripts(const SuiteSpec& suite, const SlurmOptions& o);

// Single-quotes a word for the shell.
std::string shell_quote(const std::string& word);

}  // namespace qh::suite
