#include "tests/integration/daemon_harness.h"

#include <gtest/gtest.h>

#include <sstream>

#include "sim/season_output.h"

namespace wijkpuls::testing {

std::unique_ptr<MockCluster> StartCluster(const ClusterOptions& o) {
  absl::StatusOr<std::unique_ptr<MockCluster>> c = MockCluster::Start(o.brokers);
  EXPECT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE((*c)->CreateTopic(kResponses, o.response_partitions).ok());
  EXPECT_TRUE((*c)->CreateTopic(kWithdrawals, o.withdrawal_partitions).ok());
  EXPECT_TRUE((*c)->CreateTopic(kRejected, o.output_partitions).ok());
  EXPECT_TRUE((*c)->CreateTopic(kQuota, o.output_partitions).ok());
  EXPECT_TRUE((*c)->CreateTopic(kScores, o.output_partitions).ok());
  EXPECT_TRUE((*c)->CreateTopic(KafkaTopics().summaries, o.output_partitions).ok());
  return std::move(*c);
}

ProducedSeason MakeSeason(double scale, uint64_t seed, const ClusterOptions& options) {
  sim::SimOptions so;
  so.scale = scale;
  so.seed = seed;
  so.response_partitions = options.response_partitions;
  so.withdrawal_partitions = options.withdrawal_partitions;
  ProducedSeason s;
  s.records = sim::Generate(DefaultMethodology(), DefaultDistricts(), so);
  std::map<std::pair<std::string, int32_t>, int64_t> next;
  for (const sim::SimRecord& r : s.records) s.offsets.push_back(next[{r.topic, r.partition}]++);
  s.truth = sim::Summarise(s.records);
  return s;
}

void ProduceRange(const ProducedSeason& season, const std::string& brokers, size_t from, size_t to) {
  std::vector<sim::SimRecord> part(season.records.begin() + static_cast<long>(from),
                                   season.records.begin() + static_cast<long>(to));
  KafkaSettings k;
  k.brokers = brokers;
  absl::Status st = sim::ProduceToKafka(part, k, sim::ProduceOptions{});
  ASSERT_TRUE(st.ok()) << st;
}

void Produce(const ProducedSeason& season, const std::string& brokers) {
  ProduceRange(season, brokers, 0, season.records.size());
}

Daemon::Daemon(const TempDir& dir, const std::string& config, int port, const std::string& log_name,
               std::vector<std::string> extra_args)
    : port_(port) {
  std::vector<std::string> argv = {BinaryPath(), "serve", "--config", config};
  for (std::string& a : extra_args) argv.push_back(std::move(a));
  process_ = std::make_unique<Subprocess>(argv, dir.File(log_name));
}

bool Daemon::WaitUp(std::chrono::milliseconds timeout) {
  return WaitFor([&] { return HttpGet(port_, "/healthz").status == 200 || !process_->Running(); }, timeout) &&
         process_->Running();
}

std::map<std::string, double> Daemon::Metrics() {
  std::map<std::string, double> out;
  std::istringstream in(HttpGet(port_, "/metrics").body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

double Daemon::Sum(const std::string& metric, const std::vector<std::string>& match) {
  double total = 0;
  for (const auto& [series, value] : Metrics()) {
    if (series.compare(0, metric.size(), metric) != 0) continue;
    if (series.size() > metric.size() && series[metric.size()] != '{') continue;
    bool all = true;
    for (const std::string& m : match) all = all && series.find(m) != std::string::npos;
    if (all) total += value;
  }
  return total;
}

bool Daemon::WaitCommitted(int64_t records, std::chrono::milliseconds timeout) {
  return WaitFor([&] { return Sum("wijkpuls_partition_committed_offset") >= static_cast<double>(records); },
                 timeout, std::chrono::milliseconds(200));
}

nlohmann::json Daemon::Get(const std::string& path) {
  HttpResult r = HttpGet(port_, path);
  EXPECT_EQ(r.status, 200) << path << ": " << r.body;
  return r.status == 200 ? nlohmann::json::parse(r.body) : nlohmann::json();
}

int Daemon::Stop(std::chrono::milliseconds timeout) {
  process_->Signal(SIGTERM);
  return process_->Wait(timeout).value_or(-1);
}

}  // namespace wijkpuls::testing
