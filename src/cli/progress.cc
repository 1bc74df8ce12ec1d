#include "src/cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace qh::cli {

bool Progress::stderr_is_tty() { return ::isatty(STDERR_FILENO) == 1; }

Progress::Progress(std::string label, int64_t total, bool quiet)
    : label_(std::move(label)), total_(total), enabled_(!quiet && stderr_is_tty()) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

Progress::~Progress() { finish(); }

void Progress::set(int64_t done, const std::string& note) {
  done_ = done;
  if (!note.empty()) note_ = note;
  draw(false);
}

void Progress::draw(bool force) {
  if (!enabled_ || finished_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  char eta[64] = "";
  if (total_ > 0 && done_ > 0) {
    const double left = elapsed * static_cast<double>(total_ - done_) / static_cast<double>(done_);
    std::snprintf(eta, sizeof eta, "  ETA %dm%02ds", static_cast<int>(left) / 60, static_cast<int>(left) % 60);
  }
  if (total_ > 0) {
    std::fprintf(stderr, "\r\033[K%s %lld/%lld (%.0f%%)  %.1fs%s  %s", label_.c_str(),
                 static_cast<long long>(done_), static_cast<long long>(total_),
                 100.0 * static_cast<double>(done_) / static_cast<double>(total_), elapsed, eta, note_.c_str());
  } else {
    std::fprintf(stderr, "\r\033[K%s %lld  %.1fs  %s", label_.c_str(), static_cast<long long>(done_), elapsed,
                 note_.c_str());
  }
  std::fflush(stderr);
}

void Progress::finish() {
  if (enabled_ && !finished_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  }
  finished_ = true;
}

}  // namespace qh::cli
