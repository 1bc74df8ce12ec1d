// The quickstart suite on a real single-node Slurm cluster made from Debian's slurm-wlm and munge: munged with
// a key generated for the test, slurmctld -D and slurmd -D with a minimal slurm.conf (127.0.0.1, 2 CPUs,
// proctrack/linuxproc, task/none: no cgroups, no systemd, no /sys needed), every state, spool and log file in
// the test's own directory, ports chosen free. `qharness slurm --submit` submits the training job, a 3-task
// array and the merge; the merged results.json must equal a local one-process run's value for value (bits,
// via JSON). A second submission with shard 2 failing checks that Slurm cancels the merge and that merging by
// hand names the missing shard (exit 2). The daemons are started and stopped by a keeper process (below), by
// their process ids, however the test ends; no job outlives them.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "reports/results.h"
#include "tests/command.h"

namespace {

namespace fs = std::filesystem;

using qh::testutil::Command;
using qh::testutil::sh;  // a shell command line, stdout and stderr together

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The keeper: a child of the test that starts the daemons and stops them again, whatever way the test ends.
// The test sends it "start" lines over a pipe and gets each daemon's pid back. When that pipe closes (the test
// finished, failed, was interrupted or killed by ctest's timeout), the keeper cancels the jobs still queued or
// running (scancel) while the daemons are still up, stops the daemons by pid in reverse start order (SIGTERM,
// SIGKILL after 10 s), and then kills what is left of the jobs: it is a child subreaper, so the job steps that
// slurmd double-forks (slurmstepd and the job's processes) are its children rather than init's.
class Keeper {
 public:
  Keeper() {
    int to_keeper[2], from_keeper[2];
    if (::pipe(to_keeper) != 0 || ::pipe(from_keeper) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(to_keeper[1]);
      ::close(from_keeper[0]);
      serve(to_keeper[0], from_keeper[1]);
      ::_exit(0);
    }
    ::close(to_keeper[0]);
    ::close(from_keeper[1]);
    to_ = to_keeper[1];
    from_ = from_keeper[0];
  }
  // Closes the pipe and waits until the keeper has stopped everything.
  ~Keeper() {
    if (to_ >= 0) ::close(to_);
    if (from_ >= 0) ::close(from_);
    if (pid_ > 0) ::waitpid(pid_, nullptr, 0);
  }
  Keeper(const Keeper&) = delete;
  Keeper& operator=(const Keeper&) = delete;

