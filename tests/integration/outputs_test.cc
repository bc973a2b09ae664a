// One simulated season (about 22,000 records) consumed by the real daemon,
// then checked from every side: the compacted output topics equal the API,
// the incrementally kept statistics equal a recomputation from the stored
// responses and an independent computation from the simulator's records,
// `wijkpuls rebuild` changes nothing, and small units are suppressed.
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "process/rebuild.h"
#include "sim/season_output.h"
#include "publish/views.h"
#include "store/state_store.h"
#include "tests/integration/daemon_harness.h"
#include "model/text.h"
#include "publish/views_json.h"
#include "serve/api.h"
#include "wijkpuls/v1/wijkpuls.pb.h"

namespace wijkpuls::testing {
namespace {

using nlohmann::json;

// The last value of every key of a compacted topic.
std::map<std::string, std::string> LastValues(const std::string& brokers, const std::string& topic) {
  std::map<std::string, std::pair<int64_t, std::string>> last;
  for (const KafkaRecord& r : ReadTopic(brokers, topic)) {
    auto& slot = last[r.key];
    if (slot.second.empty() || r.offset > slot.first) slot = {r.offset, r.value};
  }
  std::map<std::string, std::string> out;
  for (auto& [k, v] : last) out[k] = v.second;
  return out;
}

class SeasonRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    season_ = new ProducedSeason(MakeSeason(0.8, 23, ClusterOptions{}));
    cluster_ = StartCluster(ClusterOptions{}).release();
    Produce(*season_, cluster_->bootstrap());
    port_ = FreePort();
    config_ = WriteTestConfig(*dir_, cluster_->bootstrap(), port_, "it-outputs");
    daemon_ = new Daemon(*dir_, config_, port_);
    ASSERT_TRUE(daemon_->WaitUp()) << daemon_->Log();
    ASSERT_TRUE(daemon_->WaitCommitted(season_->total(), std::chrono::minutes(3))) << daemon_->Log();
  }
  static void TearDownTestSuite() {
    if (daemon_ && daemon_->process().Running()) daemon_->Stop();
    delete daemon_;
    delete cluster_;
    delete season_;
    delete dir_;
  }
  // Stops the daemon (once) so the state directory can be opened.
  static void StopDaemon() {
    if (daemon_->process().Running()) {
      ASSERT_EQ(daemon_->Stop(), 0) << daemon_->Log();
    }
  }

  static TempDir* dir_;
  static ProducedSeason* season_;
  static MockCluster* cluster_;
  static Daemon* daemon_;
  static int port_;
  static std::string config_;
};
TempDir* SeasonRun::dir_ = nullptr;
ProducedSeason* SeasonRun::season_ = nullptr;
MockCluster* SeasonRun::cluster_ = nullptr;
Daemon* SeasonRun::daemon_ = nullptr;
int SeasonRun::port_ = 0;
std::string SeasonRun::config_;

TEST_F(SeasonRun, TheQuotaTopicEqualsTheApi) {
  json api = daemon_->Get("/api/v1/quotas");
  std::map<std::string, json> expected;
  for (const json& w : api["wijken"]) {  // the API's wijk is the topic's snapshot, field for field
    expected[Cat(w["wave"].get<std::string>(), "/", w["wijk"].get<std::string>())] = w;
  }
  ASSERT_EQ(expected.size(), 71u);
  std::map<std::string, json> published;
  // The publisher is asynchronous and debounced: wait until the topic has caught up.
  const bool equal = WaitFor(
      [&] {
        published.clear();
        for (const auto& [key, value] : LastValues(cluster_->bootstrap(), kQuota)) {
          v1::QuotaSnapshot s;
          if (s.ParseFromString(value)) published[key] = json::parse(QuotaJson(s));
        }
        return published == expected;
      },
      std::chrono::seconds(60), std::chrono::milliseconds(500));
  EXPECT_TRUE(equal) << "quota topic and API differ";
  EXPECT_EQ(published.size(), 71u);
}

