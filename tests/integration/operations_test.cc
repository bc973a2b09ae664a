// What an operator does to a running wijkpuls: reload the register with
// SIGHUP, change the methodology (and rebuild), and trust that no respondent
// ref is ever stored or logged.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/merge_operator.h>

#include <filesystem>

#include "sim/season_output.h"
#include "tests/integration/daemon_harness.h"
#include "model/text.h"
#include "wijkpuls/v1/wijkpuls.pb.h"

namespace wijkpuls::testing {
namespace {

using nlohmann::json;

// A config whose methodology and register are copies in `dir` (so a test may change them).
std::string ConfigWithCopies(const TempDir& dir, const std::string& brokers, int port, const std::string& group,
                             const std::string& extra = "") {
  std::filesystem::copy_file(MethodologyPath(), dir.File("methodology.yaml"));
  std::filesystem::copy_file(DistrictsPath(), dir.File("districts.csv"));
  std::string config = ReadFile(WriteTestConfig(dir, brokers, port, group, extra));
  config = WithLine(config, "methodology: ", "methodology: " + dir.File("methodology.yaml"));
  config = WithLine(config, "districts: ", "districts: " + dir.File("districts.csv"));
  WriteFile(dir.File("wijkpuls.yaml"), config);
  return dir.File("wijkpuls.yaml");
}

TEST(Operations, SighupReloadsTheRegisterAndKeepsTheCounts) {
  TempDir dir;
  auto cluster = StartCluster(ClusterOptions{});
  ProducedSeason season = MakeSeason(0.1, 4, ClusterOptions{});
  Produce(season, cluster->bootstrap());
  const int port = FreePort();
  const std::string config = ConfigWithCopies(dir, cluster->bootstrap(), port, "it-hup");
  Daemon d(dir, config, port);
  ASSERT_TRUE(d.WaitUp()) << d.Log();
  ASSERT_TRUE(d.WaitCommitted(season.total(), std::chrono::minutes(2))) << d.Log();
  const json before = d.Get("/api/v1/quotas/cool");
  ASSERT_EQ(before["instruments"][0]["target"].get<int>(), 200);

  // Raise Cool's target from 200 to 260.
  std::string reg = ReadFile(dir.File("districts.csv"));
  reg = Patched(reg, "rotterdam-centrum,Rotterdam Centrum,cool,Cool,200,",
                "rotterdam-centrum,Rotterdam Centrum,cool,Cool,260,");
  WriteFile(dir.File("districts.csv"), reg);
  d.process().Signal(SIGHUP);
  ASSERT_TRUE(WaitFor([&] { return d.Get("/api/v1/quotas/cool")["instruments"][0]["target"].get<int>() == 260; },
                      std::chrono::seconds(20)))
      << d.Log();
  const json after = d.Get("/api/v1/quotas/cool");
  EXPECT_EQ(after["instruments"][0]["net"], before["instruments"][0]["net"]);  // counts untouched
  EXPECT_EQ(after["instruments"][1]["accepted"], before["instruments"][1]["accepted"]);
  EXPECT_NE(after["register_hash"], before["register_hash"]);

  // A broken register is refused with a log line; the old one stays.
  WriteFile(dir.File("districts.csv"), reg + "broken,line\n");
  d.process().Signal(SIGHUP);
  ASSERT_TRUE(WaitFor([&] { return Contains(d.Log(), "district register refused"); }, std::chrono::seconds(20))) << d.Log();
  EXPECT_EQ(d.Get("/api/v1/quotas/cool")["instruments"][0]["target"].get<int>(), 260);
  EXPECT_EQ(HttpGet(port, "/healthz").status, 200);
  EXPECT_EQ(HttpGet(port, "/healthz").body, R"({"alive":true})");
  // Read-only: another method is refused as such, in JSON.
  const HttpResult post = HttpPost(port, "/api/v1/quotas");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.body, R"({"error":"POST is not allowed here: only GET and HEAD"})");
  EXPECT_EQ(d.Stop(), 0) << d.Log();
}

TEST(Operations, AChangedMethodologyIsRefusedUntilRebuilt) {
  TempDir dir;
  ProducedSeason season = MakeSeason(0.1, 6, ClusterOptions{});
  ASSERT_TRUE(sim::WriteRecordFile(season.records, dir.File("season.bin")).ok());
  const std::string config = ConfigWithCopies(dir, "127.0.0.1:9", FreePort(), "unused");
  std::string out;
  ASSERT_EQ(RunCommand({BinaryPath(), "replay", dir.File("season.bin"), "--config", config}, &out), 0) << out;
  ASSERT_EQ(RunCommand({BinaryPath(), "scores", "--config", config, "--level", "stad", "--unit", "stad", "--json"}, &out), 0);
  const json before = json::parse(out);

  // sigma0 of VB_ONVEILIG from 9 to 18: its scores move half as far from 100.
  std::string m = ReadFile(dir.File("methodology.yaml"));
  m = Patched(m, "sigma0: 9 }", "sigma0: 18 }");
  WriteFile(dir.File("methodology.yaml"), m);
  EXPECT_EQ(RunCommand({BinaryPath(), "serve", "--config", config}, &out, std::chrono::seconds(30)), 2);
  EXPECT_TRUE(Contains(out, "has changed since the state")) << out;
  EXPECT_TRUE(Contains(out, "wijkpuls rebuild")) << out;
  EXPECT_EQ(RunCommand({BinaryPath(), "replay", dir.File("season.bin"), "--config", config}, &out), 2) << out;

  ASSERT_EQ(RunCommand({BinaryPath(), "rebuild", "--config", config}, &out), 0) << out;
  ASSERT_EQ(RunCommand({BinaryPath(), "scores", "--config", config, "--level", "stad", "--unit", "stad", "--json"}, &out), 0);
  const json after = json::parse(out);
  const json& b = before["indicators"][0];
  const json& a = after["indicators"][0];
  ASSERT_EQ(a["id"], "VB_ONVEILIG");
  EXPECT_EQ(a["n"], b["n"]);
  EXPECT_DOUBLE_EQ(a["value"].get<double>(), b["value"].get<double>());
  EXPECT_NEAR(a["score"].get<double>() - 100, (b["score"].get<double>() - 100) / 2, 1e-9);
  EXPECT_NE(after["methodology_hash"], before["methodology_hash"]);
  // After the rebuild, the state is accepted again.
  ASSERT_EQ(RunCommand({BinaryPath(), "replay", dir.File("season.bin"), "--config", config}, &out), 0) << out;
  EXPECT_TRUE(Contains(out, "replayed 0 records")) << out;
}

// Joins merge operands (the quality tallies are written as merge operands),
// so that a scan sees every byte of every operand, whatever it means.
class ConcatenateOperands : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
             std::string* out, rocksdb::Logger*) const override {
    *out = (existing ? existing->ToString() : "") + value.ToString();
    return true;
  }
  const char* Name() const override { return "ConcatenateOperands"; }
};

