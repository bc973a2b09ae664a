// The global stage (docs/design.md, "Several instances"): what spans wijken —
// a wave's watermark, gebied and city figures, quota roll-ups — is computed
// from per-wijk summaries, whichever task (input partition) made them and in
// whatever order they arrive. A summary is a task's WijkState of one (wave,
// wijk) at an input position; the stage keeps the newest per task and key
// and adds the tasks' summaries of a wijk up: every count is an integer, so
// the sum is exact, and the watermark is the largest.
//
// With one instance and one task per partition, the sum of the tasks' states
// is the state one pipeline makes of all records (test:
// Determinism.TheSumOfPerPartitionStatesIsTheStateOfOnePipeline).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <utility>

#include "score/fieldwork_state.h"
#include "score/wijk_state.h"

namespace wijkpuls {

// The aggregates of each task (input partition) an instance holds, and what
// a batch changed in them (with each aggregate's quality change).
using TaskStates = std::map<int32_t, FieldworkState>;
using TaskChanges = std::map<int32_t, ChangedAggregates>;

// The sum of the tasks' aggregates per (wave, wijk): what one pipeline over
// all their records holds.
FieldworkState SumOfTasks(const TaskStates& tasks);

// Adds `part` to `into`: cells, days, statistics and the quality tally are
// summed; the watermark is the larger.
void AddInto(WijkState& into, const WijkState& part);

// How far into its input a summary is: the task's next responses offset and
// how many withdrawals it had applied. Processing is deterministic, so two
// summaries of one task and key at one position are equal, and one at a
// later position is the newer (a zombie's late write is never preferred).
struct SummaryPosition {
  int64_t responses = 0;
  int64_t withdrawals = 0;
  friend auto operator<=>(const SummaryPosition&, const SummaryPosition&) = default;
};

class GlobalStage {
 public:
  // Keeps `state` as task `task`'s summary of `key` unless the one held is at
  // a later position; true when it was kept.
  bool Put(int32_t task, const StateKey& key, SummaryPosition position,
           std::shared_ptr<const WijkState> state);
  // Forgets a task's summaries (its partition is gone from the topic).
  void DropTask(int32_t task);
  // Every (wave, wijk) with the sum of its tasks' summaries: what the views
  // are computed from.
  FieldworkState Sum() const;
  // The positions reflected, by task: the input a sum stands for.
  std::map<int32_t, SummaryPosition> Positions() const;

 private:
  struct Held {
    SummaryPosition position;
    std::shared_ptr<const WijkState> state;
  };
  std::map<std::pair<StateKey, int32_t>, Held> summaries_;  // by key, then task
};

}  // namespace wijkpuls
