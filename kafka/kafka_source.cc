#include "kafka/kafka_source.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "validate/decode.h"
#include "kafka/kafka_stats.h"
#include "model/log.h"
#include "model/text.h"

namespace wijkpuls {
namespace {

struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};

}  // namespace

struct KafkaSource::Impl : public RdKafka::RebalanceCb, public RdKafka::EventCb {
  KafkaSettings settings;
  AssignmentHandler* handler = nullptr;
  // The responses topic, subscribed in the group (cooperative-sticky: a
  // rebalance moves only the partitions that change owner).
  std::unique_ptr<RdKafka::KafkaConsumer> consumer;
  // The withdrawals topic, every partition, assigned outside the group: a
  // withdrawal names no partition of the responses, so every instance reads
  // them all (docs/design.md, "Several instances").
  std::unique_ptr<RdKafka::KafkaConsumer> withdrawals;
  bool withdrawals_assigned = false;
  std::chrono::steady_clock::time_point next_withdrawal_poll{};
  std::chrono::steady_clock::time_point next_withdrawal_assign{};
  // Records are taken through librdkafka's C API (the C++ consume() is the
  // same poll, plus a heap-allocated wrapper per record).
  std::unique_ptr<rd_kafka_message_t, MessageDeleter> current;  // owns the buffer of the last record
  std::string current_topic;                  // backs SourceRecord::topic
  std::string current_content_type;           // backs SourceRecord::content_type
  std::set<TopicPartition> assigned;          // of both topics
  std::set<TopicPartition> at_end;
  // The partition of the last record handed on, which passed every check
  // below (assigned, not truncated, its start checked, not at its end):
  // the next record of the same partition is handed on without looking
  // these up again (records come in runs of one partition). Forgotten
  // whenever any of them changes.
  struct LastPartition {
    const rd_kafka_topic_t* topic = nullptr;
    int32_t partition = -1;
  } last;
  void ForgetLast() { last = LastPartition{}; }
  std::atomic<bool> disconnected{false};
  bool closed = false;
  // The group has given this consumer an assignment (or taken one away) at
  // least once: librdkafka has the assignor state it asserts on at destroy.
  bool synced = false;
  // Set once the consumer is kept past its source (see ~KafkaSource): its
  // threads may still log, and nothing of it is reported any more.
  std::atomic<bool> muted{false};
  // Per assigned partition, the offset its first record must have (stored,
  // or 0: the beginning) until that record is seen. A first record further
  // on is either after transaction markers, or the log was cut by retention
  // before this state read it: then the partition is `truncated`, paused, and
  // its records are not handed on (unless settings.accept_truncated_input).
  std::map<TopicPartition, int64_t> expect_from;
  std::map<TopicPartition, std::string> truncated;
  std::atomic<int32_t> input_partitions{-1};  // of the responses topic, at the last assignment
  // The group's committed offsets are informational (the state holds the
  // real ones). They are not sent after every batch: an OffsetCommit sent
  // while this member rejoins waits behind its JoinGroup on the coordinator
  // connection, is answered "illegal generation" once the group has moved
  // on, and librdkafka then drops the member's whole assignment as lost
  // (rdkafka_cgrp.c, OffsetCommit error handling) and rejoins: a second
  // rebalance round after every membership change. Sent instead when
  // partitions are revoked (the generation is current then), and at most
  // every kGroupCommitInterval.
  std::map<TopicPartition, int64_t> pending_commit;
  std::chrono::steady_clock::time_point last_commit = std::chrono::steady_clock::now();
  static constexpr std::chrono::seconds kGroupCommitInterval{60};

  // Commits the pending offsets of `only` (all when null); `sync`: waits.
  void CommitPending(const std::vector<TopicPartition>* only, bool sync) {
    std::vector<RdKafka::TopicPartition*> tps;
    for (auto it = pending_commit.begin(); it != pending_commit.end();) {
      if (only && std::find(only->begin(), only->end(), it->first) == only->end()) {
        ++it;
        continue;
      }
      tps.push_back(RdKafka::TopicPartition::create(it->first.topic, it->first.partition, it->second));
      it = pending_commit.erase(it);
    }
    if (!tps.empty()) {
      const RdKafka::ErrorCode code = sync ? consumer->commitSync(tps) : consumer->commitAsync(tps);
      if (code != RdKafka::ERR_NO_ERROR) spdlog::info("kafka consumer: group offsets not committed: {}", RdKafka::err2str(code));
    }
    RdKafka::TopicPartition::destroy(tps);
    if (!only) last_commit = std::chrono::steady_clock::now();
  }

