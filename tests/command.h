// The one helper the end-to-end tests use to run a command: its exit code (128 + signal when killed), its
// output (stdout and stderr together) and its wall time.
#pragma once

#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace qh::testutil {

struct Command {
  int exit_code = -1;  // -1: the command could not be started
  std::string output;
  double seconds = 0;
};

// Runs a shell command line as written (its stdout is captured; redirect stderr in `cmd` to capture it too).
inline Command capture(const std::string& cmd) {
  const auto start = std::chrono::steady_clock::now();
  Command c;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return c;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) c.output.append(buf, n);
  const int status = pclose(pipe);
  c.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return c;
}

// A shell command line with stdout and stderr together.
inline Command sh(const std::string& cmd) { return capture(cmd + " 2>&1"); }

#ifdef QH_BINARY
// The qharness binary under test with `args` (stdout and stderr together).
inline Command qharness(const std::string& args) { return sh(std::string(QH_BINARY) + " " + args); }
#endif

}  // namespace qh::testutil
