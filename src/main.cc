// qharness: quantization-robustness test harness for transformer language models.
// Exit codes: 0 ok / all checks pass, 1 a check or threshold failed, 2 bad input or usage, 3 an internal error.
#include <CLI/CLI.hpp>

#include "src/cli/command.h"
#include "src/cli/exit_codes.h"
#include "src/core/error.h"
#include "src/core/version.h"

int main(int argc, char** argv) {
  CLI::App app{"qharness: how much accuracy does a transformer lose under W8A8 / W4A4 quantization, and how\n"
               "much of that loss is caused by its attention sinks and residual outliers?"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("qharness ") + qh::version() + " (" + qh::git_revision() + ")");
  int exit_code = qh::kExitOk;
  qh::cli::add_inspect(app, &exit_code);
  qh::cli::add_eval(app, &exit_code);
  qh::cli::add_bench(app, &exit_code);
  qh::cli::add_train(app, &exit_code);
  qh::cli::add_audit(app, &exit_code);
  qh::cli::add_run(app, &exit_code);
  qh::cli::add_compare(app, &exit_code);
  qh::cli::add_merge(app, &exit_code);
  qh::cli::add_slurm(app, &exit_code);
  qh::cli::add_tokenize(app, &exit_code);
  return qh::cli::run_with_exit_codes([&] {
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      const int rc = app.exit(e);  // prints help / the usage error
      return rc == 0 ? qh::kExitOk : qh::kExitBadInput;
    }
    return exit_code;
  });
}