  // How many partitions a topic has (metadata); -1 when unknown.
  static int32_t PartitionsOf(RdKafka::KafkaConsumer* c, const std::string& name) {
    RdKafka::Metadata* md = nullptr;
    std::string err;
    std::unique_ptr<RdKafka::Topic> topic(RdKafka::Topic::create(c, name, nullptr, err));
    if (!topic || c->metadata(false, topic.get(), &md, 5000) != RdKafka::ERR_NO_ERROR) return -1;
    std::unique_ptr<RdKafka::Metadata> owned(md);
    for (const RdKafka::TopicMetadata* t : *md->topics()) {
      if (t->topic() == name && t->err() == RdKafka::ERR_NO_ERROR) return static_cast<int32_t>(t->partitions()->size());
    }
    return -1;
  }

  RdKafka::KafkaConsumer* ConsumerOf(const TopicPartition& tp) const {
    return tp.topic == settings.topics.withdrawals ? withdrawals.get() : consumer.get();
  }
  bool Cooperative() const { return consumer->rebalance_protocol() == "COOPERATIVE"; }

  void PauseTruncated() {
    for (const auto& [tp, why] : truncated) {
      std::vector<RdKafka::TopicPartition*> tps{RdKafka::TopicPartition::create(tp.topic, tp.partition)};
      ConsumerOf(tp)->pause(tps);
      RdKafka::TopicPartition::destroy(tps);
    }
  }

  // The first record of `tp` since it was assigned or rewound is at `offset`.
  // False: the partition's log was cut after `expected`; it is now paused.
  bool CheckStart(const TopicPartition& tp, int64_t expected, int64_t offset) {
    if (offset <= expected) return true;
    int64_t low = -1, high = -1;
    const RdKafka::ErrorCode code = ConsumerOf(tp)->query_watermark_offsets(tp.topic, tp.partition, &low, &high, 5000);
    if (code != RdKafka::ERR_NO_ERROR) {
      // Unknown: go on, as before the check (a gap after transaction
      // markers is the common case), and say so.
      spdlog::warn("{}/{}: the first record read is at offset {}, not {}, and the log's start could not be "
                   "queried ({}): going on", tp.topic, tp.partition, offset, expected, RdKafka::err2str(code));
      return true;
    }
    if (low <= expected) return true;  // transaction markers, not a cut
    const std::string what = Cat("input log truncated: ", tp.topic, "/", tp.partition, " starts at offset ", low,
                                 " but this state has read it only up to offset ", expected, ": ", low - expected,
                                 " records were deleted (retention) before they were counted");
    if (settings.accept_truncated_input) {
      spdlog::warn("{}; reading on from {} (kafka.accept_truncated_input)", what, offset);
      return true;
    }
    ForgetLast();
    truncated[tp] = Cat(what, "; the partition is not read (counting it would count a part of the wave): "
                              "restore the state directory, or set kafka.accept_truncated_input");
    spdlog::error("{}", truncated[tp]);
    PauseTruncated();
    return false;
  }

  static std::vector<TopicPartition> ToList(const std::vector<RdKafka::TopicPartition*>& ps) {
    std::vector<TopicPartition> out;
    for (const RdKafka::TopicPartition* p : ps) out.push_back(TopicPartition{p->topic(), p->partition()});
    return out;
  }

  // Sets each partition's start: the stored offset, or the beginning (this
  // state never read it, whatever the group committed).
  void Position(std::vector<RdKafka::TopicPartition*>& partitions, const OffsetMap& stored) {
    ForgetLast();
    for (RdKafka::TopicPartition* p : partitions) {
      auto it = stored.find({p->topic(), p->partition()});
      p->set_offset(it == stored.end() ? RdKafka::Topic::OFFSET_BEGINNING : it->second);
      const TopicPartition tp{p->topic(), p->partition()};
      assigned.insert(tp);
      at_end.erase(tp);
      expect_from[tp] = it == stored.end() ? 0 : it->second;
      truncated.erase(tp);
      spdlog::info("assigned {}/{} from offset {}", p->topic(), p->partition(),
                   it == stored.end() ? std::string("beginning") : std::to_string(it->second));
    }
  }