// Every byte wijkpuls keeps: the raw files, and every key and value of every
// column family as RocksDB returns them (the files are compressed).
bool StateContains(const std::string& dir, const std::string& needle) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && Contains(ReadFile(entry.path().string()), needle)) return true;
  }
  std::vector<std::string> cfs;
  rocksdb::Options options;
  EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(options, dir, &cfs).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.merge_operator = std::make_shared<ConcatenateOperands>();
  for (const std::string& cf : cfs) descriptors.emplace_back(cf, cf_options);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  EXPECT_TRUE(rocksdb::DB::OpenForReadOnly(options, dir, descriptors, &handles, &db).ok());
  bool found = false;
  int64_t values = 0;
  for (rocksdb::ColumnFamilyHandle* h : handles) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), h));
    int64_t in_cf = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++values;
      ++in_cf;
      found = found || Contains(it->key().ToString(), needle) || Contains(it->value().ToString(), needle);
    }
    EXPECT_TRUE(it->status().ok()) << h->GetName() << ": " << it->status().ToString();
    // Without a merge operator RocksDB skips merge operands silently (status
    // OK): the quality tallies must be seen too.
    if (h->GetName() == "quality") {
      EXPECT_GT(in_cf, 0) << "the scan saw no quality tally";
    }
    db->DestroyColumnFamilyHandle(h);
  }
  delete db;
  EXPECT_GT(values, 1000);  // the scan saw the state
  return found;
}

