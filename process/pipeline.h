// The pipeline loop: read records, decide each one, and commit them in
// batches (group commit: up to N records or T ms). A batch commit is
//   1. every dead letter of the batch delivered (retried until it is; on the
//      commit thread, while the next batch is filled),
//   2. one RocksDB WriteBatch with the batch's state changes, the aggregates
//      it touched and the next offset of every partition it read,
//   3. the committed state published to readers.
// A crash at any point leaves either the whole batch or none of it, and the
// consumer resumes from the stored offsets: exactly-once effect on state.
#pragma once

#include <atomic>
#include <condition_variable>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "process/dead_letters.h"
#include "process/health.h"
#include "process/instance_view.h"
#include "process/record_processor.h"
#include "process/record_source.h"
#include "process/state_hub.h"
#include "process/state.h"
#include "process/task_registry.h"
#include "score/aggregates_codec.h"
#include "score/global_stage.h"

namespace wijkpuls {

// Hooks for metrics; called on the pipeline thread, but OnDeadLetters on
// the commit thread too (never two calls at a time).
class PipelineObserver {
 public:
  virtual ~PipelineObserver() = default;
  // A committed record's outcome (reported at commit, so a redone batch is not counted twice).
  virtual void OnRecord(const std::string& topic, const RecordResult& result) = 0;
  virtual void OnBatchCommitted(int records, double seconds) = 0;
  // Responses a withdrawal erased in the tasks of a pipeline that does not
  // report the withdrawal itself (another of the instance does: OnRecord).
  virtual void OnErased(int /*responses*/) {}
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
  // The group gave (assigned) or took (revoked) `partitions` of the
  // responses topic; handling it held the pipeline for `seconds`.
  virtual void OnRebalance(bool /*assigned*/, size_t /*partitions*/, double /*seconds*/) {}
  // The responses partitions held, and per partition being restored (read
  // from its start without state here) the records still to read.
  virtual void OnTasks(size_t /*owned*/, const std::map<int32_t, int64_t>& /*restore_remaining*/) {}
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
  // Threads that decode, check and pseudonymise the next windows of records
  // (and read their lookups ahead) while this one applies the ones before to
  // the state; 0: this thread does it (the outcome is the same).
  int prepare_threads = 1;
  // Records read ahead and prepared together (prepare_threads + 1 such
  // windows are in flight).
  int window_records = 256;
  // Write a batch to RocksDB on a second thread while the next one is being
  // filled; it becomes visible (offsets, published state) once written.
  bool commit_thread = true;
  // A task (input partition) no longer held here keeps its stored state this
  // long, in case it comes back (then it goes on from its stored offset);
  // after that its key range and offset are deleted in one batch, and it
  // would be read again from the log's start.
  std::chrono::seconds keep_revoked{3600};
  // How many pipelines an instance runs (the daemon's setting: each is a
  // member of the group with its own consumer and threads, over the one
  // store; a Pipeline itself is one of them). 0 (the default): one per core
  // the process may use (at most 16).
  int threads = 0;
};

// Records read from the source but not yet applied: copies of the source's
// records (its views live only until the next poll) and their preparation.
struct ReadWindow {
  struct Slot {
    std::string topic, key, value, content_type;
    int32_t partition = 0;
    int64_t offset = 0;
    int64_t header_bytes = 0;
    PreparedRecord prepared;
    SourceRecord View() const;
  };
  std::vector<Slot> slots;  // reused; the first `size` are in use
  size_t size = 0;
  UnixNanos now = 0;        // the processing clock when the window was read
  std::shared_ptr<const DistrictRegister> districts;
  std::unique_ptr<ReadAhead> lookups;  // the stored keys its records look up, read ahead
  void Add(const SourceRecord& r);
};

class JobThread;

class Pipeline : public AssignmentHandler {
 public:
  Pipeline(StateStore& store, std::shared_ptr<const Methodology> methodology,
           std::shared_ptr<const DistrictRegister> districts, const Pseudonymiser& pseudonymiser,
           Clock clock, ProcessorOptions processor_options, DeadLetterSink& dead_letters,
           StateHub& hub, Health& health, PipelineObserver* observer, PipelineOptions options);
  ~Pipeline() override;