  void Forget(const std::vector<RdKafka::TopicPartition*>& partitions) {
    ForgetLast();
    for (RdKafka::TopicPartition* p : partitions) {
      const TopicPartition tp{p->topic(), p->partition()};
      assigned.erase(tp);
      at_end.erase(tp);
      expect_from.erase(tp);
      truncated.erase(tp);
      spdlog::info("revoked {}/{}", p->topic(), p->partition());
    }
  }

  void rebalance_cb(RdKafka::KafkaConsumer* c, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    const bool cooperative = c->rebalance_protocol() == "COOPERATIVE";
    synced = true;
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      if (const int32_t n = PartitionsOf(c, settings.topics.responses); n > 0) input_partitions = n;
      const OffsetMap stored = handler->OnAssign(ToList(partitions));
      Position(partitions, stored);
      RdKafka::Error* e = nullptr;
      RdKafka::ErrorCode code = RdKafka::ERR_NO_ERROR;
      if (cooperative) {
        e = c->incremental_assign(partitions);
      } else {
        code = c->assign(partitions);
      }
      if (e != nullptr) {
        spdlog::error("kafka consumer: incremental assign: {}", e->str());
        delete e;
      }
      if (code != RdKafka::ERR_NO_ERROR) spdlog::error("kafka consumer: assign: {}", RdKafka::err2str(code));
      PauseTruncated();
    } else {
      if (c->assignment_lost()) {
        spdlog::warn("the group took {} input partitions away (this member's session expired): their state is "
                     "kept, and read on by their new owner", partitions.size());
      }
      const std::vector<TopicPartition> revoked = ToList(partitions);
      handler->OnRevoke(revoked);
      // The revoked partitions' offsets, committed in the generation that
      // held them: sent before the member rejoins (after the unassign), so
      // answered before its JoinGroup on the coordinator connection. Not
      // waited for (a coordinator that is down would hold the rebalance, or
      // a shutdown, for socket.timeout.ms), and not sent when the assignment
      // is lost (another member may hold the partitions by now).
      if (c->assignment_lost()) {
        for (const TopicPartition& tp : revoked) pending_commit.erase(tp);
      } else {
        CommitPending(&revoked, /*sync=*/false);
      }
      Forget(partitions);
      if (cooperative) {
        if (RdKafka::Error* e = c->incremental_unassign(partitions)) {
          spdlog::error("kafka consumer: incremental unassign: {}", e->str());
          delete e;
        }
      } else {
        c->unassign();
      }
    }
  }

  // Assigns every partition of the withdrawals topic (once it is known).
  void AssignWithdrawals() {
    const auto now = std::chrono::steady_clock::now();
    if (withdrawals_assigned || now < next_withdrawal_assign) return;
    next_withdrawal_assign = now + std::chrono::seconds(1);
    RdKafka::Metadata* md = nullptr;
    std::string err;
    std::unique_ptr<RdKafka::Topic> topic(RdKafka::Topic::create(withdrawals.get(), settings.topics.withdrawals, nullptr, err));
    if (!topic || withdrawals->metadata(false, topic.get(), &md, 2000) != RdKafka::ERR_NO_ERROR) return;
    std::unique_ptr<RdKafka::Metadata> owned(md);
    std::vector<RdKafka::TopicPartition*> tps;
    for (const RdKafka::TopicMetadata* t : *md->topics()) {
      if (t->topic() != settings.topics.withdrawals || t->err() != RdKafka::ERR_NO_ERROR) continue;
      for (const RdKafka::PartitionMetadata* p : *t->partitions()) {
        tps.push_back(RdKafka::TopicPartition::create(settings.topics.withdrawals, p->id()));
      }
    }
    if (tps.empty()) return;
    const OffsetMap stored = handler->OnAssign(ToList(tps));
    Position(tps, stored);
    const RdKafka::ErrorCode code = withdrawals->assign(tps);
    RdKafka::TopicPartition::destroy(tps);
    if (code != RdKafka::ERR_NO_ERROR) {
      spdlog::error("kafka consumer: assigning {}: {}", settings.topics.withdrawals, RdKafka::err2str(code));
      return;
    }
    withdrawals_assigned = true;
    PauseTruncated();
  }

  // The record in `m` (owned by `current` from here; null: none came), or nullopt.
  std::optional<SourceRecord> Take(rd_kafka_message_t* m);

  void event_cb(RdKafka::Event& event) override {
    if (muted) return;
    switch (event.type()) {
      case RdKafka::Event::EVENT_ERROR:
        if (event.err() == RdKafka::ERR__ALL_BROKERS_DOWN) disconnected = true;
        if (event.fatal()) {
          spdlog::critical("kafka consumer fatal error: {}", event.str());
        } else {
          spdlog::warn("kafka consumer: {} ({})", event.str(), RdKafka::err2str(event.err()));
        }
        break;
      case RdKafka::Event::EVENT_STATS:
        disconnected = !AnyBrokerUp(event.str());
        break;
      case RdKafka::Event::EVENT_LOG:
        if (event.severity() <= RdKafka::Event::EVENT_SEVERITY_WARNING) {
          spdlog::info("kafka consumer: {}", event.str());
        } else {
          spdlog::debug("kafka consumer: {} {}", event.fac(), event.str());
        }
        break;
      default:
        break;
    }
  }
};

