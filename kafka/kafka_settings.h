// How wijkpuls reaches Kafka: brokers, group, topic names and librdkafka
// properties passed through unchanged (e.g. security.protocol, sasl.*).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace wijkpuls {

struct KafkaTopics {
  std::string responses = "wijkprofiel.responses.v1";
  std::string withdrawals = "wijkprofiel.withdrawals.v1";
  std::string rejected = "wijkprofiel.responses.rejected.v1";
  std::string quota = "wijkprofiel.quota.v1";
  std::string scores = "wijkprofiel.scores.provisional.v1";
  // Compacted: every task's per-wijk summaries, read whole by every instance
  // (docs/design.md, "Several instances").
  std::string summaries = "wijkpuls.summaries.v1";
};

struct KafkaSettings {
  std::string brokers;  // bootstrap.servers
  std::string group_id = "wijkpuls";
  KafkaTopics topics;
  std::map<std::string, std::string> properties;           // consumer and producers
  std::map<std::string, std::string> consumer_properties;  // consumer only
  std::map<std::string, std::string> producer_properties;  // producers only
  int delivery_timeout_ms = 30000;  // message.timeout.ms of the producers
  // group.instance.id: static group membership (KIP-345). A consumer that
  // restarts with the id of a member that was killed takes that member's
  // partitions back at once, without waiting for its session to time out.
  // Unset: none (the daemon sets DefaultGroupInstanceId); empty: none.
  std::optional<std::string> group_instance_id;
  // An input partition whose log starts after the offset this state has read
  // it to (retention deleted records it never counted) is paused and
  // reported, not read from where the log now starts: counting it would count
  // a part of the wave. true: read it anyway (the operator accepts the loss;
  // logged as a warning every time).
  bool accept_truncated_input = false;
};

// The session a consumer keeps without a heartbeat before the group drops it
// (librdkafka's default is 45 s). A member killed with -9 holds its
// partitions that long (up to about twice, depending on when the restart
// joins), unless it comes back with its group.instance.id to a broker that
// knows static membership.
inline constexpr int kDefaultSessionTimeoutMs = 10000;
// The consumer's prefetch (queued.max.messages.kbytes) unless configured
// (kafka_settings.cc says why this much).
inline constexpr int kDefaultPrefetchKbytes = 65536;

// "wijkpuls-<host>-<first 12 hex digits of SHA-256 of the state directory>":
// the same after every restart, and different for every state directory on
// a host (one daemon per directory), so that two daemons on one host never
// share an id (the group would fence one of them). Characters outside
// [A-Za-z0-9._-] of the host become '_'; the host is cut at 64.
std::string DefaultGroupInstanceId(std::string_view host, std::string_view state_dir);
// This machine's host name ("localhost" when it has none).
std::string HostName();

// The consumer's librdkafka properties: wijkpuls's own (bounded memory,
// offsets stored with the state, the session above, group.instance.id when
// set), then `properties`, then `consumer_properties`.
std::map<std::string, std::string> ConsumerProperties(const KafkaSettings& settings);

// Why librdkafka refuses `value` for the client property `name` (unknown
// property, bad value, out of range), on one line; empty when it takes it.
// Checks the property alone, without creating a client.
std::string KafkaPropertyError(const std::string& name, const std::string& value);

}  // namespace wijkpuls