TEST_F(SeasonRun, TheScoresTopicEqualsTheApiForAll86Units) {
  json api = daemon_->Get("/api/v1/scores");
  std::map<std::string, json> expected;
  for (const json& u : api["units"]) {
    expected[Cat(u["wave"].get<std::string>(), "/", u["level"].get<std::string>(), "/", u["unit"].get<std::string>())] = u;
  }
  ASSERT_EQ(expected.size(), 86u);
  std::map<std::string, json> published;
  const bool equal = WaitFor(
      [&] {
        published.clear();
        for (const auto& [key, value] : LastValues(cluster_->bootstrap(), kScores)) {
          v1::ProvisionalScores s;
          if (s.ParseFromString(value)) published[key] = json::parse(ScoresJson(s));
        }
        return published == expected;
      },
      std::chrono::seconds(60), std::chrono::milliseconds(500));
  EXPECT_TRUE(equal) << "scores topic and API differ";
  // Every snapshot carries the watermark, the methodology hash and `provisional`.
  const json& city = expected.at("2024/stad/stad");
  EXPECT_TRUE(city["provisional"].get<bool>());
  EXPECT_EQ(city["methodology_hash"].get<std::string>().size(), 64u);
  EXPECT_TRUE(city.contains("watermark"));
  EXPECT_GT(city["responses_counted"].get<int>(), 15000);
  // City-wide scores of a simulated season land near 100 (the simulator's
  // wijken spread around the methodology's mu0).
  for (const json& index : city["indices"]) {
    EXPECT_TRUE(index["has_value"].get<bool>());
    EXPECT_NEAR(index["score"].get<double>(), 100.0, 6.0) << index["id"];
  }
}

TEST_F(SeasonRun, TheQualityViewShowsEveryReasonAndFlagAndTheBadInterviewer) {
  json q = daemon_->Get("/api/v1/quality");
  const json& total = q["total"];
  for (QualityFlag f : kAllQualityFlags) EXPECT_GT(total["flags"][std::string(WireName(f))].get<int64_t>(), 0) << WireName(f);
  std::set<std::string> reasons;
  for (const auto& [r, n] : total["rejected"].items()) reasons.insert(r);
  for (const auto& [r, n] : q["unattributed_rejected"].items()) reasons.insert(r);
  for (RejectReason r : kAllRejectReasons) {
    if (r == RejectReason::kWithdrawn) continue;  // counted in no aggregate (see docs/design.md)
    EXPECT_TRUE(reasons.count(std::string(WireName(r)))) << WireName(r);
  }
  ASSERT_GT(q["by_interviewer"].size(), 10u);
  // The simulator's interviewer int-13 records many "don't know" answers.
  double worst_dk = 0;
  std::string worst;
  for (const json& i : q["by_interviewer"]) {
    if (i["dont_know_rate"].get<double>() > worst_dk) {
      worst_dk = i["dont_know_rate"].get<double>();
      worst = i["interviewer"].get<std::string>();
    }
  }
  EXPECT_EQ(worst, "int-13");
  std::map<std::string, json> by_mode;
  for (const json& g : q["by_mode"]) by_mode[g["mode"].get<std::string>()] = g;
  ASSERT_TRUE(by_mode["WEB"].contains("duration_seconds"));
  EXPECT_GE(by_mode["WEB"]["duration_seconds"]["median"].get<int64_t>(), 240);
  EXPECT_FALSE(by_mode["PAPER"].contains("duration_seconds"));  // paper has no start time
  EXPECT_EQ(q["wijken"].size(), 71u);
}

// The statistics of one (wijk, cell, indicator), computed from the
// simulator's records alone, without any of wijkpuls' code.
std::map<std::string, SufficientStats> IndependentStats(const ProducedSeason& season) {
  const Methodology& m = DefaultMethodology();
  std::map<std::string, SufficientStats> out;
  for (const sim::SimRecord& r : season.records) {
    if (r.expected.withdrawal || !r.expected.counted_in_end || r.expected.outcome != Outcome::kAccepted) continue;
    v1::SurveyResponse msg;
    if (r.content_type == "application/json") {
      google::protobuf::util::JsonParseOptions o;
      o.ignore_unknown_fields = true;
      EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(r.value, &msg, o).ok());
    } else {
      EXPECT_TRUE(msg.ParseFromString(r.value));
    }
    std::set<std::string> seen;
    const Instrument instrument = static_cast<Instrument>(msg.instrument() - 1);
    for (const v1::Answer& a : msg.answers()) {
      std::optional<int> idx = m.codebook.Find(a.item());
      if (!idx || m.codebook.items()[*idx].instrument != instrument) continue;  // stray items
      if (!seen.insert(a.item()).second) continue;  // the first answer to an item counts
      for (size_t k = 0; k < m.indicators.size(); ++k) {
        const IndicatorDef& d = m.indicators[k];
        const ItemDef& item = m.codebook.items()[d.item];
        if (item.id != a.item() || !item.IsSubstantive(a.value())) continue;
        const int y = d.type == IndicatorType::kMean ? a.value() : (d.Counts(a.value()) ? 1 : 0);
        SufficientStats& s = out[Cat(r.expected.wijk, "/", r.expected.cell, "/", k)];
        ++s.n;
        s.sum += y;
        s.sumsq += y * y;
      }
    }
  }
  return out;
}