KafkaSource::KafkaSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
namespace {

// librdkafka before 2.3.0 (Debian 12 has 2.0.2) aborts the process when it
// destroys a cooperative-sticky consumer that joined its group but was never
// synced (JoinGroup answered, no SyncGroup yet): the assignor's state is still
// NULL and its destroy asserts on it (librdkafka issue #4312, fixed by #4381).
// A SIGTERM in that window (a member starting, or rejoining after its session
// expired) killed a daemon of two pipelines once, after all was committed.
constexpr int kStickyDestroyFixed = 0x020300ff;

}  // namespace

KafkaSource::~KafkaSource() {
  Close();
  if (!impl_ || !impl_->consumer || impl_->synced || RdKafka::version() >= kStickyDestroyFixed) return;
  spdlog::info("kafka consumer: closed before the group ever synced it; its handle is kept until the process "
               "exits (librdkafka {} aborts destroying it: librdkafka issue #4312)", RdKafka::version_str());
  impl_->withdrawals.reset();  // in no group: destroyed as usual
  impl_->current.reset();
  impl_->muted = true;
  // Kept: the consumer has left its group (closed); its handle lives on,
  // muted, until the process exits, and is let go then without a destroy.
  static auto* kept_mu = new std::mutex();                                // never destroyed
  static auto* kept = new std::vector<std::unique_ptr<Impl>>();           // never destroyed
  std::lock_guard<std::mutex> lock(*kept_mu);
  kept->push_back(std::move(impl_));
}

absl::StatusOr<std::unique_ptr<KafkaSource>> KafkaSource::Make(const KafkaSettings& settings,
                                                               AssignmentHandler* handler) {
  auto impl = std::make_unique<Impl>();
  impl->settings = settings;
  impl->handler = handler;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  for (const auto& [k, v] : ConsumerProperties(settings)) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
      return absl::InvalidArgumentError(Cat("kafka consumer property ", k, ": ", err));
    }
  }
  if (conf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(impl.get()), err) != RdKafka::Conf::CONF_OK ||
      conf->set("event_cb", static_cast<RdKafka::EventCb*>(impl.get()), err) != RdKafka::Conf::CONF_OK) {
    return absl::InternalError(Cat("kafka consumer: ", err));
  }
  impl->consumer.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!impl->consumer) return absl::InvalidArgumentError(Cat("kafka consumer: ", err));
  // The withdrawals consumer: the same properties, assigned and not
  // subscribed, so it joins no group (librdkafka wants a group id all the
  // same) and commits nothing: its offsets are the state's.
  std::unique_ptr<RdKafka::Conf> wconf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::map<std::string, std::string> wprops = ConsumerProperties(settings);
  wprops["group.id"] = Cat(settings.group_id, ".withdrawals");
  wprops["client.id"] = "wijkpuls-withdrawals";
  wprops.erase("group.instance.id");
  for (const auto& [k, v] : wprops) {
    if (wconf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
      return absl::InvalidArgumentError(Cat("kafka consumer property ", k, ": ", err));
    }
  }
  if (wconf->set("event_cb", static_cast<RdKafka::EventCb*>(impl.get()), err) != RdKafka::Conf::CONF_OK) {
    return absl::InternalError(Cat("kafka consumer: ", err));
  }
  impl->withdrawals.reset(RdKafka::KafkaConsumer::create(wconf.get(), err));
  if (!impl->withdrawals) return absl::InvalidArgumentError(Cat("kafka consumer: ", err));
  RdKafka::ErrorCode code = impl->consumer->subscribe({settings.topics.responses});
  if (code != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(Cat("kafka consumer: subscribe: ", RdKafka::err2str(code)));
  }
  return std::unique_ptr<KafkaSource>(new KafkaSource(std::move(impl)));
}

