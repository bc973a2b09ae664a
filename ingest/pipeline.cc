#include "ingest/pipeline.h"

#include <spdlog/spdlog.h>

#include <thread>

#include "validate/text.h"
#include "wijkpuls/v1/wijkpuls.pb.h"

namespace wijkpuls {
namespace {

using Clock_ = std::chrono::steady_clock;

double SecondsSince(Clock_::time_point t) {
  return std::chrono::duration<double>(Clock_::now() - t).count();
}

}  // namespace

Pipeline::Pipeline(StateStore& store, std::shared_ptr<const Methodology> methodology,
                   std::shared_ptr<const DistrictRegister> districts,
                   const Pseudonymiser& pseudonymiser, Clock clock,
                   ProcessorOptions processor_options, DeadLetterSink& dead_letters, StateHub& hub,
                   Health& health, PipelineObserver* observer, PipelineOptions options)
    : store_(store),
      methodology_(std::move(methodology)),
      districts_(std::move(districts)),
      processor_(*methodology_, *districts_, pseudonymiser, std::move(clock),
                 std::move(processor_options)),
      dead_letters_(dead_letters),
      hub_(hub),
      health_(health),
      observer_(observer),
      options_(options) {}

absl::Status Pipeline::Start() {
  absl::StatusOr<OffsetMap> offsets = store_.LoadOffsets();
  if (!offsets.ok()) return offsets.status();
  offsets_ = std::move(*offsets);
  if (absl::Status st = store_.LoadAggregates(*methodology_, state_); !st.ok()) return st;
  batch_ = store_.NewBatch();
  last_commit_ = Clock_::now();
  Publish();
  return absl::OkStatus();
}

void Pipeline::ReloadDistricts(std::shared_ptr<const DistrictRegister> districts) {
  std::lock_guard<std::mutex> lock(reload_mu_);
  pending_districts_ = std::move(districts);
}

void Pipeline::ApplyPendingReload() {
  std::shared_ptr<const DistrictRegister> next;
  {
    std::lock_guard<std::mutex> lock(reload_mu_);
    next = std::move(pending_districts_);
  }
  if (!next) return;
  districts_ = std::move(next);
  processor_.SetDistricts(*districts_);
  spdlog::info("district register reloaded from {} (sha256 {})", districts_->path(),
               districts_->sha256().substr(0, 12));
  Publish();
}

void Pipeline::Publish() {
  auto cs = std::make_shared<CommittedState>();
  cs->version = ++version_;
  cs->state = state_;
  cs->offsets = offsets_;
  cs->methodology = methodology_;
  cs->districts = districts_;
  cs->records_committed = records_committed_;
  hub_.Publish(std::move(cs));
}

void Pipeline::DeadLetter(const SourceRecord& record, const RecordResult& result) {
  v1::Rejection rej;
  v1::RejectReason reason = v1::REJECT_REASON_UNSPECIFIED;
  v1::RejectReason_Parse(std::string(WireName(*result.reason)), &reason);
  rej.set_reason(reason);
  rej.set_detail(result.detail);
  rej.set_source_topic(std::string(record.topic));
  rej.set_source_partition(record.partition);
  rej.set_source_offset(record.offset);
  rej.set_original(std::string(record.value));
  rej.set_response_id(result.response_id);
  rej.set_original_content_type(std::string(record.content_type));
  OutgoingRecord out;
  out.topic = processor_.options().rejected_topic;
  out.key = std::string(record.key);
  out.value = rej.SerializeAsString();
  out.headers = {{"wijkpuls-reason", std::string(WireName(*result.reason))},
                 {"wijkpuls-source", Cat(record.topic, "/", record.partition, "/", record.offset)},
                 {"content-type", "application/x-protobuf"}};
  dead_letters_.Send(std::move(out));
  spdlog::debug("{}/{}/{}: rejected {}: {}", record.topic, record.partition, record.offset,
                WireName(*result.reason), result.detail);
}

void Pipeline::Rollback(const std::string& why) {
  spdlog::warn("abandoning the open batch of {} records ({}); they will be read again", batch_records_,
               why);
  dead_letters_.Discard();
  batch_ = store_.NewBatch();
  dirty_.clear();
  batch_offsets_.clear();
  batch_records_ = 0;
  pending_results_.clear();
  if (absl::Status st = store_.LoadAggregates(*methodology_, state_); !st.ok()) {
    // Without the committed aggregates in memory nothing may be written.
    fatal_ = absl::Status(st.code(), Cat("reloading the state after a failed batch: ", st.message()));
    return;
  }
  if (source_ != nullptr) source_->Rewind(offsets_);
  if (observer_) {
    observer_->OnRollback();
    observer_->OnDeadLetters(0, dead_letters_.Failures());
  }
}

Pipeline::CommitResult Pipeline::Commit(const std::atomic<bool>* stop, Clock_::time_point give_up) {
  if (batch_records_ == 0) return CommitResult::kNothing;
  const auto started = Clock_::now();
  const int k = static_cast<int>(methodology_->indicators.size());
  for (const StateKey& key : dirty_) batch_->PutAggregates(key, *state_.Find(key), k);
  for (const auto& [tp, next] : batch_offsets_) batch_->PutOffset(tp.first, tp.second, next);

  // 1. Dead letters first: offsets never pass an undelivered rejection.
  while (true) {
    absl::Status st = dead_letters_.Flush(std::chrono::milliseconds(500));
    if (observer_) observer_->OnDeadLetters(dead_letters_.Pending(), dead_letters_.Failures());
    if (st.ok()) break;
    if (Clock_::now() - started >= std::chrono::seconds(5)) {
      health_.Set("dead_letters", Cat("cannot deliver to the dead-letter topic: ", st.message()));
    }
    if (!dead_letters_.Connected()) health_.Set("kafka", "the Kafka brokers are unreachable");
    const bool stopping = stop != nullptr && stop->load();
    if ((stopping && Clock_::now() >= give_up) || Clock_::now() - started >= options_.dead_letter_wait) {
      Rollback(Cat("dead letters not delivered: ", st.message()));
      return CommitResult::kRolledBack;
    }
  }
  health_.Clear("dead_letters");

  // 2. State and offsets in one atomic write, if there is room for it.
  const int64_t free_bytes = store_.FreeBytes();
  if (free_bytes >= 0 && free_bytes < store_.min_free_bytes()) {
    health_.Set("storage", Cat("only ", free_bytes >> 20, " MB free for the state directory (",
                               store_.dir(), "), below state.min_free_mb: consumption paused"));
    if (observer_) observer_->OnStorageError();
    Rollback("too little disk space to write the batch");
    low_disk_ = true;
    return CommitResult::kRolledBack;
  }
  if (absl::Status st = store_.Commit(*batch_); !st.ok()) {
    // RocksDB cannot go on after a failed log write. What was committed is
    // intact; the service manager restarts wijkpuls, which goes on from it.
    spdlog::critical("state write failed: {}; stopping (committed state is intact)", MessageOf(st));
    health_.Set("storage", Cat("state writes fail: ", st.message()));
    if (observer_) observer_->OnStorageError();
    fatal_ = absl::UnavailableError(Cat("state write failed: ", st.message()));
    return CommitResult::kRolledBack;
  }
  low_disk_ = false;
  health_.Clear("storage");

  // 3. Visible to readers and (informationally) to the consumer group.
  for (const auto& [tp, next] : batch_offsets_) offsets_[tp] = next;
  records_committed_ += batch_records_;
  const int records = batch_records_;
  Publish();
  if (source_ != nullptr) source_->Committed(offsets_);
  if (observer_) {
    for (const PendingResult& p : pending_results_) observer_->OnRecord(p.topic, p.result);
    observer_->OnBatchCommitted(records, SecondsSince(started));
  }
  batch_ = store_.NewBatch();
  dirty_.clear();
  batch_offsets_.clear();
  pending_results_.clear();
  batch_records_ = 0;
  last_commit_ = Clock_::now();
  return CommitResult::kCommitted;
}

void Pipeline::OnRevoke(const std::vector<TopicPartition>&) {
  if (fatal_.ok()) Commit(nullptr, Clock_::now() + options_.shutdown_budget);
}

OffsetMap Pipeline::OnAssign(const std::vector<TopicPartition>&) {
  if (fatal_.ok()) Commit(nullptr, Clock_::now() + options_.shutdown_budget);
  return offsets_;
}

void Pipeline::ReportProgress() {
  if (source_ == nullptr) return;
  std::vector<PipelineObserver::PartitionStatus> parts;
  int64_t lag = 0;
  for (const PartitionProgress& p : source_->Progress()) {
    PipelineObserver::PartitionStatus s;
    s.tp = p.tp;
    auto it = offsets_.find({p.tp.topic, p.tp.partition});
    s.committed = it == offsets_.end() ? 0 : it->second;
    s.high_watermark = p.high_watermark;
    s.low_watermark = p.low_watermark;
    const int64_t from = std::max(s.committed, p.low_watermark);
    if (p.high_watermark > from) lag += p.high_watermark - from;
    parts.push_back(s);
  }
  if (observer_) observer_->OnPartitions(parts);
  if (source_->Disconnected() || !dead_letters_.Connected()) {
    health_.Set("kafka", "the Kafka brokers are unreachable");
  } else {
    health_.Clear("kafka");
  }
  if (!source_->Assigned()) {
    health_.Set("consumer", "no input partitions assigned (yet)", /*log=*/Clock_::now() - started_ > std::chrono::seconds(30));
  } else if (lag > 0 && Clock_::now() - last_commit_ > options_.stall_after) {
    health_.Set("consumer", Cat("stalled: ", lag, " records behind and nothing committed for ",
                                static_cast<int64_t>(SecondsSince(last_commit_)), " s"));
  } else {
    health_.Clear("consumer");
  }
}

absl::Status Pipeline::Run(RecordSource& source, const std::atomic<bool>& stop) {
  source_ = &source;
  auto last_report = Clock_::now() - std::chrono::seconds(10);
  while (!stop.load() && fatal_.ok()) {
    if (low_disk_) {
      // Nothing can be written: do not read either, until there is room.
      const int64_t free_bytes = store_.FreeBytes();
      if (free_bytes >= 0 && free_bytes < store_.min_free_bytes()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        ReportProgress();
        continue;
      }
      spdlog::info("{} MB free for the state directory again: consumption resumes", free_bytes >> 20);
      low_disk_ = false;
    }
    if (batch_records_ == 0) ApplyPendingReload();
    auto timeout = std::chrono::milliseconds(100);
    if (batch_records_ > 0) {
      auto left = options_.linger - std::chrono::duration_cast<std::chrono::milliseconds>(
                                        Clock_::now() - batch_started_);
      timeout = std::max(std::chrono::milliseconds(0), std::min(timeout, left));
    }
    if (std::optional<SourceRecord> rec = source.Poll(timeout)) {
      if (batch_records_ == 0) batch_started_ = Clock_::now();
      absl::StatusOr<RecordResult> result = processor_.Process(*rec, *batch_, state_, dirty_);
      if (!result.ok()) {
        health_.Set("storage", Cat("state reads fail: ", result.status().message()));
        if (observer_) observer_->OnStorageError();
        Rollback(Cat("state read failed: ", result.status().message()));
        std::this_thread::sleep_for(options_.retry_backoff);
        continue;
      }
      if (result->DeadLetter()) DeadLetter(*rec, *result);
      batch_offsets_[{std::string(rec->topic), rec->partition}] = rec->offset + 1;
      ++batch_records_;
      pending_results_.push_back(PendingResult{std::string(rec->topic), std::move(*result)});
    }
    const bool full = batch_records_ >= options_.max_batch_records;
    // Linger only while more records are coming: at the end of the input the
    // batch is committed at once.
    const bool due = batch_records_ > 0 &&
                     (Clock_::now() - batch_started_ >= options_.linger || source.AtEnd());
    if (full || due) {
      if (Commit(&stop, Clock_::now() + options_.shutdown_budget) == CommitResult::kRolledBack) {
        std::this_thread::sleep_for(options_.retry_backoff);
      }
    }
    if (Clock_::now() - last_report >= std::chrono::seconds(1)) {
      ReportProgress();
      last_report = Clock_::now();
    }
    if (options_.exit_at_end && batch_records_ == 0 && source.AtEnd()) {
      spdlog::info("every assigned partition is read and committed; stopping (--exit-at-end)");
      break;
    }
  }
  if (fatal_.ok()) Commit(&stop, Clock_::now() + options_.shutdown_budget);
  ReportProgress();
  source.Close();  // the final revoke commits nothing more: the batch is empty
  source_ = nullptr;
  return fatal_;
}

}  // namespace wijkpuls
