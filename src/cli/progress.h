// Progress with ETA on a TTY (stderr), silent otherwise or with --quiet. Cheap to call per step: it redraws
// at most a few times per second.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace qh::cli {

class Progress {
 public:
  // total == 0: unknown length (no ETA).
  Progress(std::string label, int64_t total, bool quiet = false);
  ~Progress();
  void set(int64_t done, const std::string& note = "");
  void add(int64_t n = 1, const std::string& note = "") { set(done_ + n, note); }
  void finish();  // clears the line
  static bool stderr_is_tty();

 private:
  void draw(bool force);
  std::string label_;
  int64_t total_ = 0, done_ = 0;
  bool enabled_ = false, finished_ = false;
  std::string note_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace qh::cli
