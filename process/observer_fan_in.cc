#include "process/observer_fan_in.h"

#include <algorithm>

namespace wijkpuls {

class ObserverFanIn::Member : public PipelineObserver {
 public:
  Member(ObserverFanIn& in, int index) : in_(in), index_(index) {}
  void OnRecord(const std::string& topic, const RecordResult& result) override {
    std::lock_guard<std::mutex> lock(in_.mu_);
    in_.target_->OnRecord(topic, result);
  }
  void OnBatchCommitted(int records, double seconds) override {
    std::lock_guard<std::mutex> lock(in_.mu_);
    in_.target_->OnBatchCommitted(records, seconds);
  }
  void OnErased(int responses) override {
    std::lock_guard<std::mutex> lock(in_.mu_);
    in_.target_->OnErased(responses);
  }
  void OnPartitions(const std::vector<PartitionStatus>& partitions) override { in_.Partitions(index_, partitions); }
  void OnDeadLetters(size_t pending, uint64_t failures) override {
    // Each pipeline has its own sink: the instance's figures are their sums.
    std::lock_guard<std::mutex> lock(in_.mu_);
    in_.letters_[index_] = {pending, failures};
    size_t all_pending = 0;
    uint64_t all_failures = 0;
    for (const auto& [m, l] : in_.letters_) {
      all_pending += l.first;
      all_failures += l.second;
    }
    in_.target_->OnDeadLetters(all_pending, all_failures);
  }
  void OnStorageError() override {
    std::lock_guard<std::mutex> lock(in_.mu_);
    in_.target_->OnStorageError();
  }
  void OnRollback() override {
    std::lock_guard<std::mutex> lock(in_.mu_);
    in_.target_->OnRollback();
  }
  void OnRebalance(bool assigned, size_t partitions, double seconds) override {
    std::lock_guard<std::mutex> lock(in_.mu_);
    in_.target_->OnRebalance(assigned, partitions, seconds);
  }
  void OnTasks(size_t owned, const std::map<int32_t, int64_t>& restore_remaining) override {
    in_.Tasks(index_, owned, restore_remaining);
  }

 private:
  ObserverFanIn& in_;
  int index_;
};

ObserverFanIn::ObserverFanIn(PipelineObserver* target, int members) : target_(target) {
  for (int i = 0; i < members; ++i) members_.push_back(std::make_unique<Member>(*this, i));
}

ObserverFanIn::~ObserverFanIn() = default;

PipelineObserver* ObserverFanIn::member(int i) { return members_[static_cast<size_t>(i)].get(); }

void ObserverFanIn::Partitions(int member, const std::vector<PipelineObserver::PartitionStatus>& partitions) {
  std::lock_guard<std::mutex> lock(mu_);
  partitions_[member] = partitions;
  // A partition read by several pipelines (the withdrawals) once, at the
  // least any has written.
  std::map<TopicPartition, PipelineObserver::PartitionStatus> all;
  for (const auto& [m, list] : partitions_) {
    for (const PipelineObserver::PartitionStatus& p : list) {
      auto [it, inserted] = all.emplace(p.tp, p);
      if (!inserted) it->second.committed = std::min(it->second.committed, p.committed);
    }
  }
  std::vector<PipelineObserver::PartitionStatus> out;
  for (auto& [tp, p] : all) out.push_back(p);
  target_->OnPartitions(out);
}

void ObserverFanIn::Tasks(int member, size_t owned, const std::map<int32_t, int64_t>& restore_remaining) {
  std::lock_guard<std::mutex> lock(mu_);
  tasks_[member] = {owned, restore_remaining};
  size_t total = 0;
  std::map<int32_t, int64_t> remaining;
  for (const auto& [m, t] : tasks_) {
    total += t.first;
    remaining.insert(t.second.begin(), t.second.end());
  }
  target_->OnTasks(total, remaining);
}

}  // namespace wijkpuls