  // Makes this pipeline member `index` of an instance that runs several
  // (pipeline.threads) over one store: they share `view` and `registry`.
  // Without it, the pipeline is the instance's only one. Before Start.
  void JoinInstance(InstanceView& view, TaskRegistry& registry, int index);

  // Loads offsets and aggregates from the store and publishes them.
  absl::Status Start();
  // Runs until `stop` is set (then commits what it has) or, with exit_at_end,
  // until everything assigned is read and committed.
  absl::Status Run(RecordSource& source, const std::atomic<bool>& stop);

  // Swaps the district register between batches (SIGHUP). Thread-safe.
  void ReloadDistricts(std::shared_ptr<const DistrictRegister> districts);

  // Summaries of tasks read from the summaries topic (other instances', and
  // this one's own read back). Thread-safe; they reach the global stage, and
  // so the views, at once (a newer position per task and key wins: a stale
  // one is ignored).
  void OfferSummaries(std::vector<Summary> summaries) { view_->Offer(std::move(summaries)); }

  // AssignmentHandler (called from within source.Poll).
  void OnRevoke(const std::vector<TopicPartition>& partitions) override;
  OffsetMap OnAssign(const std::vector<TopicPartition>& partitions) override;

  int64_t records_committed() const { return records_committed_; }

 private:
  enum class CommitResult { kCommitted, kNothing, kRolledBack };
  // Hands the open batch to be written; `durable`: and waits until it is.
  CommitResult Commit(const std::atomic<bool>* stop, std::chrono::steady_clock::time_point give_up,
                      bool durable = false);
  // Waits for the batch being written (if any) and makes it visible; a failed
  // write sets fatal_. A batch whose dead letters were not delivered is not
  // written: it is abandoned with the open batch (Rollback, unless `rollback`
  // is false: the caller is Rollback).
  void FinishWrite(bool rollback = true);
  struct Writing;
  // On the commit thread: waits for the batch's dead letters, then writes it.
  void Write(Writing& w);
  // This pipeline's part of the instance's state (InstanceView::Publish),
  // with the input at `offsets` (of the responses partitions, those it holds).
  std::shared_ptr<CommittedState> Snapshot(OffsetMap offsets) const;
  // Where task `task`'s summary stands with its partition read to `offsets`.
  SummaryPosition PositionOf(int32_t task, const OffsetMap& offsets) const;
  // The state of the wijken in `keys` (all, when null) as their tasks'
  // summaries at `offsets` (for the global stage, once written).
  std::vector<Summary> Summarise(const TaskChanges* keys, const OffsetMap& offsets);
  // Loads the committed aggregates and tombstones into state_.
  absl::Status LoadState();
  // Before the first assignment, one of several pipelines holds no task.
  void ForgetUnheldTasks();
  void Rollback(const std::string& why);
  void Publish();
  void ApplyPendingReload();
  void ReportProgress();
  void DeadLetter(const SourceRecord& record, const RecordResult& result);
  // Reads up to a window of records; waits up to `timeout` for the first.
  void Read(RecordSource& source, std::chrono::milliseconds timeout);
  // Applies a window's records to the open batch (committing full batches);
  // false when the batch was abandoned.
  bool ApplyWindow(ReadWindow& window);
  bool ApplyOne(const SourceRecord& record, PreparedRecord& prepared, const wijkpuls::ReadAhead* ahead);
  // Applies every record read so far (before a commit forced from outside).
  void Drain();
  // Forgets every record read but not applied (they will be read again).
  void DiscardReadAhead();
  bool HasReadAhead() const { return !in_flight_.empty() || windows_[reading_].size > 0; }
  // Hands a window read to be prepared (on `preparer`, or none).
  void Submit(int window, int preparer);

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
  const std::atomic<bool>* stop_ = nullptr;  // Run's, while it runs
  InstanceState state_;        // committed state + the open batch, by task
  // What readers see is the global stage's sum of the tasks' summaries
  // (docs/design.md, "Several instances"), kept by the instance's view: with
  // one instance, the summaries of its tasks, each at the offset its
  // partition was read to.
  std::unique_ptr<InstanceView> own_view_;
  std::unique_ptr<TaskRegistry> own_registry_;
  InstanceView* view_ = nullptr;
  TaskRegistry* registry_ = nullptr;
  int member_ = 0;   // this pipeline's index in the instance
  bool several_ = false;  // one of several pipelines in the instance
  // The /readyz component `name` of this pipeline ("name #2" for the second).
  std::string Component(const char* name) const;
  std::map<int32_t, SummaryPosition> task_positions_;  // of this pipeline's tasks
  // The responses partitions the group gave this instance; unset before the
  // first assignment (and for sources without a group: replay).
  std::optional<std::set<int32_t>> owned_;
  // Partitions assigned without state here: read from their start.
  std::set<int32_t> restoring_;
  // A task with stored state that no pipeline here has held for
  // options_.keep_revoked is dropped by a commit (registry_).
  bool DropDue() const;
  // Changes in the open batch that no record made (tombstones applied to a
  // task taken over): the next commit writes them.
  bool changes_without_records_ = false;
  OffsetMap offsets_;          // committed next offsets
  OffsetMap batch_offsets_;    // next offsets of the open batch
  std::unique_ptr<StateBatch> batch_;
  TaskChanges dirty_;
  int batch_records_ = 0;
  int batch_erased_ = 0;  // by withdrawals another pipeline of the instance reports
  std::chrono::steady_clock::time_point batch_started_;
  std::chrono::steady_clock::time_point last_commit_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  int64_t records_committed_ = 0;

