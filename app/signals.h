// SIGTERM/SIGINT stop, SIGHUP reloads: handled on a dedicated thread with
// sigwait, so no work happens in a signal handler.
#pragma once

#include <atomic>
#include <functional>
#include <thread>

namespace wijkpuls {

class SignalWatcher {
 public:
  // Blocks the signals in the calling thread (call before starting threads).
  static void BlockInThisThread();
  // Starts the watcher: a stop signal sets `stop`; SIGHUP calls `on_reload`.
  SignalWatcher(std::atomic<bool>& stop, std::function<void()> on_reload);
  ~SignalWatcher();

 private:
  std::atomic<bool> done_{false};  // declared before the thread that reads it
  std::thread thread_;
};

}  // namespace wijkpuls