std::optional<SourceRecord> KafkaSource::Poll(std::chrono::milliseconds timeout) {
  Impl& in = *impl_;
  in.AssignWithdrawals();
  // Withdrawals are few: they are looked for every 20 ms (and read on while
  // there are some), not before every response. Events that are no record
  // (a partition's end) are read on too: one per 20 ms made the ends of 256
  // partitions take seconds to arrive, and AtEnd with them.
  const auto now = std::chrono::steady_clock::now();
  if (in.withdrawals_assigned && now >= in.next_withdrawal_poll) {
    for (int events = 0; events < 1024; ++events) {  // (bounded: errors are events too)
      rd_kafka_message_t* m = rd_kafka_consumer_poll(in.withdrawals->c_ptr(), 0);
      if (m == nullptr) break;
      if (std::optional<SourceRecord> r = in.Take(m)) return r;
    }
    in.next_withdrawal_poll = now + std::chrono::milliseconds(20);
  }
  return in.Take(rd_kafka_consumer_poll(in.consumer->c_ptr(), static_cast<int>(timeout.count())));
}

std::optional<SourceRecord> KafkaSource::Impl::Take(rd_kafka_message_t* message) {
  current.reset(message);
  const rd_kafka_message_t* m = message;
  if (m == nullptr) return std::nullopt;  // nothing within the timeout
  switch (m->err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR: {
      disconnected = false;
      if (m->rkt != last.topic || m->partition != last.partition) {
        TopicPartition tp{rd_kafka_topic_name(m->rkt), m->partition};
        if (!truncated.empty() && truncated.count(tp)) return std::nullopt;  // fetched before the pause
        if (!assigned.count(tp)) return std::nullopt;  // fetched before a revoke
        if (auto e = expect_from.find(tp); e != expect_from.end()) {
          const int64_t expected = e->second;
          expect_from.erase(e);
          if (!CheckStart(tp, expected, m->offset)) return std::nullopt;
        }
        at_end.erase(tp);
        current_topic = std::move(tp.topic);
        last = LastPartition{m->rkt, m->partition};
      }
      SourceRecord r;
      r.topic = current_topic;
      r.partition = m->partition;
      r.offset = m->offset;
      if (m->key != nullptr) r.key = std::string_view(static_cast<const char*>(m->key), m->key_len);
      r.value = std::string_view(static_cast<const char*>(m->payload), m->len);
      current_content_type.clear();
      rd_kafka_headers_t* headers = nullptr;
      if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        // Views into the message (no copies): the size of every header, and
        // the text of the last content-type.
        const char* name = nullptr;
        const void* value = nullptr;
        size_t size = 0;
        for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
          r.header_bytes += static_cast<int64_t>(std::strlen(name) + size);
        }
        if (rd_kafka_header_get_last(headers, kContentTypeHeader.data(), &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            value != nullptr) {
          current_content_type.assign(static_cast<const char*>(value), size);
        }
      }
      r.content_type = current_content_type;
      return r;
    }
    case RD_KAFKA_RESP_ERR__PARTITION_EOF:
      disconnected = false;
      ForgetLast();
      at_end.insert(TopicPartition{rd_kafka_topic_name(m->rkt), m->partition});
      return std::nullopt;
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
      return std::nullopt;
    default:
      spdlog::warn("kafka consumer: {}", rd_kafka_message_errstr(m));
      return std::nullopt;
  }
}

