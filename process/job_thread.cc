#include "process/job_thread.h"

#include <pthread.h>

namespace wijkpuls {

JobThread::JobThread(const char* name) : name_(name), thread_([this] { Loop(); }) {}

JobThread::~JobThread() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    quit_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void JobThread::Submit(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = std::move(job);
  }
  cv_.notify_all();
}

void JobThread::Wait() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return !job_; });
}

bool JobThread::Idle() {
  std::lock_guard<std::mutex> lock(mu_);
  return !job_;
}

void JobThread::Loop() {
  pthread_setname_np(pthread_self(), name_);
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return quit_ || job_; });
    if (quit_) return;
    lock.unlock();
    job_();  // only this thread touches job_ while it is set
    lock.lock();
    job_ = nullptr;
    cv_.notify_all();
  }
}

}  // namespace wijkpuls
