#include "process/pipeline.h"

#include <algorithm>
#include <thread>

#include "model/log.h"
#include "model/text.h"
#include "process/job_thread.h"
#include "process/rejection.h"
#include "validate/wire.h"

namespace wijkpuls {
namespace {

using Clock_ = std::chrono::steady_clock;

double SecondsSince(Clock_::time_point t) {
  return std::chrono::duration<double>(Clock_::now() - t).count();
}

}  // namespace

SourceRecord ReadWindow::Slot::View() const {
  SourceRecord r;
  r.topic = topic;
  r.partition = partition;
  r.offset = offset;
  r.key = key;
  r.value = value;
  r.content_type = content_type;
  r.header_bytes = header_bytes;
  return r;
}

void ReadWindow::Add(const SourceRecord& r) {
  if (size == slots.size()) slots.emplace_back();
  Slot& s = slots[size++];
  s.topic.assign(r.topic);
  s.key.assign(r.key);
  s.value.assign(r.value);
  s.content_type.assign(r.content_type);
  s.partition = r.partition;
  s.offset = r.offset;
  s.header_bytes = r.header_bytes;
  s.prepared.done = false;
}

// A batch handed to the commit thread, and what becomes visible once it is
// written.
struct Pipeline::Writing {
  std::unique_ptr<StateBatch> batch;
  std::shared_ptr<CommittedState> published;  // the state as of this batch
  OffsetMap offsets;                          // the next offsets it stores
  int records = 0;
  std::vector<PendingResult> results;
  std::vector<int32_t> dropped;  // tasks whose key range and offset it deletes
  std::set<int32_t> tasks;       // the tasks it writes
  std::vector<Summary> summaries;  // of the wijken it changed, for the global stage once written
  int erased = 0;                  // responses erased by withdrawals another pipeline reports
  Clock_::time_point started;
  uint64_t letters = 0;  // the dead letters that must be delivered first (DeadLetterSink::Mark)
  // How long they are waited for: at shutdown, until give_up.
  const std::atomic<bool>* stop = nullptr;
  Clock_::time_point give_up;
  // Set by the commit thread: not ok when the dead letters were not all
  // delivered (then nothing was written), else the write's.
  absl::Status letters_status;
  absl::Status status;
};

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
      options_(options) {
  options_.window_records = std::max(1, options_.window_records);
  options_.prepare_threads = std::max(0, options_.prepare_threads);
  for (int i = 0; i < options_.prepare_threads; ++i) preparers_.push_back(std::make_unique<JobThread>("wp-prepare"));
  windows_.resize(static_cast<size_t>(std::max(1, options_.prepare_threads) + 1));
  for (ReadWindow& w : windows_) w.lookups = store_.NewReadAhead();
  if (options_.commit_thread) writer_ = std::make_unique<JobThread>("wp-commit");
  own_view_ = std::make_unique<InstanceView>(hub_);
  own_registry_ = std::make_unique<TaskRegistry>();
  view_ = own_view_.get();
  registry_ = own_registry_.get();
}

Pipeline::~Pipeline() = default;

void Pipeline::JoinInstance(InstanceView& view, TaskRegistry& registry, int index) {
  view_ = &view;
  registry_ = &registry;
  member_ = index;
  several_ = true;
  own_view_.reset();
  own_registry_.reset();
}

std::string Pipeline::Component(const char* name) const {
  return member_ == 0 ? std::string(name) : Cat(name, " #", member_ + 1);
}

absl::Status Pipeline::Start() {
  absl::StatusOr<OffsetMap> offsets = store_.LoadOffsets();
  if (!offsets.ok()) return offsets.status();
  offsets_ = std::move(*offsets);
  if (absl::Status st = LoadState(); !st.ok()) return st;
  std::vector<Summary> stored = Summarise(nullptr, offsets_);
  ForgetUnheldTasks();
  batch_ = store_.NewBatch();
  last_commit_ = Clock_::now();
  view_->Publish(member_, Snapshot(offsets_), std::move(stored));
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

absl::Status Pipeline::LoadState() {
  if (absl::Status st = store_.LoadAggregates(*methodology_, state_.tasks); !st.ok()) return st;
  // Stored tasks that belong to other instances now are caches, not held.
  if (owned_) std::erase_if(state_.tasks, [&](const auto& kv) { return !owned_->count(kv.first); });
  return store_.LoadWithdrawn(state_.withdrawn);
}

void Pipeline::ForgetUnheldTasks() {
  // One of several pipelines over one store holds no task before the group
  // gives it some: a stored task it applied a withdrawal to would be written
  // from the copy it loaded at start, over what another pipeline has written
  // since (and TaskRegistry::BeginWrite refuses that write).
  if (several_ && !owned_) {
    state_.tasks.clear();
    task_positions_.clear();
  }
}

SummaryPosition Pipeline::PositionOf(int32_t task, const OffsetMap& offsets) const {
  auto it = offsets.find({processor_.options().responses_topic, task});
  return SummaryPosition{it == offsets.end() ? 0 : it->second, static_cast<int64_t>(state_.withdrawn.size())};
}

std::vector<Summary> Pipeline::Summarise(const TaskChanges* keys, const OffsetMap& offsets) {
  std::vector<Summary> out;
  auto position = [&](int32_t task) { return PositionOf(task, offsets); };
  if (keys == nullptr) {
    // Other instances' summaries stay: only this instance's are replaced
    // (an older position of its own is not taken over a newer one).
    for (const auto& [task, state] : state_.tasks) {
      const SummaryPosition at = position(task);
      task_positions_[task] = at;
      for (const auto& [key, w] : state.wijken()) out.push_back(Summary{task, key, at, w});
    }
    return out;
  }
  for (const auto& [task, changed] : *keys) {
    const SummaryPosition at = position(task);
    task_positions_[task] = at;
    const FieldworkState& state = state_.tasks.at(task);
    for (const auto& [key, change] : changed) out.push_back(Summary{task, key, at, state.wijken().at(key)});
  }
  return out;
}

std::shared_ptr<CommittedState> Pipeline::Snapshot(OffsetMap offsets) const {
  auto cs = std::make_shared<CommittedState>();
  // Its summaries once the group has said which tasks are this pipeline's.
  if (owned_) {
    cs->tasks = state_.tasks;
    cs->task_positions = task_positions_;
    if (source_ != nullptr && source_->InputPartitions() > 0) {
      cs->owned = owned_;
      cs->input_partitions = source_->InputPartitions();
    }
  }
  // Of the responses partitions, those it holds (another may hold one it
  // still has a stored offset of).
  if (owned_) {
    const std::string& responses = processor_.options().responses_topic;
    std::erase_if(offsets, [&](const auto& kv) { return kv.first.first == responses && !owned_->count(kv.first.second); });
  }
  cs->offsets = std::move(offsets);
  cs->methodology = methodology_;
  cs->districts = districts_;
  cs->records_committed = records_committed_;
  return cs;
}

void Pipeline::Publish() {
  FinishWrite();  // state_ holds the batch being written: publish it written
  view_->Publish(member_, Snapshot(offsets_), {});
}

void Pipeline::DeadLetter(const SourceRecord& record, const RecordResult& result) {
  dead_letters_.Send(RejectionRecord(record, result, processor_.options().rejected_topic));
  spdlog::debug("{}/{}/{}: rejected {}: {}", record.topic, record.partition, record.offset,
                WireName(*result.reason), result.detail);
}

void Pipeline::Rollback(const std::string& why) {
  spdlog::warn("abandoning the open batch of {} records ({}); they will be read again", batch_records_,
               why);
  ++rollbacks_;
  // What was handed over before stays committed, once written (or is
  // abandoned too, when its dead letters were not delivered).
  FinishWrite(/*rollback=*/false);
  dead_letters_.Discard();
  DiscardReadAhead();
  batch_ = store_.NewBatch();
  dirty_.clear();
  batch_offsets_.clear();
  last_offset_.next = nullptr;
  batch_records_ = 0;
  changes_without_records_ = false;
  pending_results_.clear();
  batch_erased_ = 0;
  if (absl::Status st = LoadState(); !st.ok()) {
    // Without the committed aggregates in memory nothing may be written.
    fatal_ = absl::Status(st.code(), Cat("reloading the state after a failed batch: ", st.message()));
    return;
  }
  // The positions of a batch handed over and then abandoned go: this
  // pipeline's tasks are at what is stored. (The global stage has only
  // written summaries.)
  ForgetUnheldTasks();
  task_positions_.clear();
  for (const auto& [task, state] : state_.tasks) task_positions_[task] = PositionOf(task, offsets_);
  // A task taken over had the tombstones applied in the abandoned batch:
  // again (applying one twice changes nothing).
  for (auto& [task, state] : state_.tasks) {
    if (absl::Status st = processor_.ApplyTombstones(task, *batch_, state_, dirty_); !st.ok()) {
      fatal_ = absl::Status(st.code(), Cat("reloading the state after a failed batch: ", st.message()));
      return;
    }
  }
  changes_without_records_ = batch_->Count() > 0;
  if (source_ != nullptr) source_->Rewind(offsets_);
  if (observer_) {
    observer_->OnRollback();
    observer_->OnDeadLetters(0, dead_letters_.Failures());
  }
}

Pipeline::CommitResult Pipeline::Commit(const std::atomic<bool>* stop, Clock_::time_point give_up,
                                        bool durable) {
  if (batch_records_ == 0 && !changes_without_records_ && !DropDue()) {
    if (durable) FinishWrite();
    return fatal_.ok() ? CommitResult::kNothing : CommitResult::kRolledBack;
  }
  changes_without_records_ = false;
  const auto started = Clock_::now();
  const int k = static_cast<int>(methodology_->indicators.size());
  for (const auto& [task, changed] : dirty_) {
    FieldworkState& state = state_.tasks.at(task);
    for (const auto& [key, quality_change] : changed) {
      // The batch's own copy (copied on its first change): settled once here,
      // not merged again by every reader of the published state.
      WijkState& ws = state.Mutable(key);
      ws.quality.Settle();
      batch_->PutAggregates(task, key, ws, k, quality_change);
    }
  }
  for (const auto& [tp, next] : batch_offsets_) batch_->PutOffset(tp.first, tp.second, next);

  // Room on disk for the write, checked before it is handed over.
  const int64_t free_bytes = store_.FreeBytes();
  if (free_bytes >= 0 && free_bytes < store_.min_free_bytes()) {
    health_.Set(Component("storage"), Cat("only ", free_bytes >> 20, " MB free for the state directory (",
                               store_.dir(), "), below state.min_free_mb: consumption paused"));
    if (observer_) observer_->OnStorageError();
    Rollback("too little disk space to write the batch");
    low_disk_ = true;
    return CommitResult::kRolledBack;
  }
  // One batch is written at a time, in order. (The one before may turn out
  // abandoned: this one, which read through it, goes with it.)
  const uint64_t rollbacks = rollbacks_;
  FinishWrite();
  if (!fatal_.ok() || rollbacks_ != rollbacks) return CommitResult::kRolledBack;
  auto w = std::make_unique<Writing>();
  // Tasks not held here for options_.keep_revoked: their state goes.
  const std::string& responses = processor_.options().responses_topic;
  for (int32_t task : registry_->ClaimDrops(member_, Clock_::now(), options_.keep_revoked)) {
    batch_->DropTask(task, responses);
    w->dropped.push_back(task);
  }
  for (const auto& [task, changed] : dirty_) w->tasks.insert(task);
  for (const auto& [tp, next] : batch_offsets_) {
    if (tp.first == responses) w->tasks.insert(tp.second);
  }
  w->offsets = batch_offsets_;
  w->records = static_cast<int>(pending_results_.size());  // (without withdrawals another pipeline reports)
  w->results = std::move(pending_results_);
  pending_results_.reserve(w->results.size());  // the next batch is about as big
  w->erased = batch_erased_;
  batch_erased_ = 0;
  w->started = started;
  w->letters = dead_letters_.Mark();
  w->stop = stop;
  w->give_up = give_up;
  // What readers see once it is written: this batch's state and offsets.
  OffsetMap after = offsets_;
  for (const auto& [tp, next] : batch_offsets_) after[tp] = next;
  w->summaries = Summarise(&dirty_, after);
  w->published = Snapshot(std::move(after));
  w->published->records_committed += w->records;
  w->batch = std::move(batch_);
  if (writer_) {
    // The next batch reads through this one until it is written.
    batch_ = store_.NewBatch(w->batch.get());
    writing_ = std::move(w);
    writer_->Submit([this, w = writing_.get()] { Write(*w); });
  } else {
    Write(*w);
    writing_ = std::move(w);
    batch_ = store_.NewBatch();
  }
  dirty_.clear();
  batch_offsets_.clear();
  last_offset_.next = nullptr;
  pending_results_.clear();
  batch_records_ = 0;
  if (durable || !writer_) FinishWrite();
  return fatal_.ok() && rollbacks_ == rollbacks ? CommitResult::kCommitted : CommitResult::kRolledBack;
}

void Pipeline::Write(Writing& w) {
  // 1. Dead letters first: offsets never pass an undelivered rejection.
  // Waited for here, on the commit thread, while the pipeline thread fills
  // the next batch.
  while (true) {
    absl::Status st = dead_letters_.FlushUpTo(std::chrono::milliseconds(500), w.letters);
    if (observer_) observer_->OnDeadLetters(dead_letters_.Pending(), dead_letters_.Failures());
    if (st.ok()) break;
    if (Clock_::now() - w.started >= std::chrono::seconds(5)) {
      health_.Set(Component("dead_letters"), Cat("cannot deliver to the dead-letter topic: ", st.message()));
    }
    if (!dead_letters_.Connected()) health_.Set(Component("kafka"), "the Kafka brokers are unreachable");
    const bool stopping = w.stop != nullptr && w.stop->load();
    if ((stopping && Clock_::now() >= w.give_up) || Clock_::now() - w.started >= options_.dead_letter_wait) {
      w.letters_status = st;
      registry_->EndWrite(member_, /*written=*/false);
      return;
    }
  }
  health_.Clear(Component("dead_letters"));
  // 2. Only tasks no other pipeline of this instance holds: one that lost
  // its partitions without noticing yet writes nothing.
  if (!registry_->BeginWrite(member_, w.tasks, /*held_only=*/several_)) {
    w.letters_status = absl::AbortedError("a task it writes is held by another pipeline thread of this instance now");
    registry_->EndWrite(member_, /*written=*/false);
    return;
  }
  // 3. State and offsets in one atomic write.
  w.status = store_.Commit(*w.batch);
  registry_->EndWrite(member_, w.status.ok());
}

void Pipeline::FinishWrite(bool rollback) {
  if (!writing_) return;
  if (writer_) writer_->Wait();
  std::unique_ptr<Writing> w = std::move(writing_);
  if (!w->letters_status.ok()) {
    // Not written. The open batch read through it: it is abandoned too (by
    // the caller, when that is Rollback), and both are read again.
    batch_ = store_.NewBatch();  // (its drops are due again: TaskRegistry::EndWrite)
    spdlog::warn("abandoning the batch of {} records handed over to be written (not written: "
                 "{}); they will be read again", w->records, MessageOf(w->letters_status));
    if (rollback) Rollback(Cat("batch not written: ", w->letters_status.message()));
    return;
  }
  batch_->PreviousWritten();
  if (!w->status.ok()) {
    // RocksDB cannot go on after a failed log write. What was committed is
    // intact; the service manager restarts wijkpuls, which goes on from it.
    spdlog::critical("state write failed: {}; stopping (committed state is intact)", MessageOf(w->status));
    health_.Set(Component("storage"), Cat("state writes fail: ", w->status.message()));
    if (observer_) observer_->OnStorageError();
    fatal_ = absl::UnavailableError(Cat("state write failed: ", w->status.message()));
    return;
  }
  low_disk_ = false;
  health_.Clear(Component("storage"));

  // 3. Visible to readers and (informationally) to the consumer group.
  for (const auto& [tp, next] : w->offsets) offsets_[tp] = next;
  for (int32_t task : w->dropped) {
    offsets_.erase({processor_.options().responses_topic, task});
    spdlog::info("dropped the stored state of {}/{}: not held here for {} s (pipeline.keep_revoked_s)",
                 processor_.options().responses_topic, task, options_.keep_revoked.count());
  }
  records_committed_ += w->records;
  view_->Publish(member_, std::move(w->published), std::move(w->summaries));
  if (source_ != nullptr) source_->Committed(offsets_);
  if (observer_) {
    for (const PendingResult& p : w->results) observer_->OnRecord(*p.topic, p.result);
    if (w->erased > 0) observer_->OnErased(w->erased);
    observer_->OnBatchCommitted(w->records, SecondsSince(w->started));
  }
  last_commit_ = Clock_::now();
}

bool Pipeline::DropDue() const {
  return registry_->AnyDue(Clock_::now(), options_.keep_revoked);
}

void Pipeline::OnRevoke(const std::vector<TopicPartition>& partitions) {
  const auto started = Clock_::now();
  if (fatal_.ok()) {
    Drain();
    Commit(nullptr, Clock_::now() + options_.shutdown_budget, /*durable=*/true);
  }
  // At shutdown the consumer gives everything back as it leaves the group:
  // this instance still publishes the last figures of what it held.
  if (stop_ != nullptr && stop_->load()) return;
  // The tasks go: their state stays stored for options_.keep_revoked (a
  // cache from which a later ownership goes on; then a commit drops it),
  // their summaries stay in the global stage until their
  // new owner's newer ones replace them, and this instance no longer
  // publishes them.
  const std::string& responses = processor_.options().responses_topic;
  if (!owned_) owned_.emplace();
  const auto now = Clock_::now();
  for (const TopicPartition& tp : partitions) {
    if (tp.topic != responses) continue;
    owned_->erase(tp.partition);
    state_.tasks.erase(tp.partition);
    task_positions_.erase(tp.partition);
    restoring_.erase(tp.partition);
    registry_->Give(member_, tp.partition, now);
  }
  Publish();
  if (observer_) observer_->OnRebalance(false, partitions.size(), SecondsSince(started));
}

OffsetMap Pipeline::OnAssign(const std::vector<TopicPartition>& partitions) {
  const auto started = Clock_::now();
  if (fatal_.ok()) {
    Drain();
    Commit(nullptr, Clock_::now() + options_.shutdown_budget, /*durable=*/true);
  }
  const std::string& responses = processor_.options().responses_topic;
  // The withdrawals are assigned outside the group: no task comes with them.
  if (std::none_of(partitions.begin(), partitions.end(),
                   [&](const TopicPartition& tp) { return tp.topic == responses; })) {
    return offsets_;
  }
  std::set<int32_t> given;
  for (const TopicPartition& tp : partitions) {
    if (tp.topic == responses) given.insert(tp.partition);
  }
  if (!owned_) {
    // The first assignment: the tasks loaded at start that it does not give
    // are other instances' (or other pipelines') now.
    owned_.emplace(given);
    // Stored tasks no pipeline here is given are kept for a while, then dropped.
    std::set<int32_t> stored;
    for (const auto& [task, state] : state_.tasks) stored.insert(task);
    for (const auto& [tp, next] : offsets_) {
      if (tp.first == responses) stored.insert(tp.second);
    }
    for (int32_t task : stored) {
      if (!given.count(task)) registry_->Unheld(task, Clock_::now());
    }
    // What was loaded at start was shown until now; a task given is loaded
    // as stored when taken, and has every withdrawal stored applied: the
    // store may have been written by several pipelines (pipeline.threads),
    // another of which may have written this task since, or stored a
    // withdrawal that the pipeline which held it then had not yet read.
    state_.tasks.clear();
    task_positions_.clear();
  }
  // No other pipeline here writes them from now on (their last writes, if
  // any, have ended).
  for (int32_t task : given) registry_->Take(member_, task);
  if (several_ && fatal_.ok()) {
    // Their stored offsets: another pipeline of this instance may have moved
    // them on since this one read the store.
    absl::StatusOr<OffsetMap> stored = store_.LoadOffsets();
    if (!stored.ok()) {
      fatal_ = absl::Status(stored.status().code(), Cat("reading the stored offsets: ", stored.status().message()));
    } else {
      for (int32_t task : given) {
        auto it = stored->find({responses, task});
        if (it == stored->end()) {
          offsets_.erase({responses, task});
        } else {
          offsets_[{responses, task}] = it->second;
        }
      }
    }
  }
  std::vector<Summary> loaded_summaries;
  bool taken = false;
  for (const TopicPartition& tp : partitions) {
    if (tp.topic != responses || !fatal_.ok()) continue;
    owned_->insert(tp.partition);
    if (!offsets_.count({tp.topic, tp.partition})) restoring_.insert(tp.partition);
    if (state_.tasks.count(tp.partition)) continue;
    // A task taken over: its stored state (if this instance held it before)
    // goes on from its stored offset, with every withdrawal read since.
    FieldworkState loaded;
    if (absl::Status st = store_.LoadTask(*methodology_, tp.partition, loaded); !st.ok()) {
      fatal_ = absl::Status(st.code(), Cat("loading the state of ", tp.topic, "/", tp.partition, ": ", st.message()));
      break;
    }
    if (loaded.wijken().empty()) continue;  // never held here: it starts at its first record
    // Its stored (committed) state is its summary until the next commit.
    const SummaryPosition position = PositionOf(tp.partition, offsets_);
    for (const auto& [key, w] : loaded.wijken()) loaded_summaries.push_back(Summary{tp.partition, key, position, w});
    task_positions_[tp.partition] = position;
    state_.tasks[tp.partition] = std::move(loaded);
    if (absl::Status st = processor_.ApplyTombstones(tp.partition, *batch_, state_, dirty_); !st.ok()) {
      health_.Set(Component("storage"), Cat("state reads fail: ", st.message()));
      Rollback(Cat("state read failed: ", st.message()));
      break;
    }
    taken = true;
  }
  // The tombstones' changes are written by the next commit, even if no
  // record comes.
  if (taken) changes_without_records_ = true;
  // Its stored (written) state is in the global stage from now.
  if (!loaded_summaries.empty()) view_->Offer(std::move(loaded_summaries));
  size_t responses_partitions = 0;
  for (const TopicPartition& tp : partitions) responses_partitions += tp.topic == responses;
  if (observer_ && responses_partitions > 0) observer_->OnRebalance(true, responses_partitions, SecondsSince(started));
  return offsets_;
}

void Pipeline::Read(RecordSource& source, std::chrono::milliseconds timeout) {
  ReadWindow& w = windows_[static_cast<size_t>(reading_)];
  while (w.size < static_cast<size_t>(options_.window_records)) {
    // Only the first record is waited for: what is there, is read.
    std::optional<SourceRecord> rec = source.Poll(w.size == 0 ? timeout : std::chrono::milliseconds(0));
    if (!rec) break;
    if (w.size == 0) {
      w.now = processor_.Now();
      w.districts = districts_;
    }
    w.Add(*rec);
  }
}

bool Pipeline::ApplyOne(const SourceRecord& record, PreparedRecord& prepared, const ReadAhead* ahead) {
  if (batch_records_ == 0) batch_started_ = Clock_::now();
  absl::StatusOr<RecordResult> result = processor_.Apply(record, prepared, *batch_, ahead, state_, dirty_);
  if (!result.ok()) {
    if (observer_) observer_->OnStorageError();
    if (result.status().code() == absl::StatusCode::kDataLoss) {
      // Not a read that failed: what is stored contradicts itself, and
      // reading it again gives the same answer. Retrying would spin on this
      // record for ever; nothing more is written.
      const std::string what = Cat("the stored state is inconsistent: ", result.status().message());
      health_.Set(Component("storage"), what);
      fatal_ = absl::DataLossError(Cat(what, " (at ", record.topic, "/", record.partition, "/", record.offset,
                                       "; nothing of the open batch was written): restore the state directory "
                                       "from a backup, or move it aside and the state is read again from the "
                                       "input topics"));
      return false;
    }
    health_.Set(Component("storage"), Cat("state reads fail: ", result.status().message()));
    Rollback(Cat("state read failed: ", result.status().message()));
    return false;
  }
  // Every pipeline of the instance reads every withdrawal and applies it to
  // its tasks; the first one reports it (counts it, and dead-letters it when
  // rejected: a withdrawal is rejected on its own content alone).
  const bool echo = several_ && member_ > 0 && result->kind == RecordKind::kWithdrawal;
  if (result->DeadLetter() && !echo) DeadLetter(record, *result);
  if (last_offset_.next == nullptr || last_offset_.partition != record.partition ||
      last_offset_.topic != record.topic) {
    last_offset_.topic.assign(record.topic);
    last_offset_.partition = record.partition;
    last_offset_.next = &batch_offsets_[{last_offset_.topic, record.partition}];
  }
  *last_offset_.next = record.offset + 1;
  ++batch_records_;
  if (!echo) {
    const ProcessorOptions& names = processor_.options();
    pending_results_.push_back(PendingResult{
        record.topic == names.withdrawals_topic ? &names.withdrawals_topic : &names.responses_topic,
        std::move(*result)});
  } else {
    batch_erased_ += result->erased;
  }
  if (batch_records_ >= options_.max_batch_records ||
      Clock_::now() - batch_started_ >= options_.linger) {
    if (Commit(stop_, Clock_::now() + options_.shutdown_budget) == CommitResult::kRolledBack) {
      return false;
    }
  }
  return true;
}

bool Pipeline::ApplyWindow(ReadWindow& window) {
  // A rollback empties the window (size 0): the loop ends there.
  bool applied = true;
  for (size_t i = 0; i < window.size && applied; ++i) {
    ReadWindow::Slot& s = window.slots[i];
    applied = ApplyOne(s.View(), s.prepared, window.lookups.get());
  }
  if (!applied) return false;
  window.size = 0;
  window.districts.reset();  // (its lookups are cleared by the next preparation)
  return true;
}

int Pipeline::FirstUnused(size_t n, int InFlight::*field) const {
  for (size_t i = 0; i < n; ++i) {
    const int k = static_cast<int>(i);
    if (std::none_of(in_flight_.begin(), in_flight_.end(), [&](const InFlight& f) { return f.*field == k; })) return k;
  }
  return -1;
}

void Pipeline::WaitForPreparers() {
  for (auto& p : preparers_) p->Wait();
}

void Pipeline::Submit(int window, int preparer) {
  if (preparer >= 0) {
    preparers_[static_cast<size_t>(preparer)]->Submit([this, w = &windows_[static_cast<size_t>(window)]] {
      w->lookups->Clear();
      for (size_t i = 0; i < w->size; ++i) {
        ReadWindow::Slot& s = w->slots[i];
        processor_.Prepare(s.View(), *w->districts, w->now, s.prepared);
        processor_.AddLookups(s.prepared, *w->lookups);
      }
      store_.Read(*w->lookups);
    });
  } else {
    windows_[static_cast<size_t>(window)].lookups->Clear();  // nothing read ahead
  }
  in_flight_.push_back(InFlight{window, preparer});
}

void Pipeline::Drain() {
  WaitForPreparers();
  // In the order read; the window being read last (its records are prepared
  // as they are applied).
  while (!in_flight_.empty()) {
    const InFlight f = in_flight_.front();
    in_flight_.pop_front();
    if (!ApplyWindow(windows_[static_cast<size_t>(f.window)])) return;
  }
  ReadWindow& reading = windows_[static_cast<size_t>(reading_)];
  if (reading.size > 0) {
    reading.lookups->Clear();
    ApplyWindow(reading);
  }
}

void Pipeline::DiscardReadAhead() {
  WaitForPreparers();
  in_flight_.clear();
  for (ReadWindow& w : windows_) {
    w.size = 0;
    w.districts.reset();
  }
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
  // A task assigned without state here is restored from its partition's
  // start; /readyz says so until it has read to the end once.
  int64_t restore_left = 0;
  std::map<int32_t, int64_t> remaining;
  for (const PartitionProgress& p : source_->Progress()) {
    if (p.tp.topic != processor_.options().responses_topic || !restoring_.count(p.tp.partition)) continue;
    if (p.at_end) {
      restoring_.erase(p.tp.partition);
      continue;
    }
    auto it = offsets_.find({p.tp.topic, p.tp.partition});
    const int64_t at = it == offsets_.end() ? 0 : it->second;
    remaining[p.tp.partition] = std::max<int64_t>(0, p.high_watermark - at);
    restore_left += remaining[p.tp.partition];
  }
  if (observer_) observer_->OnTasks(owned_ ? owned_->size() : state_.tasks.size(), remaining);
  if (!restoring_.empty()) {
    health_.Set(Component("restore"), Cat("restoring ", restoring_.size(), " input partition(s) from the log (",
                               restore_left, " records to go)"), /*log=*/false);
  } else {
    health_.Clear(Component("restore"));
  }
  if (source_->Disconnected() || !dead_letters_.Connected()) {
    health_.Set(Component("kafka"), "the Kafka brokers are unreachable");
  } else {
    health_.Clear(Component("kafka"));
  }
  if (const std::string held = source_->HeldBack(); !held.empty()) {
    health_.Set(Component("consumer"), held);
  } else if (!source_->Assigned()) {
    health_.Set(Component("consumer"), "no input partitions assigned (yet)", /*log=*/Clock_::now() - started_ > std::chrono::seconds(30));
  } else if (lag > 0 && Clock_::now() - last_commit_ > options_.stall_after) {
    health_.Set(Component("consumer"), Cat("stalled: ", lag, " records behind and nothing committed for ",
                                static_cast<int64_t>(SecondsSince(last_commit_)), " s"));
  } else {
    health_.Clear(Component("consumer"));
  }
}

absl::Status Pipeline::Run(RecordSource& source, const std::atomic<bool>& stop) {
  source_ = &source;
  stop_ = &stop;
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
    if (!in_flight_.empty()) {
      timeout = std::chrono::milliseconds(0);  // records are waiting to be applied
    } else if (batch_records_ > 0) {
      auto left = options_.linger - std::chrono::duration_cast<std::chrono::milliseconds>(
                                        Clock_::now() - batch_started_);
      timeout = std::max(std::chrono::milliseconds(0), std::min(timeout, left));
    }
    // Read the next window while the preparers prepare the ones before;
    // then apply the oldest while they prepare the rest.
    reading_ = FirstUnused(windows_.size(), &InFlight::window);
    Read(source, timeout);
    ReadWindow& read = windows_[static_cast<size_t>(reading_)];
    // The oldest window is applied now when every preparer is busy, when
    // nothing more was read, or when it is ready.
    const size_t slots = std::max<size_t>(1, preparers_.size());
    std::optional<InFlight> apply;
    if (!in_flight_.empty()) {
      const InFlight& front = in_flight_.front();
      if (in_flight_.size() >= slots || read.size == 0 || front.preparer < 0 ||
          preparers_[static_cast<size_t>(front.preparer)]->Idle()) {
        apply = front;
        in_flight_.pop_front();
        if (apply->preparer >= 0) preparers_[static_cast<size_t>(apply->preparer)]->Wait();
      }
    }
    if (read.size > 0) {
      // To the preparer just freed, or to one without a window (-1: none).
      Submit(reading_, apply && apply->preparer >= 0 ? apply->preparer
                                                     : FirstUnused(preparers_.size(), &InFlight::preparer));
    }
    // A written batch becomes visible at once when nothing else is to be done.
    if (writing_ && (read.size == 0 || writer_->Idle())) {
      const uint64_t rollbacks = rollbacks_;
      FinishWrite();
      if (rollbacks_ != rollbacks) {
        std::this_thread::sleep_for(options_.retry_backoff);
        continue;
      }
    }
    if (!fatal_.ok()) break;
    if (apply && !ApplyWindow(windows_[static_cast<size_t>(apply->window)])) {
      std::this_thread::sleep_for(options_.retry_backoff);
      continue;
    }
    // Linger only while more records are coming: at the end of the input the
    // batch is committed at once.
    const bool due = (batch_records_ > 0 &&
                      (Clock_::now() - batch_started_ >= options_.linger ||
                       (source.AtEnd() && !HasReadAhead()))) ||
                     changes_without_records_ || DropDue();
    if (due) {
      if (Commit(&stop, Clock_::now() + options_.shutdown_budget) == CommitResult::kRolledBack) {
        std::this_thread::sleep_for(options_.retry_backoff);
      }
    }
    // Every second; every 0.1 s while a restore runs, so that its end shows
    // (in /readyz and the metrics) without a second's delay.
    if (Clock_::now() - last_report >= (restoring_.empty() ? std::chrono::milliseconds(1000)
                                                            : std::chrono::milliseconds(100))) {
      ReportProgress();
      last_report = Clock_::now();
    }
    if (options_.exit_at_end && batch_records_ == 0 && !writing_ && source.AtEnd() && !HasReadAhead()) {
      spdlog::info("every assigned partition is read and committed; stopping (--exit-at-end)");
      break;
    }
  }
  if (fatal_.ok()) Commit(&stop, Clock_::now() + options_.shutdown_budget, /*durable=*/true);
  FinishWrite();
  // Records read ahead and not applied are not committed: they are read again.
  DiscardReadAhead();
  ReportProgress();
  source.Close();  // the final revoke commits nothing more: the batch is empty
  const StateStore::ReadAheadCounts pc = store_.read_ahead_counts();
  spdlog::info("state lookups: {} read ahead, {} read again (a batch was written in between), {} "
               "not read ahead", pc.used, pc.stale, pc.direct);
  source_ = nullptr;
  stop_ = nullptr;
  return fatal_;
}

}  // namespace wijkpuls