void KafkaSource::Rewind(const OffsetMap& offsets) {
  Impl& in = *impl_;
  in.current.reset();
  in.ForgetLast();
  in.at_end.clear();
  auto start_of = [&](const TopicPartition& tp) {
    auto it = offsets.find({tp.topic, tp.partition});
    return it == offsets.end() ? RdKafka::Topic::OFFSET_BEGINNING : it->second;
  };
  std::vector<RdKafka::TopicPartition*> withdrawals;
  for (const TopicPartition& tp : in.assigned) {
    if (tp.topic == in.settings.topics.withdrawals) {
      withdrawals.push_back(RdKafka::TopicPartition::create(tp.topic, tp.partition, start_of(tp)));
      continue;
    }
    // The group's partitions: a cooperative member may not assign() them.
    std::unique_ptr<RdKafka::TopicPartition> p(RdKafka::TopicPartition::create(tp.topic, tp.partition, start_of(tp)));
    if (RdKafka::ErrorCode code = in.consumer->seek(*p, 5000); code != RdKafka::ERR_NO_ERROR) {
      spdlog::error("rewinding {}/{}: {}", tp.topic, tp.partition, RdKafka::err2str(code));
    }
  }
  if (!withdrawals.empty()) {
    if (RdKafka::ErrorCode code = in.withdrawals->assign(withdrawals); code != RdKafka::ERR_NO_ERROR) {
      spdlog::error("rewinding {}: {}", in.settings.topics.withdrawals, RdKafka::err2str(code));
    }
  }
  RdKafka::TopicPartition::destroy(withdrawals);
  for (const TopicPartition& tp : in.assigned) {
    auto it = offsets.find({tp.topic, tp.partition});
    if (!in.truncated.count(tp)) in.expect_from[tp] = it == offsets.end() ? 0 : it->second;
  }
  in.PauseTruncated();
}

void KafkaSource::Committed(const OffsetMap& offsets) {
  Impl& in = *impl_;
  for (const auto& [tp, offset] : offsets) {
    // The group's partitions only: the withdrawals consumer is in no group.
    const TopicPartition p{tp.first, tp.second};
    if (tp.first != in.settings.topics.responses || !in.assigned.count(p)) continue;
    in.pending_commit[p] = offset;
  }
  if (std::chrono::steady_clock::now() - in.last_commit >= Impl::kGroupCommitInterval) {
    in.CommitPending(nullptr, /*sync=*/false);
  }
}

bool KafkaSource::AtEnd() const {
  if (!Assigned() || !impl_->withdrawals_assigned || !impl_->truncated.empty()) return false;
  for (const TopicPartition& tp : impl_->assigned) {
    if (!impl_->at_end.count(tp)) return false;
  }
  return true;
}

std::vector<PartitionProgress> KafkaSource::Progress() const {
  std::vector<PartitionProgress> out;
  for (const TopicPartition& tp : impl_->assigned) {
    PartitionProgress p;
    p.tp = tp;
    int64_t low = -1, high = -1;
    if (impl_->ConsumerOf(tp)->get_watermark_offsets(tp.topic, tp.partition, &low, &high) ==
        RdKafka::ERR_NO_ERROR) {
      p.high_watermark = high;
      p.low_watermark = std::max<int64_t>(0, low);
    }
    p.at_end = impl_->at_end.count(tp) > 0;
    out.push_back(p);
  }
  return out;
}

bool KafkaSource::Assigned() const {
  for (const TopicPartition& tp : impl_->assigned) {
    if (tp.topic == impl_->settings.topics.responses) return true;
  }
  return false;
}
bool KafkaSource::Disconnected() const { return impl_->disconnected; }
int32_t KafkaSource::InputPartitions() const { return impl_->input_partitions.load(); }
std::string KafkaSource::HeldBack() const {
  std::string out;
  for (const auto& [tp, why] : impl_->truncated) out += Cat(out.empty() ? "" : "; ", why);
  return out;
}

void KafkaSource::Close() {
  if (impl_->closed || !impl_->consumer) return;
  impl_->closed = true;
  impl_->current.reset();
  // A static member (group.instance.id) does not leave its group on close
  // (KIP-345), so its partitions would wait for its session to time out, and
  // so would its own restart on a broker that ignores static membership.
  // Unsubscribing leaves the group on every graceful stop, once its revoke
  // is served (through the handler) before close() marks the consumer as
  // terminating; records polled meanwhile are not applied (read again later).
  impl_->consumer->unsubscribe();
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (Assigned() && std::chrono::steady_clock::now() < give_up) {
    std::unique_ptr<RdKafka::Message> ignored(impl_->consumer->consume(100));
  }
  impl_->consumer->close();  // runs the final revoke through the handler, if not yet
  if (impl_->withdrawals) impl_->withdrawals->close();
}

}  // namespace wijkpuls
