// Privilege drop (see privileges.hpp). Capabilities, keepcaps and the bounding set are per
// thread in Linux, and glibc broadcasts only set*id calls to all threads, so the capability
// steps run in every thread through a signal handler (the scheme of libcap's psx): the caller
// signals each thread listed in /proc/self/task and waits until all have answered, listing
// again until no thread it has not handled appears (a new thread inherits its creator's state).
#include "privileges.hpp"

#include <dirent.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>
#include <vector>

namespace wgcored {
namespace {

constexpr int kLastCapFallback = 40;  // CAP_CHECKPOINT_RESTORE in Linux 5.9+

enum class Step { kPrepare, kApply };

// What every thread must end with. Written before the first signal, read in the handlers.
struct Target {
  Step step = Step::kPrepare;
  std::uint32_t keep_mask[2] = {0, 0};  // capabilities kept in effective + permitted
  bool keep_caps_across_setuid = false;
  bool can_drop_bounding = false;
  int last_cap = kLastCapFallback;
};
Target g_target;
// Threads that ran the step: each handler appends its tid.
constexpr int kMaxAcks = 4096;
std::atomic<pid_t> g_acks[kMaxAcks];
std::atomic<int> g_ack_count{0};
std::atomic<int> g_failures{0};
std::atomic<int> g_first_errno{0};

bool cap_in(const std::uint32_t mask[2], int cap) {
  return (mask[CAP_TO_INDEX(cap)] & CAP_TO_MASK(cap)) != 0;
}

// Runs the current step in the calling thread; only async-signal-safe system calls. Returns 0
// or an errno value.
int apply_step_here() {
  if (g_target.step == Step::kPrepare) {
    if (g_target.can_drop_bounding) {
      for (int c = 0; c <= g_target.last_cap; ++c) {
        if (cap_in(g_target.keep_mask, c)) continue;
        // EINVAL: a capability this kernel does not know; nothing to drop.
        if (::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL) return errno;
      }
    }
    // Ambient capabilities would survive an execve; nothing here uses them. EINVAL: a kernel
    // older than 4.3, which has none.
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
      return errno;
    if (::prctl(PR_SET_KEEPCAPS, g_target.keep_caps_across_setuid ? 1 : 0, 0, 0, 0) != 0)
      return errno;
    return 0;
  }
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  for (int i = 0; i < 2; ++i) {
    data[i].effective = g_target.keep_mask[i];
    data[i].permitted = g_target.keep_mask[i];
    data[i].inheritable = 0;
  }
  if (::syscall(SYS_capset, &hdr, data) != 0) return errno;
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return errno;
  // No execve from here on can gain privileges (setuid binaries, file capabilities).
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
  return 0;
}

void record(int err) {
  if (err == 0) return;
  g_failures.fetch_add(1);
  int zero = 0;
  g_first_errno.compare_exchange_strong(zero, err);
}

void on_signal(int) {
  int saved = errno;
  record(apply_step_here());
  int i = g_ack_count.fetch_add(1);
  if (i < kMaxAcks) g_acks[i].store(pid_t(::syscall(SYS_gettid)));
  errno = saved;
}

bool acked(pid_t tid) {
  int n = std::min(g_ack_count.load(), kMaxAcks);
  for (int i = 0; i < n; ++i)
    if (g_acks[i].load() == tid) return true;
  return false;
}

// A thread that exits with the signal still pending never runs the handler; gone, it holds
// nothing either (a UAPI client may disconnect during the drop).
bool thread_gone(pid_t tid) {
  std::string path = "/proc/self/task/" + std::to_string(tid);
  return ::access(path.c_str(), F_OK) != 0;
}

// Runs the current step in every thread of the process. Returns an error message or "".
std::string run_in_all_threads(Step step) {
  g_target.step = step;
  for (auto& a : g_acks) a.store(0);  // no tid acknowledged from the previous step
  g_ack_count = 0;
  g_failures = 0;
  g_first_errno = 0;
  record(apply_step_here());

  const int sig = SIGRTMIN + 2;  // unused by glibc (it reserves the two below SIGRTMIN)
  struct sigaction sa {}, old {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  if (::sigaction(sig, &sa, &old) != 0) return std::string("sigaction: ") + strerror(errno);

  const pid_t pid = ::getpid();
  const pid_t self = pid_t(::syscall(SYS_gettid));
  std::set<pid_t> done{self};
  std::string error;
  for (int pass = 0; pass < 100 && error.empty(); ++pass) {
    std::vector<pid_t> fresh;
    if (DIR* d = ::opendir("/proc/self/task")) {
      while (dirent* e = ::readdir(d)) {
        pid_t tid = pid_t(std::atoi(e->d_name));
        if (tid > 0 && !done.count(tid)) fresh.push_back(tid);
      }
      ::closedir(d);
    } else {
      error = std::string("listing /proc/self/task: ") + strerror(errno);
      break;
    }
    if (fresh.empty()) break;
    std::vector<pid_t> outstanding;
    for (pid_t tid : fresh) {
      done.insert(tid);
      if (::syscall(SYS_tgkill, pid, tid, sig) == 0) outstanding.push_back(tid);  // else gone
    }
    // Every thread answers within microseconds; five seconds means one is stuck.
    for (int i = 0; !outstanding.empty(); ++i) {
      std::erase_if(outstanding, [](pid_t tid) { return acked(tid) || thread_gone(tid); });
      if (outstanding.empty()) break;
      if (i == 5000) {
        error = "thread " + std::to_string(outstanding.front()) +
                " did not answer the privilege-drop signal";
        break;
      }
      timespec ms{0, 1000 * 1000};
      ::nanosleep(&ms, nullptr);
    }
  }
  ::sigaction(sig, &old, nullptr);
  if (!error.empty()) return error;
  if (g_failures.load() > 0)
    return std::string(step == Step::kPrepare ? "preparing" : "applying") +
           " the capability drop failed in " + std::to_string(g_failures.load()) +
           " thread(s): " + strerror(g_first_errno.load());
  return "";
}

bool current_caps(std::uint32_t permitted[2], std::uint32_t effective[2]) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &hdr, data) != 0) return false;
  for (int i = 0; i < 2; ++i) {
    permitted[i] = data[i].permitted;
    effective[i] = data[i].effective;
  }
  return true;
}

