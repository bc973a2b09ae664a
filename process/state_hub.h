// Hands the committed state from the pipeline (one writer) to its readers
// (HTTP, the output publisher). Only committed state is ever visible: a
// reader never sees a change that a crash could take back.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>

#include "score/fieldwork_state.h"
#include "score/global_stage.h"
#include "process/state.h"
#include "model/district_register.h"
#include "model/methodology.h"

namespace wijkpuls {

struct CommittedState {
  uint64_t version = 0;  // grows with every commit and every configuration reload
  FieldworkState state;  // the global stage's sum: what the views show
  // The tasks this instance holds, as committed, and the input position of
  // each (what it publishes as its summaries).
  TaskStates tasks;
  std::map<int32_t, SummaryPosition> task_positions;
  // The input positions `state` reflects, by task (its own and other
  // instances' summaries).
  std::map<int32_t, SummaryPosition> reflected;
  // The output keys this instance publishes: those whose owner partition
  // (OutputOwner) it holds. Unset: all (one instance, or a replay).
  std::optional<std::set<int32_t>> owned;
  int32_t input_partitions = -1;
  OffsetMap offsets;
  std::shared_ptr<const Methodology> methodology;
  std::shared_ptr<const DistrictRegister> districts;
  int64_t records_committed = 0;  // since start
};

class StateHub {
 public:
  void Publish(std::shared_ptr<const CommittedState> state);
  std::shared_ptr<const CommittedState> Current() const;
  // Waits until a state newer than `version` is published, or the timeout.
  std::shared_ptr<const CommittedState> WaitNewer(uint64_t version,
                                                  std::chrono::milliseconds timeout) const;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::shared_ptr<const CommittedState> current_;
};

}  // namespace wijkpuls
