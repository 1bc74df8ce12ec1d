#include "src/suite/parallel.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "src/core/error.h"
#include "src/suite/slurm.h"

extern char** environ;

namespace qh::suite {

namespace {

std::vector<std::string> worker_args(const RunContext& ctx, int index, int count, int threads) {
  const RunOptions& o = ctx.options;
  std::vector<std::string> args = {o.worker_binary, "run", ctx.suite.path, "--out", o.out_dir,
                                   "--shard", Shard{index, count}.to_string(), "--worker", "--quiet",
                                   "--threads", std::to_string(threads), "--jobs", "1"};
  if (!o.zoo_cache_dir.empty()) {
    args.push_back("--cache");
    args.push_back(o.zoo_cache_dir);
  }
  if (o.max_memory) {  // each worker checks its groups against the same budget
    args.push_back("--max-memory");
    args.push_back(std::to_string(o.max_memory));
  }
  return args;
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

pid_t spawn_worker(const RunContext& ctx, int index, int count, int threads) {
  std::vector<std::string> args = worker_args(ctx, index, count, threads);
  std::vector<std::string> env = worker_environment(threads);
  std::vector<char*> argv = c_strings(args), envp = c_strings(env);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, args[0].c_str(), nullptr, nullptr, argv.data(), envp.data());
  if (rc != 0) throw std::runtime_error(fmt::format("run: cannot start worker {}: {}", args[0], std::strerror(rc)));
  return pid;
}

int threads_per_worker(const RunContext& ctx, int count) {
  return std::max(1, ctx.options.threads_total / count);
}

int64_t count_cached(const RunContext& ctx) {
  int64_t n = 0;
  for (const PlannedCase& p : ctx.planned) n += ctx.cache.has(ctx.case_key(p)) ? 1 : 0;
  return n;
}

}  // namespace

int worker_processes(const RunContext& ctx) {
  if (ctx.options.workers < 2 || ctx.options.worker) return 1;
  std::set<int> groups;  // the plan's (model, data, method, scheme) groups, the unit a shard gets
  for (size_t i = 0; i < ctx.planned.size(); ++i)
    if (!ctx.load_case(i)) groups.insert(ctx.planned[i].group);
  return std::min(ctx.options.workers, static_cast<int>(groups.size()));
}

std::string worker_command(const RunContext& ctx, int index, int count, int threads) {
  std::string cmd = "OMP_NUM_THREADS=" + std::to_string(threads);
  for (const std::string& a : worker_args(ctx, index, count, threads)) cmd += " " + shell_quote(a);
  return cmd;
}

void evaluate_in_workers(const RunContext& ctx, int count) {
  QH_CHECK(ctx.options.shard.all() && count >= 2 && !ctx.options.worker_binary.empty());
  const RunOptions& options = ctx.options;
  const int threads = threads_per_worker(ctx, count);
  std::vector<pid_t> pids;
  for (int i = 0; i < count; ++i) {
    if (options.verbose) std::fprintf(stderr, "run: worker %s: %s\n", Shard{i, count}.to_string().c_str(),
                                      worker_command(ctx, i, count, threads).c_str());
    pids.push_back(spawn_worker(ctx, i, count, threads));
  }
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
    if (options.progress) options.progress(count_cached(ctx), static_cast<int64_t>(ctx.planned.size()), note);
    if (running > 0) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  for (int i = 0; i < count; ++i) {
    const int st = status[i];
    if (st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0) continue;
    const std::string how = st >= 0 && WIFEXITED(st)     ? fmt::format("exited with code {}", WEXITSTATUS(st))
                            : st >= 0 && WIFSIGNALED(st) ? fmt::format("was killed by signal {}", WTERMSIG(st))
                                                         : std::string("was lost");
    const std::string msg = fmt::format(
        "run: worker {} {} (its message is above); the finished cases are cached in {}/.cache, run again to "
        "resume. The worker alone: {}",
        Shard{i, count}.to_string(), how, options.out_dir, worker_command(ctx, i, count, threads));
    if (st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == kExitBadInput) throw InputError(msg);
    throw WorkerFailed(msg);
  }
}

}  // namespace qh::suite