int last_cap() {
  FILE* f = fopen("/proc/sys/kernel/cap_last_cap", "r");
  int v = kLastCapFallback;
  if (f) {
    if (fscanf(f, "%d", &v) != 1) v = kLastCapFallback;
    fclose(f);
  }
  return v;
}

bool all_digits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

std::string parse_user(const std::string& spec, uid_t& uid, std::optional<gid_t>& gid) {
  std::vector<char> buf(16384);
  passwd pw{}, *found = nullptr;
  if (all_digits(spec)) {
    uid = uid_t(std::strtoul(spec.c_str(), nullptr, 10));
    // A numeric uid need not have a passwd entry (65534 in a minimal container).
    if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found) gid = found->pw_gid;
    return "";
  }
  if (::getpwnam_r(spec.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found)
    return "unknown user '" + spec + "'";
  uid = found->pw_uid;
  gid = found->pw_gid;
  return "";
}

std::string parse_group(const std::string& spec, gid_t& gid) {
  if (all_digits(spec)) {
    gid = gid_t(std::strtoul(spec.c_str(), nullptr, 10));
    return "";
  }
  std::vector<char> buf(16384);
  group gr{}, *found = nullptr;
  if (::getgrnam_r(spec.c_str(), &gr, buf.data(), buf.size(), &found) != 0 || !found)
    return "unknown group '" + spec + "'";
  gid = found->gr_gid;
  return "";
}

std::string drop_privileges(const PrivilegeOptions& opts) {
  std::uint32_t permitted[2] = {0, 0}, effective[2] = {0, 0};
  if (!current_caps(permitted, effective)) return std::string("capget: ") + strerror(errno);

  g_target = Target{};
  g_target.last_cap = last_cap();
  g_target.can_drop_bounding = cap_in(effective, CAP_SETPCAP);
  // What runtime reconfiguration uses, each kept only if we have it to keep: CAP_NET_ADMIN for
  // SO_MARK (fwmark) and the FORCE buffer sizes when the port is rebound; CAP_NET_BIND_SERVICE
  // for a port below 1024, since `wg-quick` and `wg setconf` set the port only after the
  // daemon started (dropping it would break ListenPort < 1024, which wireguard-go accepts).
  if (!opts.drop_all_caps) {
    for (int cap : {CAP_NET_ADMIN, CAP_NET_BIND_SERVICE})
      if (cap_in(permitted, cap)) g_target.keep_mask[CAP_TO_INDEX(cap)] |= CAP_TO_MASK(cap);
  }
  bool keep_any = g_target.keep_mask[0] || g_target.keep_mask[1];
  g_target.keep_caps_across_setuid = opts.uid.has_value() && keep_any;

  if (auto err = run_in_all_threads(Step::kPrepare); !err.empty()) return err;

  if (opts.uid || opts.gid) {
    // glibc applies these to every thread of the process (its setxid broadcast).
    if (opts.gid) {
      if (::setgroups(0, nullptr) != 0) return std::string("setgroups: ") + strerror(errno);
      if (::setresgid(*opts.gid, *opts.gid, *opts.gid) != 0)
        return "setresgid(" + std::to_string(*opts.gid) + "): " + strerror(errno);
    }
    if (opts.uid && ::setresuid(*opts.uid, *opts.uid, *opts.uid) != 0)
      return "setresuid(" + std::to_string(*opts.uid) + "): " + strerror(errno);
  }

  if (auto err = run_in_all_threads(Step::kApply); !err.empty()) return err;

  // Check what we got rather than trust it: the sets must equal the target exactly.
  if (!current_caps(permitted, effective)) return std::string("capget: ") + strerror(errno);
  for (int i = 0; i < 2; ++i) {
    if (permitted[i] != g_target.keep_mask[i] || effective[i] != g_target.keep_mask[i])
      return "capabilities were not dropped as asked";
  }
  if (opts.uid && (::getuid() != *opts.uid || ::geteuid() != *opts.uid))
    return "the user id did not change";
  return "";
}

std::string prepare_socket_dir(const std::string& dir) {
  if (dir.empty() || dir[0] != '/') return "socket directory '" + dir + "' is not an absolute path";
  // Parents as `mkdir -p` makes them; only the last component is ours to restrict.
  for (std::size_t pos = 1; pos < dir.size(); ++pos) {
    if (dir[pos] != '/') continue;
    std::string parent = dir.substr(0, pos);
    if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST)
      return "creating " + parent + ": " + strerror(errno);
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return "creating " + dir + ": " + strerror(errno);
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return "stat " + dir + ": " + strerror(errno);
  if (!S_ISDIR(st.st_mode)) return dir + " is not a directory";
  if (st.st_uid == ::geteuid()) {
    // wireguard-go makes it 0755; sockets of every daemon in it stay reachable by root.
    if ((st.st_mode & 07777) != 0700 && ::chmod(dir.c_str(), 0700) != 0)
      return "chmod 0700 " + dir + ": " + strerror(errno);
  } else if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    return dir + " is writable by others and not ours; refusing to put a socket in it";
  }
  return "";
}

}  // namespace wgcored
