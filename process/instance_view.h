// What an instance shows: the global stage (docs/design.md, "Several
// instances") of every task's summary, and the parts of the pipelines that
// run in it (pipeline.threads, each holding some tasks). Its readers (HTTP,
// the output publisher) get one CommittedState through the StateHub,
// whichever pipeline committed last. Only written state enters it: a
// pipeline hands its summaries over once their batch is written. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "process/state_hub.h"
#include "score/aggregates_codec.h"
#include "score/global_stage.h"

namespace wijkpuls {

class InstanceView {
 public:
  explicit InstanceView(StateHub& hub) : hub_(hub) {}

  // Pipeline `member`'s part as written (its tasks' state and positions, the
  // partitions it holds, its offsets; `state`, `reflected` and `version` are
  // the view's) with its tasks' summaries written with it. Publishes the
  // instance's state.
  void Publish(int member, std::shared_ptr<CommittedState> part, std::vector<Summary> summaries);
  // Summaries read from the summaries topic (other instances', and this
  // one's read back) or loaded from the store: a newer position per task
  // and key wins, an older one is ignored. Publishes when one was newer.
  void Offer(std::vector<Summary> summaries);

 private:
  void PublishLocked(std::shared_ptr<CommittedState> merged);

  StateHub& hub_;
  std::mutex mu_;
  GlobalStage stage_;
  std::map<int, std::shared_ptr<const CommittedState>> parts_;
  uint64_t version_ = 0;
};

}  // namespace wijkpuls
