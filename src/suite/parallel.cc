#include "src/suite/parallel.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "src/core/error.h"

extern char** environ;

namespace qh::suite {

namespace {

// The groups (model, data, scheme) with at least one case not yet cached: no point starting more workers.
int uncached_groups(const SuiteSpec& suite, const RunOptions& options) {
  const std::vector<PlannedCase> planned = plan_cases(suite);
  const std::vector<std::string> keys = planned_case_keys(suite, options);
  std::set<int> groups;
  for (size_t i = 0; i < planned.size(); ++i) {
    if (count_cached({keys[i]}, options.out_dir) == 0) groups.insert(planned[i].group);
  }
  return static_cast<int>(groups.size());
}

// The parent's environment with OMP_NUM_THREADS replaced.
std::vector<std::string> worker_environment(int threads) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    if (std::strncmp(*e, "OMP_NUM_THREADS=", 16) != 0) env.emplace_back(*e);
  }
  env.push_back("OMP_NUM_THREADS=" + std::to_string(threads));
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

pid_t spawn_worker(const SuiteSpec& suite, const RunOptions& options, const ParallelOptions& parallel, int index,
                   int count, int threads) {
  std::vector<std::string> args = {parallel.binary, "run", suite.path, "--out", options.out_dir,
                                   "--shard", Shard{index, count}.to_string(), "--worker", "--quiet",
                                   "--threads", std::to_string(threads), "--jobs", "1"};
  if (!options.zoo_cache_dir.empty()) {
    args.push_back("--cache");
    args.push_back(options.zoo_cache_dir);
  }
  std::vector<std::string> env = worker_environment(threads);
  std::vector<char*> argv = c_strings(args), envp = c_strings(env);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, parallel.binary.c_str(), nullptr, nullptr, argv.data(), envp.data());
  if (rc != 0) throw std::runtime_error(fmt::format("run: cannot start worker {}: {}", parallel.binary, std::strerror(rc)));
  return pid;
}

}  // namespace

RunOutcome run_suite_parallel(const SuiteSpec& suite, const RunOptions& options, const ParallelOptions& parallel) {
  QH_CHECK(options.shard.all());
  if (options.jobs < 0) throw InputError("--jobs must be >= 0");
  train_missing_models(suite, options);  // options.jobs models at a time, before any worker needs them

  const int count = std::min(parallel.workers, uncached_groups(suite, options));
  if (count >= 2) {
    const int threads = std::max(1, parallel.threads_total / count);
    const std::vector<std::string> keys = planned_case_keys(suite, options);
    std::vector<pid_t> pids;
    for (int i = 0; i < count; ++i) pids.push_back(spawn_worker(suite, options, parallel, i, count, threads));
    std::vector<int> status(count, 0);
    int running = count;
    const std::string note = fmt::format("{} workers x {} thread(s)", count, threads);
    while (running > 0) {
      for (int i = 0; i < count; ++i) {
        if (pids[i] <= 0) continue;
        int st = 0;
        const pid_t r = ::waitpid(pids[i], &st, WNOHANG);
        if (r == pids[i] || (r < 0 && errno != EINTR)) {
          status[i] = r == pids[i] ? st : -1;
          pids[i] = 0;
          --running;
        }
      }
      if (options.progress) options.progress(count_cached(keys, options.out_dir), static_cast<int64_t>(keys.size()), note);
      if (running > 0) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    for (int i = 0; i < count; ++i) {
      const int st = status[i];
      if (st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0) continue;
      const std::string how = st >= 0 && WIFEXITED(st)     ? fmt::format("exited with code {}", WEXITSTATUS(st))
                              : st >= 0 && WIFSIGNALED(st) ? fmt::format("was killed by signal {}", WTERMSIG(st))
                                                           : std::string("was lost");
      const std::string msg = fmt::format(
          "run: worker {} {} (its message is above); the finished cases are cached in {}/.cache, run again to resume",
          Shard{i, count}.to_string(), how, options.out_dir);
      if (st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == kExitBadInput) throw InputError(msg);
      throw std::runtime_error(msg);
    }
  }
  // Every case is cached now (or, with fewer than two groups left, is computed here): the same results as --jobs 1.
  return run_suite(suite, options);
}

}  // namespace qh::suite