TEST(Operations, NoRespondentRefIsStoredOrLogged) {
  TempDir dir;
  auto cluster = StartCluster(ClusterOptions{});
  ProducedSeason season = MakeSeason(0.1, 8, ClusterOptions{});
  Produce(season, cluster->bootstrap());
  const int port = FreePort();
  const std::string config = WriteTestConfig(dir, cluster->bootstrap(), port, "it-privacy");
  // Known refs: of an accepted response, of a rejected one, of a second
  // response, and of a respondent who withdrew.
  std::vector<std::string> refs;
  auto pick = [&](auto&& which) {
    for (const sim::SimRecord& r : season.records) {
      if (!r.respondent_ref.empty() && which(r)) {
        refs.push_back(r.respondent_ref);
        return;
      }
    }
  };
  pick([](const sim::SimRecord& r) { return r.expected.outcome == Outcome::kAccepted && !r.expected.withdrawal; });
  pick([](const sim::SimRecord& r) { return r.expected.reason == RejectReason::kNoConsent; });
  pick([](const sim::SimRecord& r) { return r.expected.reason == RejectReason::kDuplicateRespondent; });
  pick([](const sim::SimRecord& r) { return r.expected.withdrawal; });
  ASSERT_EQ(refs.size(), 4u);
  {
    Daemon d(dir, config, port, "daemon.log", {"--log-level", "debug"});
    ASSERT_TRUE(d.WaitUp()) << d.Log();
    ASSERT_TRUE(d.WaitCommitted(season.total(), std::chrono::minutes(2))) << d.Log();
    ASSERT_EQ(d.Stop(), 0) << d.Log();
    const std::string log = d.Log();
    EXPECT_TRUE(Contains(log, "rejected NO_CONSENT")) << "the debug log should mention rejected records";
    for (const std::string& ref : refs) EXPECT_FALSE(Contains(log, ref)) << ref << " in the log";
    // Nor answers: no item id appears in the log.
    for (const char* item : {"\"V01\"", "\"S01\"", "\"F04\"", "V01=", "S01:"}) EXPECT_FALSE(Contains(log, item)) << item;
  }
  for (const std::string& ref : refs) EXPECT_FALSE(StateContains(dir.File("state"), ref)) << ref << " in the state";
  // The scan would have found it: the response ids are there in the clear.
  EXPECT_TRUE(StateContains(dir.File("state"), "sim:2024:"));
}

}  // namespace
}  // namespace wijkpuls::testing

