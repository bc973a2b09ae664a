#include "process/task_registry.h"

namespace wijkpuls {

void TaskRegistry::Take(int member, int32_t task) {
  std::unique_lock<std::mutex> lock(mu_);
  ++waiting_;
  cv_.wait(lock, [&] {
    auto it = busy_.find(task);
    return it == busy_.end() || it->second == member;
  });
  --waiting_;
  holder_[task] = member;
  unheld_.erase(task);
}

void TaskRegistry::Give(int member, int32_t task, TimePoint since) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = holder_.find(task);
  if (it != holder_.end()) {
    if (it->second != member) return;  // taken by another member meanwhile
    holder_.erase(it);
  }
  unheld_.emplace(task, since);
}

void TaskRegistry::Unheld(int32_t task, TimePoint since) {
  std::lock_guard<std::mutex> lock(mu_);
  if (holder_.count(task)) return;
  unheld_.emplace(task, since);
}

int TaskRegistry::waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_;
}

int TaskRegistry::Holder(int32_t task) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = holder_.find(task);
  return it == holder_.end() ? -1 : it->second;
}

bool TaskRegistry::AnyDue(TimePoint now, std::chrono::seconds keep) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [task, since] : unheld_) {
    if (now - since >= keep && !busy_.count(task)) return true;
  }
  return false;
}

std::vector<int32_t> TaskRegistry::ClaimDrops(int member, TimePoint now, std::chrono::seconds keep) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<int32_t> out;
  for (auto it = unheld_.begin(); it != unheld_.end();) {
    if (now - it->second < keep || busy_.count(it->first)) {
      ++it;
      continue;
    }
    out.push_back(it->first);
    busy_[it->first] = member;
    it = unheld_.erase(it);
  }
  std::vector<int32_t>& mine = dropping_[member];
  mine.insert(mine.end(), out.begin(), out.end());
  return out;
}

bool TaskRegistry::BeginWrite(int member, const std::set<int32_t>& tasks, bool held_only) {
  std::lock_guard<std::mutex> lock(mu_);
  for (int32_t task : tasks) {
    auto it = holder_.find(task);
    if (it == holder_.end() ? held_only : it->second != member) return false;
  }
  for (int32_t task : tasks) busy_[task] = member;
  return true;
}

void TaskRegistry::EndWrite(int member, bool written) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<int32_t> drops;
    drops.swap(dropping_[member]);
    for (auto it = busy_.begin(); it != busy_.end();) {
      it = it->second == member ? busy_.erase(it) : std::next(it);
    }
    // A drop not written is due again (unless a member took the task since).
    if (!written) {
      for (int32_t task : drops) {
        if (!holder_.count(task)) unheld_.emplace(task, TimePoint{});
      }
    }
  }
  cv_.notify_all();
}

}  // namespace wijkpuls
