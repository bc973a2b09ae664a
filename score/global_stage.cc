#include "score/global_stage.h"

#include <algorithm>

namespace wijkpuls {

void AddInto(WijkState& into, const WijkState& part) {
  for (size_t i = 0; i < into.cells.size(); ++i) {
    into.cells[i].accepted += part.cells[i].accepted;
    into.cells[i].flagged += part.cells[i].flagged;
    into.cells[i].rejected += part.cells[i].rejected;
  }
  for (const auto& [day, tally] : part.days) {
    DayTally& d = into.days[day];
    for (int i = 0; i < kInstrumentCount; ++i) {
      d.accepted[i] += tally.accepted[i];
      d.flagged[i] += tally.flagged[i];
    }
  }
  if (into.stats.empty()) {
    into.stats = part.stats;
  } else if (!part.stats.empty()) {
    // Both sized by the same methodology: cells x indicators.
    for (size_t i = 0; i < into.stats.size() && i < part.stats.size(); ++i) {
      into.stats[i].n += part.stats[i].n;
      into.stats[i].sum += part.stats[i].sum;
      into.stats[i].sumsq += part.stats[i].sumsq;
    }
  }
  into.watermark = std::max(into.watermark, part.watermark);
  into.quality.Add(part.quality);
}

bool GlobalStage::Put(int32_t task, const StateKey& key, SummaryPosition position,
                      std::shared_ptr<const WijkState> state) {
  auto [it, inserted] = summaries_.try_emplace({key, task});
  if (!inserted && it->second.position > position) return false;
  it->second = Held{position, std::move(state)};
  return true;
}

void GlobalStage::DropTask(int32_t task) {
  std::erase_if(summaries_, [task](const auto& kv) { return kv.first.second == task; });
}

FieldworkState GlobalStage::Sum() const {
  FieldworkState out;
  auto it = summaries_.begin();
  while (it != summaries_.end()) {
    const StateKey& key = it->first.first;
    auto next = std::next(it);
    if (next == summaries_.end() || next->first.first != key) {
      out.Put(key, it->second.state);  // one task holds this wijk: shared, not copied
    } else {
      auto sum = std::make_shared<WijkState>(*it->second.state);
      for (; next != summaries_.end() && next->first.first == key; ++next) AddInto(*sum, *next->second.state);
      out.Put(key, std::move(sum));
    }
    it = next;
  }
  return out;
}

FieldworkState SumOfTasks(const TaskStates& tasks) {
  GlobalStage stage;
  for (const auto& [task, state] : tasks) {
    for (const auto& [key, w] : state.wijken()) stage.Put(task, key, SummaryPosition{}, w);
  }
  return stage.Sum();
}

std::map<int32_t, SummaryPosition> GlobalStage::Positions() const {
  std::map<int32_t, SummaryPosition> out;
  for (const auto& [k, held] : summaries_) {
    SummaryPosition& p = out[k.second];
    p = std::max(p, held.position);
  }
  return out;
}

}  // namespace wijkpuls