  // Starts a program with stdout/stderr appended to `log` and SLURM_CONF=`conf`; returns its pid (0: failed).
  pid_t start(const std::vector<std::string>& argv, const fs::path& log, const fs::path& conf) {
    std::string line = "start\t" + log.string() + "\t" + conf.string();
    for (const auto& a : argv) line += "\t" + a;
    line += "\n";
    if (to_ < 0 || ::write(to_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return 0;
    std::string reply;
    char c = 0;
    while (::read(from_, &c, 1) == 1 && c != '\n') reply += c;
    return static_cast<pid_t>(std::atol(reply.c_str()));
  }

 private:
  static std::vector<std::string> split_tabs(const std::string& line) {
    std::vector<std::string> out;
    std::string field;
    std::istringstream in(line);
    while (std::getline(in, field, '\t')) out.push_back(field);
    return out;
  }

  // A command run by the keeper itself (scancel, squeue), as a child it waits for.
  static std::string run(const std::string& cmd) { return qh::testutil::capture(cmd).output; }

  static bool running(pid_t pid) {
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    return ::kill(pid, 0) == 0;
  }

  static void serve(int in, int out) {
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    ::signal(SIGINT, SIG_IGN);  // a Ctrl-C reaches the whole process group: the test's pipe closing ends us
    ::signal(SIGTERM, SIG_IGN);
    std::vector<pid_t> daemons;
    std::string conf, line;
    char c = 0;
    while (::read(in, &c, 1) == 1) {
      if (c != '\n') {
        line += c;
        continue;
      }
      const std::vector<std::string> f = split_tabs(line);
      line.clear();
      if (f.size() < 4 || f[0] != "start") continue;
      conf = f[2];
      const pid_t pid = ::fork();
      if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // should the keeper itself be killed
        const int fd = ::open(f[1].c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
          ::dup2(fd, 1);
          ::dup2(fd, 2);
        }
        ::setenv("SLURM_CONF", f[2].c_str(), 1);
        std::vector<char*> args;
        for (size_t i = 3; i < f.size(); ++i) args.push_back(const_cast<char*>(f[i].c_str()));
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        ::_exit(127);
      }
      if (pid > 0) daemons.push_back(pid);
      const std::string reply = std::to_string(pid > 0 ? pid : 0) + "\n";
      if (::write(out, reply.data(), reply.size()) < 0) break;
    }
    // The test is done: jobs first (slurmd must be up to end them), then the daemons, then any leftover step.
    if (!conf.empty() && daemons.size() >= 3 && running(daemons[1]) && running(daemons[2])) {
      const std::string env = "SLURM_CONF='" + conf + "' ";
      run(env + "scancel --user=root 2>/dev/null");
      for (int i = 0; i < 150 && !run(env + "squeue -h -o %i 2>/dev/null").empty(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
    for (auto it = daemons.rbegin(); it != daemons.rend(); ++it) {
      ::kill(*it, SIGTERM);
      for (int i = 0; i < 100 && running(*it); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (running(*it)) ::kill(*it, SIGKILL);
    }
    for (int round = 0; round < 50; ++round) {  // orphaned job steps, reparented to us
      bool any = false;
      for (const auto& e : fs::directory_iterator("/proc")) {
        const std::string name = e.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream stat(e.path() / "stat");
        std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
        const size_t close = text.rfind(')');
        if (close == std::string::npos) continue;
        std::istringstream rest(text.substr(close + 2));
        char state = 0;
        long ppid = 0;
        rest >> state >> ppid;
        if (ppid == ::getpid() && state != 'Z') {
          ::kill(static_cast<pid_t>(std::atol(name.c_str())), SIGKILL);
          any = true;
        }
      }
      while (::waitpid(-1, nullptr, WNOHANG) > 0) {
      }
      if (!any) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  pid_t pid_ = 0;
  int to_ = -1, from_ = -1;
};

// Whether a daemon the keeper started is still running (not exited, not a zombie waiting to be reaped).
bool alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] != 'Z';
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

// Polls `check` every 200 ms for `seconds`.
template <typename F>
bool wait_for(F check, double seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (check()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return check();
}

// "JobState=COMPLETED" of every record `scontrol show job ID` prints (one per array task), or "" when unknown.
std::vector<std::string> job_states(const std::string& id) {
  const Command c = sh("scontrol -o show job " + id);
  std::vector<std::string> states;
  std::istringstream lines(c.output);
  for (std::string line; std::getline(lines, line);) {
    const size_t at = line.find("JobState=");
    if (at != std::string::npos) states.push_back(line.substr(at + 9, line.find(' ', at) - at - 9));
  }
  return states;
}

bool finished(const std::string& state) {
  return state == "COMPLETED" || state == "FAILED" || state == "CANCELLED" || state == "TIMEOUT" ||
         state == "NODE_FAIL" || state == "OUT_OF_MEMORY" || state == "BOOT_FAIL" || state == "DEADLINE";
}

// Job ids printed by `qharness slurm --submit`: "train ID", "shards ID", "merge ID".
std::map<std::string, std::string> parse_ids(const std::string& output) {
  std::map<std::string, std::string> ids;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    for (const char* role : {"train", "shards", "merge"}) {
      const std::string prefix = std::string(role) + " ";
      if (line.rfind(prefix, 0) == 0) ids[role] = line.substr(prefix.size());
    }
  }
  return ids;
}

class SlurmCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool : {"munged", "mungekey", "slurmctld", "slurmd", "sbatch", "scontrol", "sinfo"}) {
      ASSERT_EQ(sh(std::string("command -v ") + tool).exit_code, 0)
          << tool << " is not installed: the test needs Debian's slurm-wlm and munge (./setup.sh test installs them)";
    }
    if (::geteuid() != 0) {
      GTEST_SKIP() << "slurmd must run as root to start jobs (it becomes the job's user), and this test runs as uid "
                   << ::geteuid() << "; CI runs it as root";
    }
    dir_ = fs::path(::testing::TempDir()) / ("qh_slurm_test." + std::to_string(::getpid()));
    fs::remove_all(dir_);
    for (const char* sub : {"munge", "socket", "state", "spool", "log"}) fs::create_directories(dir_ / sub);
    // munged refuses a key readable by others and a socket directory others cannot enter.
    fs::permissions(dir_ / "munge", fs::perms::owner_all);
    for (const fs::path& p : {dir_, dir_ / "socket"}) {
      fs::permissions(p, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                             fs::perms::others_read | fs::perms::others_exec);
    }
    conf_ = dir_ / "slurm.conf";
    keeper_ = std::make_unique<Keeper>();

    const Command key = sh("mungekey --create --keyfile " + (dir_ / "munge/munge.key").string());
    ASSERT_EQ(key.exit_code, 0) << key.output;
    const std::string socket = (dir_ / "socket/munge.socket").string();
    munged_ = keeper_->start({"munged", "--foreground", "--key-file=" + (dir_ / "munge/munge.key").string(),
                            "--socket=" + socket, "--pid-file=" + (dir_ / "munge/munged.pid").string(),
                            "--seed-file=" + (dir_ / "munge/munged.seed").string(),
                            "--log-file=" + (dir_ / "log/munged.log").string()},
                           dir_ / "log/munged.out", conf_);
    ASSERT_TRUE(wait_for([&] { return fs::exists(socket) || !alive(munged_); }, 20) && alive(munged_))
        << "munged did not start:\n" << read_text(dir_ / "log/munged.out");
    const Command roundtrip = sh("munge -n -S " + socket + " | unmunge -S " + socket);
    ASSERT_EQ(roundtrip.exit_code, 0) << "munge credential round trip failed:\n" << roundtrip.output;

    const int ctld_port = free_port(), slurmd_port = free_port();
    ASSERT_TRUE(ctld_port > 0 && slurmd_port > 0 && ctld_port != slurmd_port);
    std::ofstream(conf_) << "ClusterName=qhtest\n"
                            "SlurmctldHost=localhost(127.0.0.1)\n"
                            "SlurmctldPort=" << ctld_port << "\n"
                            "SlurmdPort=" << slurmd_port << "\n"
                            "SlurmUser=root\nSlurmdUser=root\n"
                            "AuthType=auth/munge\nCredType=cred/munge\n"
                            "AuthInfo=socket=" << socket << "\n"
                            "StateSaveLocation=" << (dir_ / "state").string() << "\n"
                            "SlurmdSpoolDir=" << (dir_ / "spool").string() << "\n"
                            "SlurmctldPidFile=" << (dir_ / "slurmctld.pid").string() << "\n"
                            "SlurmdPidFile=" << (dir_ / "slurmd.pid").string() << "\n"
                            "SlurmctldLogFile=" << (dir_ / "log/slurmctld.log").string() << "\n"
                            "SlurmdLogFile=" << (dir_ / "log/slurmd.log").string() << "\n"
                            "ProctrackType=proctrack/linuxproc\n"
                            "TaskPlugin=task/none\n"
                            "JobAcctGatherType=jobacct_gather/none\n"
                            "AccountingStorageType=accounting_storage/none\n"
                            "JobCompType=jobcomp/none\n"
                            "SchedulerType=sched/backfill\n"
                            "SelectType=select/cons_tres\nSelectTypeParameters=CR_CPU\n"
                            "MpiDefault=none\n"
                            "ReturnToService=2\n"
                            "MinJobAge=3600\n"
                            "NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN\n"
                            "PartitionName=qh Nodes=localhost Default=YES MaxTime=INFINITE State=UP\n";
    // slurmd loads a cgroup plugin even with proctrack/linuxproc and task/none, and the default (autodetect)
    // fails where /sys is not mounted, as in a chroot: "cgroup filesystem not mounted in /sys/fs/cgroup/ ...
    // slurmd initialization failed". The v1 plugin named outright loads without looking; nothing here uses it.
    std::ofstream(dir_ / "cgroup.conf") << "CgroupPlugin=cgroup/v1\n";
    ::setenv("SLURM_CONF", conf_.c_str(), 1);  // for sbatch, scontrol, sinfo and the jobs' environment

    ctld_ = keeper_->start({"slurmctld", "-D", "-f", conf_.string()}, dir_ / "log/slurmctld.out", conf_);
    ASSERT_TRUE(wait_for([&] { return sh("scontrol ping").output.find("UP") != std::string::npos || !alive(ctld_); },
                         60) && alive(ctld_))
        << "slurmctld did not start:\n" << read_text(dir_ / "log/slurmctld.out");
    slurmd_ = keeper_->start({"slurmd", "-D", "-N", "localhost", "-f", conf_.string()}, dir_ / "log/slurmd.out",
                             conf_);
    ASSERT_TRUE(wait_for([&] {
      const std::string s = sh("sinfo -h -N -o %t").output;
      return s.find("idle") == 0 || !alive(slurmd_);
    }, 60) && alive(slurmd_))
        << "slurmd did not register as idle (sinfo: " << sh("sinfo -h -N -o %t").output << "):\n"
        << read_text(dir_ / "log/slurmd.out");
  }

  void TearDown() override {
    keeper_.reset();  // cancels the jobs, stops the daemons and waits for it
    if (!dir_.empty() && !HasFailure()) fs::remove_all(dir_);
  }

  // Waits until every job of `ids` has finished; returns the logs to show when something went wrong.
  std::string wait_for_jobs(const std::map<std::string, std::string>& ids, double seconds) {
    wait_for([&] {
      for (const auto& [role, id] : ids) {
        const auto states = job_states(id);
        if (states.empty()) return false;
        for (const auto& s : states) {
          if (!finished(s)) return false;
        }
      }
      return true;
    }, seconds);
    std::string logs;
    for (const auto& [role, id] : ids) logs += role + " " + id + ": " + sh("scontrol -o show job " + id).output;
    return logs;
  }

  std::string job_logs(const fs::path& out) const {
    std::string text;
    if (fs::exists(out / "slurm/logs")) {
      for (const auto& e : fs::directory_iterator(out / "slurm/logs")) {
        text += "== " + e.path().string() + "\n" + read_text(e.path());
      }
    }
    return text + "== slurmctld.log (tail)\n" + sh("tail -n 30 " + (dir_ / "log/slurmctld.log").string()).output +
           "== slurmd.log (tail)\n" + sh("tail -n 30 " + (dir_ / "log/slurmd.log").string()).output;
  }

  fs::path dir_, conf_;
  std::unique_ptr<Keeper> keeper_;
  pid_t munged_ = 0, ctld_ = 0, slurmd_ = 0;
};

const std::string kQharness = QH_BINARY;
const std::string kSuite = std::string(QH_SOURCE_DIR) + "/suites/quickstart.yaml";

TEST_F(SlurmCluster, QuickstartAsAJobArrayEqualsALocalRun) {
  const fs::path out = dir_ / "cluster", cache = dir_ / "zoo-cache";
  const Command submitted = sh(kQharness + " slurm " + kSuite + " --out " + out.string() + " --shards 3" +
                               " --cpus-per-task 1 --time 60 --cache " + cache.string() + " --submit");
  ASSERT_EQ(submitted.exit_code, 0) << submitted.output;
  const auto ids = parse_ids(submitted.output);
  ASSERT_EQ(ids.size(), 3u) << submitted.output;
  const std::string states = wait_for_jobs(ids, 1500);
  for (const auto& [role, id] : ids) {
    for (const auto& s : job_states(id)) EXPECT_EQ(s, "COMPLETED") << role << "\n" << states << job_logs(out);
  }
  EXPECT_EQ(job_states(ids.at("shards")).size(), 3u) << states;  // one record per array task
  ASSERT_TRUE(fs::exists(out / "results.json")) << states << job_logs(out);
  for (int i = 1; i <= 3; ++i) {
    const auto p = qh::reports::read_results((out / "parts" / std::to_string(i) / "results.json").string());
    EXPECT_EQ(p.shard, std::to_string(i) + "/3");
  }

  // The same suite in one local process, on the checkpoints the training job made.
  const Command local = sh(kQharness + " run " + kSuite + " --out " + (dir_ / "local").string() + " --cache " +
                           cache.string() + " --jobs 1 --threads 2 --quiet");
  ASSERT_EQ(local.exit_code, 0) << local.output;
  const auto merged = qh::reports::read_results((out / "results.json").string());
  const auto single = qh::reports::read_results((dir_ / "local/results.json").string());
  ASSERT_EQ(merged.cases.size(), single.cases.size());
  ASSERT_EQ(merged.cases.size(), 3u * 2u * 4u);  // models x schemes x protections
  for (size_t i = 0; i < single.cases.size(); ++i) {
    auto a = qh::reports::to_json(single.cases[i]), b = qh::reports::to_json(merged.cases[i]);
    a.erase("seconds");
    b.erase("seconds");
    EXPECT_EQ(a.dump(), b.dump()) << single.cases[i].key();
  }
  EXPECT_EQ(merged.verdicts, single.verdicts);
  EXPECT_EQ(merged.suite_hash, single.suite_hash);
  EXPECT_TRUE(fs::exists(out / "report.md"));
  EXPECT_TRUE(fs::exists(out / "junit.xml"));

  // Shard 2 fails (the others resume from the first submission's case caches): Slurm cancels the merge rather
  // than run it, and the merge run by hand names the missing shard.
  const fs::path failing = dir_ / "failing";
  for (int i : {1, 3}) {
    fs::create_directories(failing / "parts" / std::to_string(i));
    fs::copy(out / "parts" / std::to_string(i) / ".cache", failing / "parts" / std::to_string(i) / ".cache");
  }
  const fs::path wrapper = dir_ / "fail-shard-2.sh";
  std::ofstream(wrapper) << "#!/bin/bash\n"
                            "if [ \"${SLURM_ARRAY_TASK_ID:-}\" = 2 ]; then echo 'shard 2 fails on purpose' >&2; exit 3; fi\n"
                            "exec " << kQharness << " \"$@\"\n";
  fs::permissions(wrapper, fs::perms::owner_all);
  const Command again = sh("QHARNESS=" + wrapper.string() + " " + kQharness + " slurm " + kSuite + " --out " +
                           failing.string() + " --shards 3 --cpus-per-task 1 --cache " + cache.string() + " --submit");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  const auto ids2 = parse_ids(again.output);
  ASSERT_EQ(ids2.size(), 3u) << again.output;
  const std::string states2 = wait_for_jobs(ids2, 600);
  EXPECT_EQ(job_states(ids2.at("train")), std::vector<std::string>{"COMPLETED"}) << states2;
  EXPECT_EQ(job_states(ids2.at("merge")), std::vector<std::string>{"CANCELLED"}) << states2 << job_logs(failing);
  EXPECT_FALSE(fs::exists(failing / "results.json"));
  const Command by_hand = sh("bash " + (failing / "slurm/merge.sbatch").string());
  EXPECT_EQ(by_hand.exit_code, 2) << by_hand.output;
  EXPECT_NE(by_hand.output.find("no such part file: " + (failing / "parts/2/results.json").string() +
                                "; merge: shard 2/3 is missing"),
            std::string::npos)
      << by_hand.output;
}

}  // namespace
