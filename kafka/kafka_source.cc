#include "kafka/kafka_source.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <cstring>
#include <map>
#include <set>

#include "validate/decode.h"
#include "kafka/kafka_stats.h"
#include "model/log.h"
#include "model/text.h"

namespace wijkpuls {

struct KafkaSource::Impl : public RdKafka::RebalanceCb, public RdKafka::EventCb {
  KafkaSettings settings;
  AssignmentHandler* handler = nullptr;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer;
  std::unique_ptr<RdKafka::Message> current;  // owns the buffer of the last record
  std::string current_topic;                  // backs SourceRecord::topic
  std::string current_content_type;           // backs SourceRecord::content_type
  std::set<TopicPartition> assigned;
  std::set<TopicPartition> at_end;
  std::atomic<bool> disconnected{false};
  bool closed = false;
  // Set while the group has another member: this instance holds only some of
  // the input partitions and pauses them all (it would count a part of the
  // wijken, and publish gebied and city figures of that part).
  std::string shared_group;
  // Per assigned partition, the offset its first record must have (stored,
  // or 0: the beginning) until that record is seen. A first record further
  // on is either after transaction markers, or the log was cut by retention
  // before this state read it: then the partition is `truncated`, paused, and
  // its records are not handed on (unless settings.accept_truncated_input).
  std::map<TopicPartition, int64_t> expect_from;
  std::map<TopicPartition, std::string> truncated;

  // How many partitions the input topics have (metadata); -1 when unknown.
  int TopicPartitions(RdKafka::KafkaConsumer* c) const {
    RdKafka::Metadata* md = nullptr;
    if (c->metadata(true, nullptr, &md, 5000) != RdKafka::ERR_NO_ERROR) return -1;
    std::unique_ptr<RdKafka::Metadata> owned(md);
    int n = 0;
    for (const RdKafka::TopicMetadata* t : *md->topics()) {
      if (t->topic() == settings.topics.responses || t->topic() == settings.topics.withdrawals) {
        n += static_cast<int>(t->partitions()->size());
      }
    }
    return n;
  }

  // After an assignment: alone in the group, or paused.
  void CheckAlone(RdKafka::KafkaConsumer* c) {
    const int total = TopicPartitions(c);
    const int held = static_cast<int>(assigned.size());
    if (total < 0 || held >= total) {
      if (!shared_group.empty()) spdlog::info("the consumer holds every input partition again: consuming");
      shared_group.clear();
      // A partition paused while the group was shared stays paused through
      // a new assignment (librdkafka keeps the flag): resume them all.
      Pause(c, /*resume=*/true);
      PauseTruncated(c);
      return;
    }
    shared_group = Cat("group ", settings.group_id, " has another member: this instance holds ", held, " of the ",
                       total, " input partitions, and wijkpuls runs as one instance per group; consumption "
                       "is paused until the other member leaves");
    spdlog::error("{}", shared_group);
    Pause(c);
  }

  void PauseTruncated(RdKafka::KafkaConsumer* c) {
    if (truncated.empty()) return;
    std::vector<RdKafka::TopicPartition*> tps;
    for (const auto& [tp, why] : truncated) tps.push_back(RdKafka::TopicPartition::create(tp.topic, tp.partition));
    c->pause(tps);
    RdKafka::TopicPartition::destroy(tps);
  }

  // The first record of `tp` since it was assigned or rewound is at `offset`.
  // False: the partition's log was cut after `expected`; it is now paused.
  bool CheckStart(RdKafka::KafkaConsumer* c, const TopicPartition& tp, int64_t expected, int64_t offset) {
    if (offset <= expected) return true;
    int64_t low = -1, high = -1;
    const RdKafka::ErrorCode code = c->query_watermark_offsets(tp.topic, tp.partition, &low, &high, 5000);
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
    truncated[tp] = Cat(what, "; the partition is not read (counting it would count a part of the wave): "
                              "restore the state directory, or set kafka.accept_truncated_input");
    spdlog::error("{}", truncated[tp]);
    PauseTruncated(c);
    return false;
  }

  void Pause(RdKafka::KafkaConsumer* c, bool resume = false) {
    std::vector<RdKafka::TopicPartition*> tps;
    for (const TopicPartition& tp : assigned) tps.push_back(RdKafka::TopicPartition::create(tp.topic, tp.partition));
    if (resume) {
      c->resume(tps);
    } else {
      c->pause(tps);
    }
    RdKafka::TopicPartition::destroy(tps);
  }

  static std::vector<TopicPartition> ToList(const std::vector<RdKafka::TopicPartition*>& ps) {
    std::vector<TopicPartition> out;
    for (const RdKafka::TopicPartition* p : ps) out.push_back(TopicPartition{p->topic(), p->partition()});
    return out;
  }

  void rebalance_cb(RdKafka::KafkaConsumer* c, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      const OffsetMap stored = handler->OnAssign(ToList(partitions));
      for (RdKafka::TopicPartition* p : partitions) {
        auto it = stored.find({p->topic(), p->partition()});
        // No stored offset: this state has never read the partition, so it
        // starts at the beginning, whatever the group committed.
        p->set_offset(it == stored.end() ? RdKafka::Topic::OFFSET_BEGINNING : it->second);
        const TopicPartition tp{p->topic(), p->partition()};
        assigned.insert(tp);
        expect_from[tp] = it == stored.end() ? 0 : it->second;
        truncated.erase(tp);
        spdlog::info("assigned {}/{} from offset {}", p->topic(), p->partition(),
                     it == stored.end() ? std::string("beginning") : std::to_string(it->second));
      }
      c->assign(partitions);
      CheckAlone(c);
    } else {
      handler->OnRevoke(ToList(partitions));
      for (RdKafka::TopicPartition* p : partitions) {
        const TopicPartition tp{p->topic(), p->partition()};
        assigned.erase(tp);
        at_end.erase(tp);
        expect_from.erase(tp);
        truncated.erase(tp);
        spdlog::info("revoked {}/{}", p->topic(), p->partition());
      }
      c->unassign();
    }
  }

