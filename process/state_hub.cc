#include "process/state_hub.h"

namespace wijkpuls {

void StateHub::Publish(std::shared_ptr<const CommittedState> state) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    current_ = std::move(state);
  }
  cv_.notify_all();
}

std::shared_ptr<const CommittedState> StateHub::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

std::shared_ptr<const CommittedState> StateHub::WaitNewer(uint64_t version,
                                                          std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return current_ && current_->version > version; });
  return current_;
}

}  // namespace wijkpuls