// One naming convention across the API (issue #23): an identifier is named
// after its kind (`wijk`, `gebied`, `stad`, `unit`, `interviewer`, `mode`) and
// its display name `<kind>_name`, next to it; only a score names its
// indicator, theme or index `id`. A breakdown `by_<kind>` is a list of
// objects that each name their `<kind>`; counts keyed by an enum value are
// `<what>_by_<enum>` objects. `cells_behind` is always the list of words,
// `cells_behind_count` its number. Nothing is null: what has no value is absent.
void ExpectOneNaming(const json& j, const std::string& path, bool is_score, std::vector<std::string>& bad) {
  if (j.is_null()) bad.push_back(path + ": null");
  if (j.is_array()) {
    const bool scores = path.ends_with(".indicators") || path.ends_with(".themes") || path.ends_with(".indices");
    for (size_t i = 0; i < j.size(); ++i) ExpectOneNaming(j[i], Cat(path, "[", i, "]"), scores, bad);
    return;
  }
  if (!j.is_object()) return;
  for (const auto& [key, value] : j.items()) {
    const std::string at = path + "." + key;
    if (key == "name") bad.push_back(at + ": a bare `name`");
    if (key == "id" && !is_score) bad.push_back(at + ": a bare `id` outside a score");
    if (key.ends_with("_name") && !j.contains(key.substr(0, key.size() - 5))) {
      bad.push_back(at + ": no `" + key.substr(0, key.size() - 5) + "` beside it");
    }
    if (key.starts_with("by_")) {
      const std::string kind = key.substr(3);
      if (!value.is_array()) bad.push_back(at + ": not a list");
      for (const json& x : value) {
        if (!x.is_object() || !x.contains(kind)) bad.push_back(at + ": an element without `" + kind + "`");
      }
    }
    if (key == "cells_behind" && !value.is_array()) bad.push_back(at + ": not a list");
    if (key == "cells_behind_count") {
      if (!value.is_number_integer()) bad.push_back(at + ": not a number");
      if (j.contains("cells_behind") && j["cells_behind"].is_array() && value != j["cells_behind"].size()) {
        bad.push_back(at + ": not the number of cells_behind");
      }
    }
    ExpectOneNaming(value, at, false, bad);
  }
}

TEST_F(SeasonRun, EveryDocumentNamesItsIdentifiersOneWay) {
  const json quotas = daemon_->Get("/api/v1/quotas");
  const std::string wijk = quotas["wijken"][0]["wijk"].get<std::string>();
  const std::string gebied = quotas["gebieden"][0]["gebied"].get<std::string>();
  std::vector<std::string> bad;
  size_t checked_behind = 0;
  for (const std::string& path :
       {std::string("/api/v1/quotas"), "/api/v1/quotas/" + wijk, std::string("/api/v1/scores"),
        "/api/v1/scores/wijk/" + wijk, "/api/v1/scores/gebied/" + gebied, std::string("/api/v1/scores/stad/stad"),
        "/api/v1/pace/wijk/" + wijk, std::string("/api/v1/quality")}) {
    const json doc = daemon_->Get(path);
    ASSERT_TRUE(doc.is_object()) << path;
    ExpectOneNaming(doc, path, false, bad);
  }
  for (const json& w : quotas["wijken"]) checked_behind += w["cells_behind"].size();
  EXPECT_TRUE(bad.empty()) << bad.size() << " problems, the first: " << bad.front();
  // The checks above saw every kind they name.
  EXPECT_GT(checked_behind, 0u);
  EXPECT_EQ(quotas["stad"]["stad"], "stad");
  EXPECT_TRUE(quotas["gebieden"][0].contains("gebied_name"));
  EXPECT_TRUE(quotas["gebieden"][0]["cells_behind_count"].is_number_integer());
  const json quality = daemon_->Get("/api/v1/quality");
  EXPECT_EQ(quality["by_mode"].size(), 4u);
  EXPECT_TRUE(quality["wijken"][0].contains("wijk_name"));
}

