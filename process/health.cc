#include "process/health.h"

#include "model/log.h"

namespace wijkpuls {

void Health::Set(const std::string& component, std::string problem, bool log) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = problems_.find(component);
  if (problem.empty()) {
    if (it != problems_.end()) {
      if (log) spdlog::info("recovered: {} (was: {})", component, it->second);
      problems_.erase(it);
    }
    return;
  }
  if (it == problems_.end() || it->second != problem) {
    if (log) spdlog::warn("not ready: {}: {}", component, problem);
    problems_[component] = std::move(problem);
  }
}

bool Health::Ready(std::vector<std::string>* problems) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (problems) {
    for (const auto& [c, p] : problems_) problems->push_back(c + ": " + p);
  }
  return problems_.empty();
}

bool Health::Has(const std::string& component) const {
  std::lock_guard<std::mutex> lock(mu_);
  // "consumer" also when only "consumer #2" (a second pipeline's) is set.
  auto it = problems_.lower_bound(component);
  return it != problems_.end() && (it->first == component || it->first.rfind(component + " #", 0) == 0);
}

}  // namespace wijkpuls