  // What the observer is told of a record once its batch is written.
  // `topic` is one of the processor options' names (a copy of the record's
  // topic per record was a heap allocation).
  struct PendingResult {
    const std::string* topic = nullptr;
    RecordResult result;
  };
  std::vector<PendingResult> pending_results_;
  // The open batch's entry of the partition the last record came from (a
  // window holds runs of one partition): its next offset, set without a
  // lookup by name. Null whenever batch_offsets_ is cleared.
  struct LastOffset {
    std::string topic;
    int32_t partition = 0;
    int64_t* next = nullptr;
  } last_offset_;

  // Read-ahead: windows_[reading_] is filled from the source; then it is
  // handed to a preparer and queued, and the windows are applied in the
  // order read once prepared: up to one per preparer is being prepared while
  // this thread applies another (prepare_threads + 1 windows; 2 without
  // preparers, the one read before is applied while the next is read).
  std::vector<ReadWindow> windows_;
  int reading_ = 0;
  struct InFlight {
    int window;
    int preparer;  // -1: none (prepared as it is applied)
  };
  std::deque<InFlight> in_flight_;  // read and not applied, oldest first
  std::vector<std::unique_ptr<JobThread>> preparers_;
  void WaitForPreparers();
  // The first index below n that no window in flight uses as `field`; -1: none.
  int FirstUnused(size_t n, int InFlight::*field) const;

  // The batch being written on writer_ (null without commit_thread): the open
  // batch reads through it until it is written.
  std::unique_ptr<JobThread> writer_;
  std::unique_ptr<Writing> writing_;
  absl::Status fatal_;  // set when nothing may be written any more
  uint64_t rollbacks_ = 0;  // batches abandoned so far
  bool low_disk_ = false;  // paused: too little free space to write a batch

  std::mutex reload_mu_;
  std::shared_ptr<const DistrictRegister> pending_districts_;
};

}  // namespace wijkpuls
