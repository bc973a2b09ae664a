// Integration harness: a mock Kafka cluster in the test process (brokers on
// loopback TCP), a simulated season produced into it, and the real
// `wijkpuls serve` binary as a child process.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kafka/mock_cluster.h"
#include "nlohmann/json.hpp"
#include "sim/simulator.h"
#include "tests/support/test_support.h"

namespace wijkpuls::testing {

inline constexpr const char* kResponses = "wijkprofiel.responses.v1";
inline constexpr const char* kWithdrawals = "wijkprofiel.withdrawals.v1";
inline constexpr const char* kRejected = "wijkprofiel.responses.rejected.v1";
inline constexpr const char* kQuota = "wijkprofiel.quota.v1";
inline constexpr const char* kScores = "wijkprofiel.scores.provisional.v1";

// Kafka API keys and error codes for MockCluster::PushRequestErrors.
inline constexpr int kProduceApi = 0;
inline constexpr int kFetchApi = 1;
inline constexpr int kNotLeaderForPartition = 6;
inline constexpr int kRequestTimedOut = 7;

struct ClusterOptions {
  int brokers = 1;
  int response_partitions = 8;
  int withdrawal_partitions = 2;
  int output_partitions = 4;
};

std::unique_ptr<MockCluster> StartCluster(const ClusterOptions& options);

// A season with Kafka positions: record i is at (topic, partition, offset[i]).
struct ProducedSeason {
  std::vector<sim::SimRecord> records;
  std::vector<int64_t> offsets;
  sim::SimTruth truth;
  int64_t total() const { return static_cast<int64_t>(records.size()); }
};
ProducedSeason MakeSeason(double scale, uint64_t seed, const ClusterOptions& options);
void Produce(const ProducedSeason& season, const std::string& brokers);
// Produces records [from, to) only.
void ProduceRange(const ProducedSeason& season, const std::string& brokers, size_t from, size_t to);

class Daemon {
 public:
  Daemon(const TempDir& dir, const std::string& config, int port, const std::string& log_name = "daemon.log",
         std::vector<std::string> extra_args = {});
  int port() const { return port_; }
  Subprocess& process() { return *process_; }
  std::string Log() const { return process_->Output(); }
  // Waits until /healthz answers.
  bool WaitUp(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Metrics as name{labels} -> value.
  std::map<std::string, double> Metrics();
  // Sum of every series of a metric whose labels contain all of `match`.
  double Sum(const std::string& metric, const std::vector<std::string>& match = {});
  // Waits until the committed offsets of the responses and withdrawals
  // topics add up to `records`.
  bool WaitCommitted(int64_t records, std::chrono::milliseconds timeout);
  nlohmann::json Get(const std::string& path);
  // SIGTERM, then the exit code.
  int Stop(std::chrono::milliseconds timeout = std::chrono::seconds(20));

 private:
  int port_;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace wijkpuls::testing
