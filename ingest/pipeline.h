// The pipeline loop: read records, decide each one, and commit them in
// batches (group commit: up to N records or T ms). A batch commit is
//   1. every dead letter of the batch delivered (retried until it is),
//   2. one RocksDB WriteBatch with the batch's state changes, the aggregates
//      it touched and the next offset of every partition it read,
//   3. the committed state published to readers.
// A crash at any point leaves either the whole batch or none of it, and the
// consumer resumes from the stored offsets: exactly-once effect on state.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "ingest/dead_letters.h"
#include "ingest/health.h"
#include "ingest/record_processor.h"
#include "ingest/record_source.h"
#include "ingest/state_hub.h"
#include "store/state_store.h"

namespace wijkpuls {

// Hooks for metrics; called on the pipeline thread.
class PipelineObserver {
 public:
  virtual ~PipelineObserver() = default;
  // A committed record's outcome (reported at commit, so a redone batch is not counted twice).
  virtual void OnRecord(const std::string& topic, const RecordResult& result) = 0;
  virtual void OnBatchCommitted(int records, double seconds) = 0;
  struct PartitionStatus {
    TopicPartition tp;
    int64_t committed = 0;       // next offset stored with the state
    int64_t high_watermark = -1; // -1 unknown
    int64_t low_watermark = 0;
  };
  virtual void OnPartitions(const std::vector<PartitionStatus>& partitions) = 0;
  virtual void OnDeadLetters(size_t pending, uint64_t failures) = 0;
  virtual void OnStorageError() = 0;
  virtual void OnRollback() = 0;
};

struct PipelineOptions {
  int max_batch_records = 5000;
  std::chrono::milliseconds linger{100};
  bool exit_at_end = false;  // stop once every assigned partition is read and committed
  // How long one attempt waits for dead letters before the batch is redone.
  std::chrono::milliseconds dead_letter_wait{30000};
  // Lag without a commit for this long makes /readyz report a stall.
  std::chrono::milliseconds stall_after{60000};
  // Pause after a batch was redone, before reading again.
  std::chrono::milliseconds retry_backoff{1000};
  // On SIGTERM, how long to try to commit the last batch.
  std::chrono::milliseconds shutdown_budget{7000};
};

class Pipeline : public AssignmentHandler {
 public:
  Pipeline(StateStore& store, std::shared_ptr<const Methodology> methodology,
           std::shared_ptr<const DistrictRegister> districts, const Pseudonymiser& pseudonymiser,
           Clock clock, ProcessorOptions processor_options, DeadLetterSink& dead_letters,
           StateHub& hub, Health& health, PipelineObserver* observer, PipelineOptions options);

  // Loads offsets and aggregates from the store and publishes them.
  absl::Status Start();
  // Runs until `stop` is set (then commits what it has) or, with exit_at_end,
  // until everything assigned is read and committed.
  absl::Status Run(RecordSource& source, const std::atomic<bool>& stop);

  // Swaps the district register between batches (SIGHUP). Thread-safe.
  void ReloadDistricts(std::shared_ptr<const DistrictRegister> districts);

  // AssignmentHandler (called from within source.Poll).
  void OnRevoke(const std::vector<TopicPartition>& partitions) override;
  OffsetMap OnAssign(const std::vector<TopicPartition>& partitions) override;

  int64_t records_committed() const { return records_committed_; }

 private:
  enum class CommitResult { kCommitted, kNothing, kRolledBack };
  CommitResult Commit(const std::atomic<bool>* stop, std::chrono::steady_clock::time_point give_up);
  void Rollback(const std::string& why);
  void Publish();
  void ApplyPendingReload();
  void ReportProgress();
  void DeadLetter(const SourceRecord& record, const RecordResult& result);

  StateStore& store_;
  std::shared_ptr<const Methodology> methodology_;
  std::shared_ptr<const DistrictRegister> districts_;
  RecordProcessor processor_;
  DeadLetterSink& dead_letters_;
  StateHub& hub_;
  Health& health_;
  PipelineObserver* observer_;
  PipelineOptions options_;

  RecordSource* source_ = nullptr;
  FieldworkState state_;       // committed state + the open batch
  OffsetMap offsets_;          // committed next offsets
  OffsetMap batch_offsets_;    // next offsets of the open batch
  std::unique_ptr<StateBatch> batch_;
  std::set<StateKey> dirty_;
  int batch_records_ = 0;
  std::chrono::steady_clock::time_point batch_started_;
  std::chrono::steady_clock::time_point last_commit_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  uint64_t version_ = 0;
  int64_t records_committed_ = 0;

  struct PendingResult {
    std::string topic;
    RecordResult result;
  };
  std::vector<PendingResult> pending_results_;
  absl::Status fatal_;  // set when nothing may be written any more
  bool low_disk_ = false;  // paused: too little free space to write a batch

  std::mutex reload_mu_;
  std::shared_ptr<const DistrictRegister> pending_districts_;
};

}  // namespace wijkpuls