namespace wijkpuls::testing {
namespace {

// The last value of every key of the quota topic, decoded.
std::map<std::string, v1::QuotaSnapshot> LastSnapshots(const std::string& brokers) {
  std::map<std::string, std::pair<int64_t, v1::QuotaSnapshot>> last;
  for (const KafkaRecord& r : ReadTopic(brokers, kQuota)) {
    auto& slot = last[r.key];
    if (r.offset >= slot.first) {
      slot.first = r.offset;
      slot.second.ParseFromString(r.value);
    }
  }
  std::map<std::string, v1::QuotaSnapshot> out;
  for (auto& [k, v] : last) out[k] = v.second;
  return out;
}

bool AnyComplete(const v1::QuotaSnapshot& s) {
  for (const auto& i : s.instruments()) {
    if (i.status() == v1::COMPLETE) return true;
  }
  return false;
}

TEST(Publishing, AWijkThatBecomesCompleteIsPublishedAtOnceDespiteTheDebounce) {
  TempDir dir;
  auto cluster = StartCluster(ClusterOptions{});
  ProducedSeason season = MakeSeason(1.0, 12, ClusterOptions{});
  const size_t first_part = season.records.size() * 55 / 100;
  ProduceRange(season, cluster->bootstrap(), 0, first_part);
  const int port = FreePort();
  // Ten minutes of debounce: after its first publication, a changed wijk is
  // published again within the test only if an instrument became COMPLETE.
  WriteFile(dir.File("w.yaml"), Patched(ReadFile(WriteTestConfig(dir, cluster->bootstrap(), port, "it-complete")),
                                        "quota_debounce_ms: 200", "quota_debounce_ms: 600000"));
  Daemon d(dir, dir.File("w.yaml"), port);
  ASSERT_TRUE(d.WaitUp()) << d.Log();
  ASSERT_TRUE(d.WaitCommitted(static_cast<int64_t>(first_part), std::chrono::minutes(2))) << d.Log();
  // Every wijk is published once (the first publication is not debounced).
  std::map<std::string, v1::QuotaSnapshot> before;
  ASSERT_TRUE(WaitFor([&] {
    before = LastSnapshots(cluster->bootstrap());
    return before.size() == 71;
  }, std::chrono::seconds(60))) << before.size() << " wijken published\n" << d.Log();
  ASSERT_TRUE(WaitFor([&] {
    before = LastSnapshots(cluster->bootstrap());
    for (const auto& [k, s] : before) {
      if (s.watermark().seconds() == 0) return false;
    }
    return true;
  }, std::chrono::seconds(60))) << d.Log();
  ProduceRange(season, cluster->bootstrap(), first_part, season.records.size());
  ASSERT_TRUE(d.WaitCommitted(season.total(), std::chrono::minutes(2))) << d.Log();
  const json api = d.Get("/api/v1/quotas");
  // Wijken with an instrument newly COMPLETE: published at once, equal to the API.
  std::set<std::string> newly_complete;
  for (const json& w : api["wijken"]) {
    const std::string key = "2024/" + w["wijk"].get<std::string>();
    bool complete_now = false;
    for (const json& i : w["instruments"]) complete_now = complete_now || i["status"] == "COMPLETE";
    if (complete_now && !AnyComplete(before.at(key))) newly_complete.insert(key);
  }
  ASSERT_FALSE(newly_complete.empty()) << "the season should complete some wijken";
  std::map<std::string, v1::QuotaSnapshot> after;
  ASSERT_TRUE(WaitFor([&] {
    after = LastSnapshots(cluster->bootstrap());
    for (const std::string& k : newly_complete) {
      if (!AnyComplete(after[k])) return false;
    }
    return true;
  }, std::chrono::seconds(30)))
      << "a wijk that became COMPLETE was not published at once";
  // Wijken that changed without completing wait for the debounce.
  int debounced = 0;
  for (const json& w : api["wijken"]) {
    const std::string key = "2024/" + w["wijk"].get<std::string>();
    if (newly_complete.count(key)) continue;
    if (after.at(key).SerializeAsString() == before.at(key).SerializeAsString()) ++debounced;
  }
  EXPECT_GT(debounced, 10);
  EXPECT_EQ(d.Stop(), 0) << d.Log();
  // On shutdown everything unpublished is published.
  std::map<std::string, v1::QuotaSnapshot> final_values = LastSnapshots(cluster->bootstrap());
  for (const json& w : api["wijken"]) {
    const std::string key = "2024/" + w["wijk"].get<std::string>();
    EXPECT_EQ(final_values.at(key).instruments(0).net(), w["instruments"][0]["net"].get<int>()) << key;
  }
}

// The debounce limits how often consumers see a key change; a value whose
// delivery failed was never seen, so it is sent again within a second, not
// after the debounce (ten minutes here).
TEST(Publishing, AFailedDeliveryIsRetriedWithoutWaitingForTheDebounce) {
  TempDir dir;
  auto cluster = StartCluster(ClusterOptions{});
  const int port = FreePort();
  const std::string config = dir.File("w.yaml");
  WriteFile(config, Patched(ReadFile(WriteTestConfig(dir, cluster->bootstrap(), port, "it-retry")),
                            "quota_debounce_ms: 200", "quota_debounce_ms: 600000"));
  // The counted state comes from a replay: the daemon's first publication of
  // every wijk happens at its start, when every produce request fails.
  ProducedSeason season = MakeSeason(0.2, 21, ClusterOptions{});
  ASSERT_TRUE(sim::WriteRecordFile(season.records, dir.File("season.bin")).ok());
  std::string out;
  ASSERT_EQ(RunCommand({BinaryPath(), "replay", dir.File("season.bin"), "--config", config}, &out), 0) << out;
  cluster->PushRequestErrors(kProduceApi, 1'000'000, kNotLeaderForPartition);
  Daemon d(dir, config, port);
  ASSERT_TRUE(d.WaitUp()) << d.Log();
  // The deliveries time out (delivery_timeout_ms: 10000 in the test config).
  ASSERT_TRUE(WaitFor([&] { return d.Sum("wijkpuls_output_errors_total") >= 71; }, std::chrono::seconds(60)))
      << d.Log();
  EXPECT_TRUE(ReadTopic(cluster->bootstrap(), kQuota).empty());
  cluster->ClearRequestErrors(kProduceApi);
  std::map<std::string, v1::QuotaSnapshot> published;
  ASSERT_TRUE(WaitFor([&] {
    published = LastSnapshots(cluster->bootstrap());
    return published.size() == 71;
  }, std::chrono::seconds(60))) << published.size() << " wijken published\n" << d.Log();
  EXPECT_EQ(d.Stop(), 0) << d.Log();
}

TEST(Scores, FocusWijkenCarryTheirReferenceAndAClosedWaveIsNotProvisional) {
  TempDir dir;
  ProducedSeason season = MakeSeason(0.5, 9, ClusterOptions{});
  ASSERT_TRUE(sim::WriteRecordFile(season.records, dir.File("season.bin")).ok());
  const std::string config = WriteTestConfig(dir, "127.0.0.1:9", FreePort(), "unused", "closed_waves: [\"2024\"]\n");
  std::string out;
  ASSERT_EQ(RunCommand({BinaryPath(), "replay", dir.File("season.bin"), "--config", config}, &out), 0) << out;
  ASSERT_EQ(RunCommand({BinaryPath(), "scores", "--config", config, "--level", "wijk", "--unit", "carnisse", "--json"}, &out), 0) << out;
  const json carnisse = json::parse(out);
  EXPECT_FALSE(carnisse["provisional"].get<bool>());
  // methodology.yaml: wijk/carnisse { VI: 86, SI: 92, FI: 93 }.
  const std::map<std::string, double> reference = {{"VI", 86}, {"SI", 92}, {"FI", 93}};
  for (const json& index : carnisse["indices"]) {
    ASSERT_TRUE(index["has_reference"].get<bool>()) << index["id"];
    EXPECT_EQ(index["reference"].get<double>(), reference.at(index["id"].get<std::string>()));
    if (index["has_value"].get<bool>()) {
      EXPECT_DOUBLE_EQ(index["delta"].get<double>(), index["score"].get<double>() - index["reference"].get<double>());
    }
  }
  ASSERT_EQ(RunCommand({BinaryPath(), "scores", "--config", config, "--level", "wijk", "--unit", "cool", "--json"}, &out), 0);
  for (const json& index : json::parse(out)["indices"]) EXPECT_FALSE(index["has_reference"].get<bool>());
  ASSERT_EQ(RunCommand({BinaryPath(), "quotas", "--config", config, "--json"}, &out), 0);
  EXPECT_FALSE(json::parse(out)["provisional"].get<bool>());
}

TEST(Cli, QuotasAndScoresPrintTablesFromARunningDaemon) {
  TempDir dir;
  auto cluster = StartCluster(ClusterOptions{});
  ProducedSeason season = MakeSeason(0.2, 10, ClusterOptions{});
  Produce(season, cluster->bootstrap());
  const int port = FreePort();
  Daemon d(dir, WriteTestConfig(dir, cluster->bootstrap(), port, "it-cli"), port);
  ASSERT_TRUE(d.WaitUp()) << d.Log();
  ASSERT_TRUE(d.WaitCommitted(season.total(), std::chrono::minutes(2))) << d.Log();
  const std::string url = Cat("http://127.0.0.1:", port);
  std::string out;
  ASSERT_EQ(RunCommand({BinaryPath(), "quotas", "--url", url}, &out), 0) << out;
  EXPECT_TRUE(Contains(out, "Tussendijken")) << out;
  EXPECT_TRUE(Contains(out, "VM net/tgt")) << out;
  const json api = d.Get("/api/v1/quotas");
  const json& city = api["stad"]["instruments"][0];
  EXPECT_TRUE(Contains(out, Cat("VM ", city["net"].get<int>(), "/", city["target"].get<int>()))) << out;
  ASSERT_EQ(RunCommand({BinaryPath(), "quotas", "--url", url, "--json"}, &out), 0);
  EXPECT_EQ(json::parse(out), api);
  ASSERT_EQ(RunCommand({BinaryPath(), "scores", "--url", url}, &out), 0) << out;
  EXPECT_TRUE(Contains(out, "VI (± 95%)")) << out;
  EXPECT_TRUE(Contains(out, "Rotterdam")) << out;
  EXPECT_EQ(RunCommand({BinaryPath(), "quotas", "--url", "http://127.0.0.1:1"}, &out), 1) << out;
  EXPECT_TRUE(Contains(out, "wijkpuls quotas: ")) << out;
  EXPECT_EQ(d.Stop(), 0);
}

// A daemon whose API asks for a bearer token is read with --token-file.
TEST(Cli, QuotasFromADaemonThatAsksForATokenReadTheTokenFile) {
  TempDir dir;
  auto cluster = StartCluster(ClusterOptions{});
  const int port = FreePort();
  WriteFile(dir.File("token"), "a-token-of-more-than-sixteen-characters\n");
  std::string config = ReadFile(WriteTestConfig(dir, cluster->bootstrap(), port, "it-token"));
  config = Patched(config, Cat("listen: \"127.0.0.1:", port, "\"\n"),
                   Cat("listen: \"127.0.0.1:", port, "\"\n  bearer_token_file: ", dir.File("token"), "\n"));
  WriteFile(dir.File("wijkpuls.yaml"), config);
  Daemon d(dir, dir.File("wijkpuls.yaml"), port);
  ASSERT_TRUE(d.WaitUp()) << d.Log();
  const std::string url = Cat("http://127.0.0.1:", port);
  std::string out;
  EXPECT_EQ(RunCommand({BinaryPath(), "quotas", "--url", url, "--json"}, &out), 1) << out;
  EXPECT_TRUE(Contains(out, "HTTP 401")) << out;
  ASSERT_EQ(RunCommand({BinaryPath(), "quotas", "--url", url, "--json", "--token-file", dir.File("token")}, &out), 0) << out;
  EXPECT_EQ(json::parse(out)["wijken"].size(), 71u);
  EXPECT_EQ(RunCommand({BinaryPath(), "quotas", "--token-file", dir.File("token"), "--config", dir.File("wijkpuls.yaml")}, &out), 2) << out;
  EXPECT_TRUE(Contains(out, "--token-file goes with --url")) << out;
  EXPECT_EQ(d.Stop(), 0);
}

}  // namespace
}  // namespace wijkpuls::testing