TEST_F(SeasonRun, StoredStatisticsEqualARecomputationAndAnIndependentCount) {
  StopDaemon();
  StoreOptions so;
  so.dir = dir_->File("state");
  so.read_only = true;
  auto store = OpenStateStore(so);
  ASSERT_TRUE(store.ok()) << store.status();
  const Methodology& m = DefaultMethodology();
  TaskStates tasks;
  ASSERT_TRUE((*store)->LoadAggregates(m, tasks).ok());
  absl::StatusOr<TaskStates> recomputed = RecomputeAggregates(**store, m, DefaultDistricts());
  ASSERT_TRUE(recomputed.ok()) << recomputed.status();
  // Counts exactly, every task, wijk, cell, indicator, day and quality tally.
  EXPECT_GT(tasks.size(), 1u);
  EXPECT_TRUE(tasks == *recomputed);
  const FieldworkState incremental = SumOfTasks(tasks);

  const int k = static_cast<int>(m.indicators.size());
  const std::map<std::string, SufficientStats> independent = IndependentStats(*season_);
  int64_t compared = 0;
  for (const Wijk& w : DefaultDistricts().wijken()) {
    const WijkState* s = incremental.Find(StateKey{"2024", w.id});
    for (int c = 0; c < kCellCount; ++c) {
      for (int i = 0; i < k; ++i) {
        auto it = independent.find(Cat(w.id, "/", c, "/", i));
        const SufficientStats expect = it == independent.end() ? SufficientStats{} : it->second;
        const SufficientStats got = s ? s->Stat(c, i, k) : SufficientStats{};
        ASSERT_EQ(got, expect) << w.id << " cell " << c << " " << m.indicators[i].id;
        compared += got.n;
      }
    }
  }
  EXPECT_GT(compared, 200000);  // answers compared

  // Scores from either are bit-identical for all 86 units.
  const Wave& wave = *m.FindWave("2024");
  ViewContext ctx{m, DefaultDistricts(), true, "Rotterdam"};
  for (const UnitRef& u : AllUnits(DefaultDistricts(), "Rotterdam")) {
    ASSERT_EQ(ComputeScores(u, incremental, wave, ctx).SerializeAsString(),
              ComputeScores(u, SumOfTasks(*recomputed), wave, ctx).SerializeAsString());
  }
}

TEST_F(SeasonRun, RebuildGivesTheSameScores) {
  StopDaemon();
  std::string before, after, out;
  ASSERT_EQ(RunCommand({BinaryPath(), "scores", "--config", config_, "--json"}, &before), 0) << before;
  ASSERT_EQ(RunCommand({BinaryPath(), "rebuild", "--config", config_}, &out), 0) << out;
  EXPECT_TRUE(Contains(out, "rebuilt the aggregates")) << out;
  ASSERT_EQ(RunCommand({BinaryPath(), "scores", "--config", config_, "--json"}, &after), 0) << after;
  EXPECT_EQ(json::parse(before), json::parse(after));
}

TEST(SmallSeason, AWijkWithTooFewResponsesIsSuppressed) {
  TempDir dir;
  ProducedSeason season = MakeSeason(0.05, 3, ClusterOptions{});  // about 1,500 records
  ASSERT_TRUE(sim::WriteRecordFile(season.records, dir.File("season.bin")).ok());
  const std::string config = WriteTestConfig(dir, "127.0.0.1:9", FreePort(), "unused");
  std::string out;
  ASSERT_EQ(RunCommand({BinaryPath(), "replay", dir.File("season.bin"), "--config", config}, &out), 0) << out;
  ASSERT_EQ(RunCommand({BinaryPath(), "scores", "--config", config, "--json"}, &out), 0) << out;
  json scores = json::parse(out);
  int suppressed_wijken = 0;
  for (const json& u : scores["units"]) {
    if (u["level"] != "wijk") continue;
    for (const json& s : u["indicators"]) {
      if (s["status"] == "SUPPRESSED") {
        EXPECT_FALSE(s["has_value"].get<bool>());
        EXPECT_FALSE(s.contains("score")) << s;  // no number is published
        EXPECT_FALSE(s.contains("ci_low")) << s;
        EXPECT_LT(s["n"].get<int>(), 30);
      } else {
        EXPECT_GE(s["n"].get<int>(), 30);
      }
    }
    suppressed_wijken += u["indices"][0]["status"] == "SUPPRESSED";
  }
  EXPECT_GT(suppressed_wijken, 30);
  // The city has enough for every index.
  for (const json& u : scores["units"]) {
    if (u["level"] == "stad") {
      for (const json& x : u["indices"]) EXPECT_TRUE(x["has_value"].get<bool>()) << x["id"];
    }
  }
  // The table says so in words.
  ASSERT_EQ(RunCommand({BinaryPath(), "scores", "--config", config}, &out), 0) << out;
  EXPECT_TRUE(Contains(out, "suppressed")) << out;
}

}  // namespace
}  // namespace wijkpuls::testing
