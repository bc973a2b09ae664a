// The observer of an instance that runs several pipelines (pipeline.threads):
// each pipeline reports to its own member, and the target (the metrics) sees
// the instance: the union of the partitions and tasks each holds. Outcomes,
// commits and rebalances pass straight through. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "process/pipeline.h"

namespace wijkpuls {

class ObserverFanIn {
 public:
  ObserverFanIn(PipelineObserver* target, int members);
  ~ObserverFanIn();
  PipelineObserver* member(int i);

 private:
  class Member;
  void Partitions(int member, const std::vector<PipelineObserver::PartitionStatus>& partitions);
  void Tasks(int member, size_t owned, const std::map<int32_t, int64_t>& restore_remaining);

  PipelineObserver* target_;
  std::vector<std::unique_ptr<Member>> members_;
  std::mutex mu_;
  std::map<int, std::vector<PipelineObserver::PartitionStatus>> partitions_;
  std::map<int, std::pair<size_t, std::map<int32_t, int64_t>>> tasks_;
  std::map<int, std::pair<size_t, uint64_t>> letters_;  // pending, failures
};

}  // namespace wijkpuls
