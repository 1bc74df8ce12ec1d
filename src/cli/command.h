// Every qharness subcommand lives in its own src/cli/cmd_<name>.cc and exposes one function that adds the
// subcommand to the app. The callback stores the command's exit code in *exit_code (0 ok, 1 a check failed,
// 2 bad input); InputError thrown from a callback becomes exit code 2, any other exception exit code 3
// (src/cli/exit_codes.h).
#pragma once

#include <CLI/CLI.hpp>

namespace qh::cli {

void add_inspect(CLI::App& app, int* exit_code);
void add_eval(CLI::App& app, int* exit_code);
void add_audit(CLI::App& app, int* exit_code);
void add_train(CLI::App& app, int* exit_code);
void add_run(CLI::App& app, int* exit_code);
void add_compare(CLI::App& app, int* exit_code);
void add_merge(CLI::App& app, int* exit_code);
void add_bench(CLI::App& app, int* exit_code);
void add_slurm(CLI::App& app, int* exit_code);
void add_tokenize(CLI::App& app, int* exit_code);

}  // namespace qh::cli
