#include "process/instance_view.h"

#include <algorithm>

namespace wijkpuls {
namespace {

// One CommittedState of the parts of several pipelines: what each holds, by
// task; offsets of a topic read by several (the withdrawals) at the least
// any has written.
// The configuration (a register reloaded between batches) is the latest's.
std::shared_ptr<CommittedState> Merge(const std::map<int, std::shared_ptr<const CommittedState>>& parts,
                                      const CommittedState& latest) {
  auto out = std::make_shared<CommittedState>();
  out->methodology = latest.methodology;
  out->districts = latest.districts;
  for (const auto& [member, p] : parts) {
    for (const auto& [task, state] : p->tasks) out->tasks[task] = state;
    for (const auto& [task, at] : p->task_positions) out->task_positions[task] = at;
    if (p->owned) {
      if (!out->owned) out->owned.emplace();
      out->owned->insert(p->owned->begin(), p->owned->end());
    }
    out->input_partitions = std::max(out->input_partitions, p->input_partitions);
    for (const auto& [tp, next] : p->offsets) {
      auto [it, inserted] = out->offsets.emplace(tp, next);
      if (!inserted) it->second = std::min(it->second, next);
    }
    out->records_committed += p->records_committed;
  }
  return out;
}

}  // namespace

void InstanceView::Publish(int member, std::shared_ptr<CommittedState> part, std::vector<Summary> summaries) {
  std::lock_guard<std::mutex> lock(mu_);
  for (Summary& s : summaries) stage_.Put(s.task, s.key, s.position, std::move(s.state));
  parts_[member] = part;
  // One pipeline: its part is the instance's (no copy).
  PublishLocked(parts_.size() == 1 ? std::move(part) : Merge(parts_, *part));
}

void InstanceView::Offer(std::vector<Summary> summaries) {
  std::lock_guard<std::mutex> lock(mu_);
  bool changed = false;
  for (Summary& s : summaries) changed = stage_.Put(s.task, s.key, s.position, std::move(s.state)) || changed;
  if (!changed || parts_.empty()) return;
  if (parts_.size() == 1) {
    PublishLocked(std::make_shared<CommittedState>(*parts_.begin()->second));
  } else {
    PublishLocked(Merge(parts_, *hub_.Current()));
  }
}

void InstanceView::PublishLocked(std::shared_ptr<CommittedState> merged) {
  merged->state = stage_.Sum();
  merged->reflected = stage_.Positions();
  merged->version = ++version_;
  hub_.Publish(std::move(merged));
}

}  // namespace wijkpuls
