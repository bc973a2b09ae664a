#include "app/signals.h"

#include <pthread.h>
#include <signal.h>

#include <ctime>

#include "model/log.h"

namespace wijkpuls {
namespace {
sigset_t Watched() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}
}  // namespace

void SignalWatcher::BlockInThisThread() {
  // A parent (nohup, some CI runners) may have set SIGHUP to be ignored; an
  // ignored signal is dropped even while blocked, so restore the default.
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) signal(sig, SIG_DFL);
  // A peer that closes a socket must not kill the daemon (TLS writes use
  // write(2), which raises SIGPIPE): the write fails with EPIPE instead.
  signal(SIGPIPE, SIG_IGN);
  sigset_t set = Watched();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

SignalWatcher::SignalWatcher(std::atomic<bool>& stop, std::function<void()> on_reload) {
  thread_ = std::thread([this, &stop, on_reload = std::move(on_reload)] {
        sigset_t set = Watched();
        timespec wait{0, 200'000'000};
        while (!done_.load()) {
          const int sig = sigtimedwait(&set, nullptr, &wait);
          if (sig == SIGHUP) {
            spdlog::info("SIGHUP: reloading the district register and the TLS certificate");
            if (on_reload) on_reload();
          } else if (sig == SIGTERM || sig == SIGINT) {
            if (stop.exchange(true)) {
              spdlog::warn("second stop signal: exiting at once");
              std::_Exit(1);
            }
            spdlog::info("{}: stopping (finishing the batch, committing, closing)",
                         sig == SIGTERM ? "SIGTERM" : "SIGINT");
          }
        }
      });
}

SignalWatcher::~SignalWatcher() {
  done_ = true;
  if (thread_.joinable()) thread_.join();
}

}  // namespace wijkpuls
