#include "src/suite/slurm.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <regex>

#include "src/core/atomic_file.h"
#include "src/core/error.h"

namespace qh::suite {

std::string shell_quote(const std::string& word) {
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

void validate_slurm_options(const SlurmOptions& o) {
  if (o.shards < 1) throw InputError("--shards " + std::to_string(o.shards) + ": expected a number of shards >= 1");
  if (o.cpus_per_task < 1) {
    throw InputError("--cpus-per-task " + std::to_string(o.cpus_per_task) + ": expected a number of CPUs >= 1");
  }
  // The forms sbatch(1) documents; anything else would only fail at submission, or worse, inside a script line.
  static const std::regex time(
      R"((\d+|\d+:\d+|\d+:\d+:\d+|\d+-\d+|\d+-\d+:\d+|\d+-\d+:\d+:\d+|INFINITE|UNLIMITED))");
  if (!o.time.empty() && !std::regex_match(o.time, time)) {
    throw InputError("--time '" + o.time + "': expected minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS");
  }
  static const std::regex mem(R"(\d+[KMGT]?)");
  if (!o.mem.empty() && !std::regex_match(o.mem, mem)) {
    throw InputError("--mem '" + o.mem + "': expected a size in megabytes, or with a unit K, M, G or T (e.g. 8G)");
  }
  static const std::regex partition(R"([A-Za-z0-9_.\-]+(,[A-Za-z0-9_.\-]+)*)");
  if (!o.partition.empty() && !std::regex_match(o.partition, partition)) {
    throw InputError("--partition '" + o.partition + "': expected a partition name or a comma-separated list");
  }
  for (const auto* path : {&o.binary, &o.out_dir, &o.zoo_cache, &o.work_dir}) {
    if (path->find('\n') != std::string::npos) throw InputError("'" + *path + "': a path with a newline");
  }
  // They appear in #SBATCH lines, which sbatch splits at white space.
  for (const auto* path : {&o.out_dir, &o.work_dir}) {
    if (path->find_first_of(" \t") != std::string::npos) {
      throw InputError("'" + *path + "': Slurm's #SBATCH lines cannot hold a path with spaces; choose another");
    }
  }
}

namespace {

struct Job {
  std::string name, output;  // job name; log file pattern
  std::string array;         // "1-N" for the array, else empty
};

std::string header(const Job& job, const SlurmOptions& o, const std::string& comment) {
  std::string s = "#!/bin/bash\n" + comment;
  s += "#SBATCH --job-name=" + job.name + "\n";
  if (!job.array.empty()) s += "#SBATCH --array=" + job.array + "\n";
  s += "#SBATCH --cpus-per-task=" + std::to_string(o.cpus_per_task) + "\n";
  s += "#SBATCH --output=" + job.output + "\n";
  if (!o.work_dir.empty()) s += "#SBATCH --chdir=" + o.work_dir + "\n";
  if (!o.partition.empty()) s += "#SBATCH --partition=" + o.partition + "\n";
  if (!o.time.empty()) s += "#SBATCH --time=" + o.time + "\n";
  if (!o.mem.empty()) s += "#SBATCH --mem=" + o.mem + "\n";
  // A job whose dependency can never be satisfied (an earlier job failed) is cancelled, not left pending.
  s += "#SBATCH --kill-on-invalid-dep=yes\n";
  s += "set -euo pipefail\n";
  s += "QHARNESS=${QHARNESS:-" + shell_quote(o.binary) + "}\n";
  return s;
}

// A job name Slurm shows in squeue: the suite's name reduced to safe characters.
std::string job_prefix(const SuiteSpec& suite) {
  std::string name = "qh-" + suite.name;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  }
  return name;
}

}  // namespace

std::vector<SlurmScript> slurm_scripts(const SuiteSpec& suite, const SlurmOptions& o) {
  const std::string prefix = job_prefix(suite);
  const std::string logs = o.out_dir + "/slurm/logs";
  const std::string suite_file = shell_quote(suite.path), cache = shell_quote(o.zoo_cache);
  const std::string n = std::to_string(o.shards);
  std::vector<std::string> zoo_models;
  for (const auto& m : suite.models) {
    if (!m.zoo.empty() && std::find(zoo_models.begin(), zoo_models.end(), m.zoo) == zoo_models.end()) {
      zoo_models.push_back(m.zoo);
    }
  }
  std::vector<SlurmScript> out;
  const std::string origin = "# Written by `qharness slurm` for the suite " + suite.path + " (" + n + " shards).\n";

  if (!zoo_models.empty()) {
    std::string s = header({prefix + "-train", logs + "/train-%j.out", ""}, o,
                           origin + "# Trains the suite's zoo models once, before any shard needs them, into the "
                                    "shared cache.\n");
    s += "exec \"$QHARNESS\" train --zoo " + shell_quote(suite.zoo);
    for (const auto& m : zoo_models) s += " --only " + shell_quote(m);
    s += " --cache " + cache + " --jobs \"${SLURM_CPUS_PER_TASK:-1}\" --quiet\n";
    out.push_back({"train.sbatch", s});
  }

  {
    std::string s = header({prefix + "-shard", logs + "/shard-%a-%A.out", "1-" + n}, o,
                           origin + "# Task I of the array runs shard I/" + n + " of the suite into its own part "
                                    "directory (parts/I).\n");
    s += "part=" + shell_quote(o.out_dir + "/parts/") + "\"$SLURM_ARRAY_TASK_ID\"\n";
    s += "# A task that fails leaves no results.json behind (not even one of an earlier submission).\n";
    s += "rm -f \"$part/results.json\"\n";
    s += "exec \"$QHARNESS\" run " + suite_file + " --shard \"$SLURM_ARRAY_TASK_ID/" + n +
         "\" --out \"$part\" --cache " + cache + " --threads \"${SLURM_CPUS_PER_TASK:-1}\" --jobs 1 --quiet\n";
    out.push_back({"shard.sbatch", s});
  }

  {
    std::string s = header({prefix + "-merge", logs + "/merge-%j.out", ""}, o,
                           origin + "# Joins the " + n + " parts into the suite's report; exit 2 names a missing "
                                    "or foreign part, exit 1 a failed check.\n");
    s += "exec \"$QHARNESS\" merge";
    for (int i = 1; i <= o.shards; ++i) s += " " + shell_quote(o.out_dir + "/parts/" + std::to_string(i) + "/results.json");
    s += " --suite " + suite_file + " --out " + shell_quote(o.out_dir) + "\n";
    out.push_back({"merge.sbatch", s});
  }

  {
    const std::string dir = shell_quote(o.out_dir + "/slurm");
    std::string s = "#!/bin/bash\n" + origin +
                    "# Submits the jobs with their dependencies (sbatch --dependency=afterok) and prints their ids.\n"
                    "set -euo pipefail\n"
                    "dir=" + dir + "\n"
                    "# sbatch --parsable prints \"ID\" or \"ID;CLUSTER\"; a failed sbatch stops the script (set -e).\n";
    std::string after;
    if (!zoo_models.empty()) {
      s += "train=$(sbatch --parsable \"$dir/train.sbatch\")\ntrain=${train%%;*}\necho \"train $train\"\n";
      after = " --dependency=afterok:$train";
    }
    s += "shards=$(sbatch --parsable" + after + " \"$dir/shard.sbatch\")\nshards=${shards%%;*}\n"
         "echo \"shards $shards\"\n";
    s += "# afterok on an array's job id: every task of the array must have exited with 0.\n";
    s += "merge=$(sbatch --parsable --dependency=afterok:$shards \"$dir/merge.sbatch\")\nmerge=${merge%%;*}\n"
         "echo \"merge $merge\"\n";
    out.push_back({"submit.sh", s});
  }
  return out;
}

std::string write_slurm_scripts(const SuiteSpec& suite, const SlurmOptions& o) {
  validate_slurm_options(o);
  const std::string dir = o.out_dir + "/slurm";
  make_dirs(dir + "/logs");
  make_dirs(o.out_dir + "/parts");
  for (const auto& s : slurm_scripts(suite, o)) {
    const std::string path = dir + "/" + s.file;
    write_file_atomic(path, s.text);
    if (::chmod(path.c_str(), 0755) != 0) throw InputError(path + ": cannot make it executable");
  }
  return dir + "/submit.sh";
}

}  // namespace qh::suite
