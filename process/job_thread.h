// A thread that runs one job at a time, handed over by its owner: the
// pipeline prepares the next window of records on one (wp-prepare) and writes
// the previous batch on another (wp-commit) while it applies records.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace wijkpuls {

class JobThread {
 public:
  // `name` (at most 15 characters) shows in top -H and perf.
  explicit JobThread(const char* name);
  ~JobThread();  // waits for the job being run
  JobThread(const JobThread&) = delete;
  JobThread& operator=(const JobThread&) = delete;

  // Runs `job` on the thread; the previous one must be finished (Wait).
  void Submit(std::function<void()> job);
  // Returns once the submitted job (if any) is finished.
  void Wait();
  bool Idle();

 private:
  void Loop();

  const char* name_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::function<void()> job_;
  bool quit_ = false;
  std::thread thread_;  // last: starts after the rest is initialised
};

}  // namespace wijkpuls
