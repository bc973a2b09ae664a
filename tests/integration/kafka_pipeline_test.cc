// The whole pipeline over TCP: a simulated season in a mock Kafka cluster,
// the real daemon consuming it, and every figure checked against what the
// simulator meant. Also: a restart reads nothing twice, and a daemon killed
// mid-season ends in the same state as an uninterrupted replay.
#include <gtest/gtest.h>

#include "kafka/mock_cluster.h"
#include "sim/season_output.h"
#include "tests/integration/daemon_harness.h"
#include "model/text.h"
#include "wijkpuls/v1/wijkpuls.pb.h"

namespace wijkpuls::testing {
namespace {

using nlohmann::json;

const ClusterOptions kCluster{};

const ProducedSeason& Season() {
  static const ProducedSeason s = MakeSeason(0.8, 11, kCluster);  // about 22,000 records
  return s;
}

std::string Q(const std::string& k, const std::string& v) { return k + "=\"" + v + "\""; }

// Cells of the quota API as "<wijk>/<VM|WO>/<cell>" -> (accepted, flagged).
std::map<std::string, std::pair<int64_t, int64_t>> CellsOf(const json& quotas) {
  std::map<std::string, std::pair<int64_t, int64_t>> out;
  for (const json& w : quotas["wijken"]) {
    for (const json& c : w["cells"]) {
      const std::string ins = c["instrument"] == "VEILIGHEIDSMONITOR" ? "VM" : "WO";
      const int age = c["age_band"] == "AGE_15_29" ? 0 : c["age_band"] == "AGE_30_44" ? 1 : c["age_band"] == "AGE_45_64" ? 2 : 3;
      const int cell = age * 2 + (c["sex"] == "MALE" ? 0 : 1);
      const int64_t a = c["accepted"].get<int64_t>(), f = c["flagged"].get<int64_t>();
      if (a || f) out[Cat(w["wijk"].get<std::string>(), "/", ins, "/", cell)] = {a, f};
    }
  }
  return out;
}

TEST(KafkaPipeline, EveryRecordOfASeasonHasExactlyOneOutcomeAndTheCountsMatchTheSimulator) {
  const ProducedSeason& season = Season();
  ASSERT_GE(season.total(), 20000);
  TempDir dir;
  auto cluster = StartCluster(kCluster);
  Produce(season, cluster->bootstrap());
  const int port = FreePort();
  const std::string config = WriteTestConfig(dir, cluster->bootstrap(), port, "it-season");
  Daemon d(dir, config, port);
  ASSERT_TRUE(d.WaitUp()) << d.Log();
  ASSERT_TRUE(d.WaitCommitted(season.total(), std::chrono::minutes(3))) << d.Log();

  // Outcomes, as the metrics count them, against the simulator's account.
  const sim::SimTruth& t = season.truth;
  auto outcome = [&](const std::string& o) { return static_cast<int64_t>(d.Sum("wijkpuls_records_total", {Q("kind", "response"), Q("outcome", o)})); };
  auto reason = [&](const std::string& r) { return static_cast<int64_t>(d.Sum("wijkpuls_rejections_total", {Q("reason", r), Q("kind", "response")})); };
  const int64_t withdrawn = reason("WITHDRAWN");
  EXPECT_EQ(outcome("duplicate"), t.by_outcome.at("duplicate"));
  EXPECT_EQ(outcome("accepted") + outcome("flagged") + withdrawn, t.by_outcome.at("accepted") + t.by_outcome.at("flagged"));
  EXPECT_LE(withdrawn, t.order_dependent_records);
  EXPECT_EQ(outcome("rejected") - withdrawn, t.by_outcome.at("rejected"));
  for (const auto& [r, n] : t.by_reason) EXPECT_EQ(reason(r), n) << r;
  EXPECT_EQ(outcome("accepted") + outcome("flagged") + outcome("duplicate") + outcome("rejected"), t.response_records);
  for (const auto& [f, n] : t.by_flag) {
    // A flagged response of a withdrawn respondent may be WITHDRAWN instead.
    EXPECT_LE(d.Sum("wijkpuls_flags_total", {Q("flag", f)}), n) << f;
    EXPECT_GE(d.Sum("wijkpuls_flags_total", {Q("flag", f)}), n - t.order_dependent_records) << f;
  }
  EXPECT_EQ(d.Sum("wijkpuls_records_total", {Q("kind", "withdrawal")}), t.withdrawal_records);

  // The stored offsets are the topics' end offsets.
  for (const char* topic : {kResponses, kWithdrawals}) {
    for (const auto& [p, end] : EndOffsets(cluster->bootstrap(), topic)) {
      EXPECT_EQ(d.Sum("wijkpuls_partition_committed_offset", {Q("topic", topic), Q("partition", std::to_string(p))}), end)
          << topic << "/" << p;
    }
  }

  // Every rejected record is on the dead-letter topic, with its reason as a header.
  std::map<std::string, std::string> dead;  // "topic/partition/offset" -> reason
  for (const KafkaRecord& r : ReadTopic(cluster->bootstrap(), kRejected)) {
    v1::Rejection rej;
    ASSERT_TRUE(rej.ParseFromString(r.value));
    EXPECT_EQ(r.headers.at("wijkpuls-reason"), v1::RejectReason_Name(rej.reason()));
    EXPECT_EQ(rej.detail().find("INV"), std::string::npos) << "a dead letter's detail names a respondent";
    dead[Cat(rej.source_topic(), "/", rej.source_partition(), "/", rej.source_offset())] = v1::RejectReason_Name(rej.reason());
  }
  int64_t expected_dead = 0;
  for (size_t i = 0; i < season.records.size(); ++i) {
    const sim::SimRecord& r = season.records[i];
    if (r.expected.withdrawal || !r.expected.reason) continue;
    ++expected_dead;
    const std::string pos = Cat(r.topic, "/", r.partition, "/", season.offsets[i]);
    ASSERT_TRUE(dead.count(pos)) << pos << " " << WireName(*r.expected.reason);
    EXPECT_EQ(dead[pos], WireName(*r.expected.reason)) << pos;
  }
  EXPECT_EQ(static_cast<int64_t>(dead.size()), expected_dead + withdrawn);

  // Quota counts per cell equal the simulator's final account.
  json quotas = d.Get("/api/v1/quotas");
  EXPECT_EQ(CellsOf(quotas), t.final_cells);
  EXPECT_EQ(quotas["wijken"].size(), 71u);
  json scores = d.Get("/api/v1/scores");
  EXPECT_EQ(scores["units"].size(), 86u);
  EXPECT_EQ(d.Stop(), 0) << d.Log();

  // A restart on the same state directory reads nothing twice.
  Daemon again(dir, config, port, "again.log", {"--exit-at-end"});
  ASSERT_EQ(again.process().Wait(std::chrono::minutes(1)).value_or(-1), 0) << again.Log();
  EXPECT_TRUE(Contains(again.Log(), "input closed after 0 committed records")) << again.Log();
  EXPECT_EQ(ReadTopic(cluster->bootstrap(), kRejected).size(), dead.size());
}

TEST(KafkaPipeline, ADaemonKilledMidSeasonEndsInTheStateOfAnUninterruptedReplay) {
  const ProducedSeason& season = Season();
  TempDir dir;
  // The reference: the same season replayed from a file into another state directory.
  ASSERT_TRUE(sim::WriteRecordFile(season.records, dir.File("season.bin")).ok());
  auto cluster = StartCluster(kCluster);
  const int port = FreePort();
  const std::string config = WriteTestConfig(dir, cluster->bootstrap(), port, "it-kill",
                                             "pipeline:\n  batch_records: 300\n  linger_ms: 5\n");
  std::string out;
  ASSERT_EQ(RunCommand({BinaryPath(), "replay", dir.File("season.bin"), "--config", config, "--state-dir",
                 dir.File("reference")}, &out), 0) << out;
  std::string reference_quotas, reference_scores;
  ASSERT_EQ(RunCommand({BinaryPath(), "quotas", "--config", config, "--state-dir", dir.File("reference"), "--json"}, &reference_quotas), 0);
  ASSERT_EQ(RunCommand({BinaryPath(), "scores", "--config", config, "--state-dir", dir.File("reference"), "--json"}, &reference_scores), 0);

  Produce(season, cluster->bootstrap());
  {
    Daemon d(dir, config, port, "first.log");
    ASSERT_TRUE(d.WaitUp()) << d.Log();
    ASSERT_TRUE(d.WaitCommitted(season.total() / 3, std::chrono::minutes(2))) << d.Log();
    d.process().Signal(SIGKILL);
    ASSERT_EQ(d.process().Wait(std::chrono::seconds(10)).value_or(-1), 128 + SIGKILL);
  }
  Daemon d(dir, config, port, "second.log");
  ASSERT_TRUE(d.WaitUp()) << d.Log();
  ASSERT_TRUE(d.WaitCommitted(season.total(), std::chrono::minutes(2))) << d.Log();
  EXPECT_EQ(json::parse(HttpGet(port, "/api/v1/quotas").body), json::parse(reference_quotas));
  EXPECT_EQ(json::parse(HttpGet(port, "/api/v1/scores").body), json::parse(reference_scores));
  EXPECT_EQ(d.Stop(), 0) << d.Log();
}

TEST(KafkaPipeline, MetricsShowRecordsFlowing) {
  TempDir dir;
  auto cluster = StartCluster(kCluster);
  const int port = FreePort();
  Daemon d(dir, WriteTestConfig(dir, cluster->bootstrap(), port, "it-flow"), port);
  ASSERT_TRUE(d.WaitUp()) << d.Log();
  EXPECT_EQ(d.Sum("wijkpuls_records_total"), 0);
  ProduceRange(Season(), cluster->bootstrap(), 0, 2000);
  ASSERT_TRUE(WaitFor([&] { return d.Sum("wijkpuls_records_total") >= 2000; }, std::chrono::minutes(1))) << d.Log();
  EXPECT_GT(d.Sum("wijkpuls_batch_commit_seconds_count"), 0);
  EXPECT_EQ(HttpGet(port, "/healthz").status, 200);
  ASSERT_TRUE(WaitFor([&] { return HttpGet(port, "/readyz").status == 200; }, std::chrono::seconds(30)))
      << HttpGet(port, "/readyz").body;
  EXPECT_EQ(d.Stop(), 0);
}

// The global stage over the summaries topic (docs/design.md, "Several
// instances"): an instance that holds none of the input shows, once it has
// read the summaries, the same quotas, scores and quality tallies as the one
// that counted them. (B reads other input and output topics: it only shares
// the summaries topic.)
TEST(Summaries, AnInstanceThatHoldsNoInputShowsWhatAnotherCountedThroughTheSummaries) {
  TempDir a_dir, b_dir;
  auto cluster = StartCluster(kCluster);
  for (const char* t : {"b.responses", "b.withdrawals", "b.rejected", "b.quota", "b.scores"}) {
    ASSERT_TRUE(cluster->CreateTopic(t, 2).ok());
  }
  const int a_port = FreePort(), b_port = FreePort();
  Daemon a(a_dir, WriteTestConfig(a_dir, cluster->bootstrap(), a_port, "it-sum-a"), a_port, "a.log");
  std::string b_config = ReadFile(WriteTestConfig(b_dir, cluster->bootstrap(), b_port, "it-sum-b"));
  const std::string group = "  group_id: it-sum-b\n";
  ASSERT_NE(b_config.find(group), std::string::npos);
  b_config.replace(b_config.find(group), group.size(),
                   group + "  topics: {responses: b.responses, withdrawals: b.withdrawals, rejected: b.rejected, "
                           "quota: b.quota, scores: b.scores}\n");
  WriteFile(b_dir.File("wijkpuls.yaml"), b_config);
  Daemon b(b_dir, b_dir.File("wijkpuls.yaml"), b_port, "b.log");
  ASSERT_TRUE(a.WaitUp()) << a.Log();
  ASSERT_TRUE(b.WaitUp()) << b.Log();
  Produce(Season(), cluster->bootstrap());
  ASSERT_TRUE(a.WaitCommitted(Season().total(), std::chrono::minutes(2))) << a.Log();
  for (const std::string path : {"/api/v1/quotas", "/api/v1/scores", "/api/v1/quality"}) {
    json from_a, from_b;
    const bool same = WaitFor(
        [&] {
          from_a = a.Get(path);
          from_b = b.Get(path);
          return !from_a.is_null() && from_a == from_b;
        },
        std::chrono::seconds(60));
    EXPECT_TRUE(same) << path << "\nA: " << from_a.dump().substr(0, 2000) << "\nB: " << from_b.dump().substr(0, 2000);
  }
  // Both say which input their figures reflect: every partition, to its end.
  const HttpResult from_a = HttpGet(a_port, "/api/v1/quotas"), from_b = HttpGet(b_port, "/api/v1/quotas");
  EXPECT_EQ(from_a.headers.count("wijkpuls-input-offsets"), 1u);
  EXPECT_EQ(from_a.headers.at("wijkpuls-input-offsets"), from_b.headers.at("wijkpuls-input-offsets"));
  int64_t reflected = 0;
  for (std::string_view part : Split(from_b.headers.at("wijkpuls-input-offsets"), ',')) {
    reflected += std::stoll(std::string(part.substr(part.find('=') + 1)));
  }
  int64_t responses = 0;
  for (const sim::SimRecord& r : Season().records) responses += r.topic == kResponses;
  EXPECT_EQ(reflected, responses);
  // B counted nothing itself.
  EXPECT_EQ(b.Sum("wijkpuls_records_total"), 0);
  // Ready once each of its pipelines (one per core) holds its part of
  // b.responses: the group may take a second round to give the second one
  // its partition.
  EXPECT_TRUE(WaitFor([&] { return HttpGet(b_port, "/readyz").status == 200; }, std::chrono::seconds(60)))
      << HttpGet(b_port, "/readyz").body;
  EXPECT_EQ(a.Stop(), 0);
  EXPECT_EQ(b.Stop(), 0);
}

}  // namespace
}  // namespace wijkpuls::testing