  void event_cb(RdKafka::Event& event) override {
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
KafkaSource::~KafkaSource() { Close(); }

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
  RdKafka::ErrorCode code = impl->consumer->subscribe({settings.topics.responses, settings.topics.withdrawals});
  if (code != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(Cat("kafka consumer: subscribe: ", RdKafka::err2str(code)));
  }
  return std::unique_ptr<KafkaSource>(new KafkaSource(std::move(impl)));
}

std::optional<SourceRecord> KafkaSource::Poll(std::chrono::milliseconds timeout) {
  impl_->current.reset(impl_->consumer->consume(static_cast<int>(timeout.count())));
  RdKafka::Message* m = impl_->current.get();
  switch (m->err()) {
    case RdKafka::ERR_NO_ERROR: {
      impl_->disconnected = false;
      TopicPartition tp{m->topic_name(), m->partition()};
      if (!impl_->truncated.empty() && impl_->truncated.count(tp)) return std::nullopt;  // fetched before the pause
      if (auto e = impl_->expect_from.find(tp); e != impl_->expect_from.end()) {
        const int64_t expected = e->second;
        impl_->expect_from.erase(e);
        if (!impl_->CheckStart(impl_->consumer.get(), tp, expected, m->offset())) return std::nullopt;
      }
      impl_->at_end.erase(tp);
      SourceRecord r;
      impl_->current_topic = m->topic_name();
      r.topic = impl_->current_topic;
      r.partition = m->partition();
      r.offset = m->offset();
      if (m->key_pointer()) r.key = std::string_view(static_cast<const char*>(m->key_pointer()), m->key_len());
      r.value = std::string_view(static_cast<const char*>(m->payload()), m->len());
      impl_->current_content_type.clear();
      rd_kafka_headers_t* headers = nullptr;
      if (rd_kafka_message_headers(m->c_ptr(), &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
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
          impl_->current_content_type.assign(static_cast<const char*>(value), size);
        }
      }
      r.content_type = impl_->current_content_type;
      return r;
    }
    case RdKafka::ERR__PARTITION_EOF:
      impl_->disconnected = false;
      impl_->at_end.insert(TopicPartition{m->topic_name(), m->partition()});
      return std::nullopt;
    case RdKafka::ERR__TIMED_OUT:
      return std::nullopt;
    default:
      spdlog::warn("kafka consumer: {}", m->errstr());
      return std::nullopt;
  }
}

void KafkaSource::Rewind(const OffsetMap& offsets) {
  std::vector<RdKafka::TopicPartition*> tps;
  for (const TopicPartition& tp : impl_->assigned) {
    auto it = offsets.find({tp.topic, tp.partition});
    tps.push_back(RdKafka::TopicPartition::create(
        tp.topic, tp.partition, it == offsets.end() ? RdKafka::Topic::OFFSET_BEGINNING : it->second));
  }
  impl_->current.reset();
  impl_->at_end.clear();
  RdKafka::ErrorCode code = impl_->consumer->assign(tps);
  if (code != RdKafka::ERR_NO_ERROR) spdlog::error("rewinding the consumer: {}", RdKafka::err2str(code));
  RdKafka::TopicPartition::destroy(tps);
  for (const TopicPartition& tp : impl_->assigned) {
    auto it = offsets.find({tp.topic, tp.partition});
    if (!impl_->truncated.count(tp)) impl_->expect_from[tp] = it == offsets.end() ? 0 : it->second;
  }
  if (!impl_->shared_group.empty()) impl_->Pause(impl_->consumer.get());
  impl_->PauseTruncated(impl_->consumer.get());
}

void KafkaSource::Committed(const OffsetMap& offsets) {
  std::vector<RdKafka::TopicPartition*> tps;
  for (const auto& [tp, offset] : offsets) {
    if (!impl_->assigned.count(TopicPartition{tp.first, tp.second})) continue;
    tps.push_back(RdKafka::TopicPartition::create(tp.first, tp.second, offset));
  }
  if (!tps.empty()) impl_->consumer->commitAsync(tps);
  RdKafka::TopicPartition::destroy(tps);
}

bool KafkaSource::AtEnd() const {
  if (impl_->assigned.empty() || !impl_->shared_group.empty() || !impl_->truncated.empty()) return false;
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
    if (impl_->consumer->get_watermark_offsets(tp.topic, tp.partition, &low, &high) ==
        RdKafka::ERR_NO_ERROR) {
      p.high_watermark = high;
      p.low_watermark = std::max<int64_t>(0, low);
    }
    p.at_end = impl_->at_end.count(tp) > 0;
    out.push_back(p);
  }
  return out;
}

bool KafkaSource::Assigned() const { return !impl_->assigned.empty(); }
bool KafkaSource::Disconnected() const { return impl_->disconnected; }
std::string KafkaSource::HeldBack() const {
  std::string out = impl_->shared_group;
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
  while (!impl_->assigned.empty() && std::chrono::steady_clock::now() < give_up) {
    std::unique_ptr<RdKafka::Message> ignored(impl_->consumer->consume(100));
  }
  impl_->consumer->close();  // runs the final revoke through the handler, if not yet
}

}  // namespace wijkpuls
