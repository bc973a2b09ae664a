// The binary's command line: exit codes and messages an operator sees.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

#include "nlohmann/json.hpp"
#include "tests/support/test_support.h"
#include "model/text.h"

namespace wijkpuls {
namespace {

using testing::BinaryPath;
using testing::TempDir;

TEST(Cli, CheckConfigAcceptsAGoodConfig) {
  TempDir dir;
  const std::string config = testing::WriteTestConfig(dir, "127.0.0.1:9", testing::FreePort(), "g");
  std::string out;
  EXPECT_EQ(testing::RunCommand({BinaryPath(), "check-config", config}, &out), 0) << out;
  EXPECT_TRUE(Contains(out, ": ok")) << out;
}

TEST(Cli, CheckConfigRejectsABrokenConfigWithExitTwoNamingTheKey) {
  TempDir dir;
  const std::string config = testing::WriteTestConfig(dir, "127.0.0.1:9", 8080, "g", "pipeline:\n  batch_records: -5\n");
  std::string out;
  EXPECT_EQ(testing::RunCommand({BinaryPath(), "check-config", config}, &out), 2);
  EXPECT_TRUE(Contains(out, config)) << out;
  EXPECT_TRUE(Contains(out, "pipeline.batch_records: must be between")) << out;
  EXPECT_FALSE(Contains(out, "terminate called")) << out;  // no stack trace, no abort
}

TEST(Cli, CheckConfigNamesAMissingKeyFile) {
  TempDir dir;
  const std::string config = testing::WriteTestConfig(dir, "127.0.0.1:9", 8080, "g");
  std::filesystem::remove(dir.File("key"));
  std::string out;
  EXPECT_EQ(testing::RunCommand({BinaryPath(), "check-config", config}, &out), 2);
  EXPECT_TRUE(Contains(out, "pseudonymisation_key_file")) << out;
}

TEST(Cli, CheckConfigNamesABrokenMethodology) {
  TempDir dir;
  std::string m = testing::ReadFile(testing::MethodologyPath());
  m = testing::Patched(m, "sigma0: 9 }", "sigma0: -1 }");
  testing::WriteFile(dir.File("m.yaml"), m);
  std::string config = testing::ReadFile(testing::WriteTestConfig(dir, "127.0.0.1:9", 8080, "g"));
  config = testing::WithLine(config, "methodology: ", "methodology: " + dir.File("m.yaml"));
  testing::WriteFile(dir.File("w.yaml"), config);
  std::string out;
  EXPECT_EQ(testing::RunCommand({BinaryPath(), "check-config", dir.File("w.yaml")}, &out), 2);
  EXPECT_TRUE(Contains(out, dir.File("m.yaml") + ": indicators[0].sigma0: must be greater than 0")) << out;
}

// A reference for a wijk the register does not have would never be shown.
TEST(Cli, CheckConfigNamesAReferenceToAnUnknownWijk) {
  TempDir dir;
  testing::WriteFile(dir.File("m.yaml"), testing::Patched(testing::ReadFile(testing::MethodologyPath()),
                                                          "wijk/hillesluis:", "wijk/atlantis:"));
  std::string config = testing::ReadFile(testing::WriteTestConfig(dir, "127.0.0.1:9", 8080, "g"));
  testing::WriteFile(dir.File("w.yaml"), testing::WithLine(config, "methodology: ", "methodology: " + dir.File("m.yaml")));
  std::string out;
  EXPECT_EQ(testing::RunCommand({BinaryPath(), "check-config", dir.File("w.yaml")}, &out), 2);
  EXPECT_TRUE(Contains(out, dir.File("m.yaml") + ": references.wijk/atlantis: wijk \"atlantis\" is not in the district register")) << out;
}

// Likewise a focus wijk: it would never be highlighted.
TEST(Cli, CheckConfigNamesAnUnknownFocusWijk) {
  TempDir dir;
  testing::WriteFile(dir.File("m.yaml"), testing::Patched(testing::ReadFile(testing::MethodologyPath()),
                                                          "wijk/tarwewijk: { VI: 90 }", "wijk/atlantis: { VI: 90 }"));
  std::string config = testing::ReadFile(testing::WriteTestConfig(dir, "127.0.0.1:9", 8080, "g"));
  testing::WriteFile(dir.File("w.yaml"), testing::WithLine(config, "methodology: ", "methodology: " + dir.File("m.yaml")));
  std::string out;
  EXPECT_EQ(testing::RunCommand({BinaryPath(), "check-config", dir.File("w.yaml")}, &out), 2);
  EXPECT_TRUE(Contains(out, dir.File("m.yaml") + ": focus.wijk/atlantis: wijk \"atlantis\" is not in the district register")) << out;
}

TEST(Cli, AMissingConfigFileIsAConfigurationError) {
  std::string out;
  EXPECT_EQ(testing::RunCommand({BinaryPath(), "check-config", "/nonexistent/w.yaml"}, &out), 2);
  EXPECT_TRUE(Contains(out, "/nonexistent/w.yaml")) << out;
}

TEST(Cli, UsageErrorsExitTwo) {
  std::string out;
  EXPECT_EQ(testing::RunCommand({BinaryPath(), "serve"}, &out), 2);
  EXPECT_TRUE(Contains(out, "--config")) << out;
  EXPECT_EQ(testing::RunCommand({BinaryPath(), "no-such-command"}, &out), 2);
}

TEST(Cli, ServeWithoutAKeyFileRefusesToStart) {
  TempDir dir;
  std::string config = testing::ReadFile(testing::WriteTestConfig(dir, "127.0.0.1:9", testing::FreePort(), "g"));
  config = testing::WithLine(config, "pseudonymisation_key_file:", "");
  testing::WriteFile(dir.File("w.yaml"), config);
  std::string out;
  EXPECT_EQ(testing::RunCommand({BinaryPath(), "serve", "--config", dir.File("w.yaml")}, &out, std::chrono::seconds(30)), 2);
  EXPECT_TRUE(Contains(out, "pseudonymisation_key_file: is required")) << out;
}


// librdkafka's own check of every property, at config time: a typo or a bad
// value is exit 2 naming the key and the file, for check-config and serve
// alike (serve used to fail with exit 1 after it had started serving).
TEST(Cli, AKafkaPropertyLibrdkafkaRefusesIsAConfigurationError) {
  TempDir dir;
  std::string config = testing::ReadFile(testing::WriteTestConfig(dir, "127.0.0.1:9", testing::FreePort(), "g"));
  config = testing::Patched(config, "consumer_properties: {", "consumer_properties: {no.such.property: \"1\", ");
  testing::WriteFile(dir.File("w.yaml"), config);
  for (const char* command : {"check-config", "serve"}) {
    std::vector<std::string> argv = {BinaryPath(), command};
    if (std::string(command) == "serve") argv.push_back("--config");
    argv.push_back(dir.File("w.yaml"));
    std::string out;
    EXPECT_EQ(testing::RunCommand(argv, &out, std::chrono::seconds(30)), 2) << command << ": " << out;
    EXPECT_TRUE(Contains(out, dir.File("w.yaml"))) << out;
    EXPECT_TRUE(Contains(out, "kafka.consumer_properties.no.such.property")) << out;
  }
  // A value out of range, and the producers' brokers, which wijkpuls sets.
  config = testing::Patched(config, "no.such.property: \"1\"", "queued.max.messages.kbytes: \"-5\"");
  testing::WriteFile(dir.File("w.yaml"), config);
  std::string out;
  EXPECT_EQ(testing::RunCommand({BinaryPath(), "check-config", dir.File("w.yaml")}, &out), 2) << out;
  EXPECT_TRUE(Contains(out, "queued.max.messages.kbytes")) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;  // one line
  config = testing::Patched(config, "queued.max.messages.kbytes: \"-5\", ", "");
  config = testing::Patched(config, "  delivery_timeout_ms:", "  producer_properties: {bootstrap.servers: \"x:1\"}\n  delivery_timeout_ms:");
  testing::WriteFile(dir.File("w.yaml"), config);
  EXPECT_EQ(testing::RunCommand({BinaryPath(), "check-config", dir.File("w.yaml")}, &out), 2) << out;
  EXPECT_TRUE(Contains(out, "bootstrap.servers is set by wijkpuls")) << out;
}

// TLS and token files are read when the config is checked: a missing or
// broken one is exit 2 naming its key, for check-config and serve alike.
TEST(Cli, ABrokenTlsOrTokenFileIsAConfigurationErrorNamingItsKey) {
  TempDir dir;
  const std::string base = testing::ReadFile(testing::WriteTestConfig(dir, "127.0.0.1:9", testing::FreePort(), "g"));
  testing::WriteFile(dir.File("cert.pem"), "-----BEGIN CERTIFICATE-----\nnot one\n-----END CERTIFICATE-----\n");
  testing::WriteFile(dir.File("short.token"), "short\n");
  const std::pair<std::string, std::string> cases[] = {
      {"\n  tls_cert_file: " + dir.File("cert.pem") + "\n  tls_key_file: " + dir.File("key.pem"), "http.tls_cert_file"},
      {"\n  metrics_bearer_token_file: " + dir.File("short.token"), "http.metrics_bearer_token_file"},
      {"\n  bearer_token_file: " + dir.File("none.token"), "http.bearer_token_file"},
  };
  for (const auto& [lines, key] : cases) {
    const size_t at = base.find("  listen:");
    ASSERT_NE(at, std::string::npos) << base;
    std::string config = base;
    config.insert(base.find('\n', at), lines);
    testing::WriteFile(dir.File("w.yaml"), config);
    for (const char* command : {"check-config", "serve"}) {
      std::vector<std::string> argv = {BinaryPath(), command};
      if (std::string(command) == "serve") argv.push_back("--config");
      argv.push_back(dir.File("w.yaml"));
      std::string out;
      EXPECT_EQ(testing::RunCommand(argv, &out, std::chrono::seconds(30)), 2) << command << ": " << out;
      EXPECT_TRUE(Contains(out, key)) << out;
      EXPECT_TRUE(Contains(out, dir.File("w.yaml"))) << out;
    }
  }
}

// The file sink (issue 19): `replay --snapshots-out DIR` writes the end
// state's published views as JSON lines, for the index pipeline's backfills:
// one quota snapshot per wijk and the scores of every unit, each as the API
// shows it.
TEST(Cli, ReplayWritesTheSnapshotsAsJsonLines) {
  TempDir dir;
  const std::string config = testing::WriteTestConfig(dir, "127.0.0.1:9", 8080, "g");
  std::string out;
  ASSERT_EQ(testing::RunCommand({BinaryPath(), "simulate", "--records", "800", "--seed", "4", "--out",
                                 dir.File("season.rec")},
                                &out),
            0)
      << out;
  ASSERT_EQ(testing::RunCommand({BinaryPath(), "replay", dir.File("season.rec"), "--config", config,
                                 "--snapshots-out", dir.File("snap")},
                                &out),
            0)
      << out;
  auto lines = [&](const std::string& file) {
    std::vector<nlohmann::json> v;
    std::istringstream in(testing::ReadFile(dir.File("snap/" + file)));
    for (std::string line; std::getline(in, line);) v.push_back(nlohmann::json::parse(line));
    return v;
  };
  const std::vector<nlohmann::json> quota = lines("quota.jsonl");
  const std::vector<nlohmann::json> scores = lines("scores.jsonl");
  ASSERT_EQ(quota.size(), 71u);   // every wijk of the register
  ASSERT_EQ(scores.size(), 86u);  // 71 wijken, 14 gebieden, the city
  EXPECT_EQ(quota[0]["key"], "2024/" + quota[0]["value"]["wijk"].get<std::string>());
  // The scores are the API's, unit for unit.
  ASSERT_EQ(testing::RunCommand({BinaryPath(), "scores", "--config", config, "--json"}, &out), 0) << out;
  const nlohmann::json api = nlohmann::json::parse(out);
  std::map<std::string, nlohmann::json> by_key;
  for (const nlohmann::json& line : scores) by_key[line["key"]] = line["value"];
  ASSERT_EQ(api["units"].size(), 86u);
  for (const nlohmann::json& unit : api["units"]) {
    const std::string key = "2024/" + unit["level"].get<std::string>() + "/" + unit["unit"].get<std::string>();
    ASSERT_TRUE(by_key.count(key)) << key;
    EXPECT_EQ(by_key[key], unit) << key;
  }
  // A directory that cannot be made is a configuration error, before anything is replayed.
  EXPECT_EQ(testing::RunCommand({BinaryPath(), "replay", dir.File("season.rec"), "--config", config,
                                 "--snapshots-out", "/etc/passwd/x"},
                                &out),
            2)
      << out;
  EXPECT_TRUE(Contains(out, "/etc/passwd/x")) << out;
}

// The first `records` records of a record file (length-delimited FileRecords).
std::string FirstRecords(const std::string& bytes, int records) {
  size_t pos = 0;
  for (int n = 0; n < records && pos < bytes.size(); ++n) {
    uint64_t length = 0;
    for (int shift = 0;; shift += 7) {
      const auto b = static_cast<uint8_t>(bytes.at(pos++));
      length |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    pos += length;
  }
  return bytes.substr(0, pos);
}

// The first 13,929 records of a simulated season of 30,000 (seed 5), replayed
// into the state of `config`: fieldwork day 90 of 183, watermark 2023-05-29.
void ReplayHalfASeason(const TempDir& dir, const std::string& config) {
  std::string out;
  ASSERT_EQ(testing::RunCommand({BinaryPath(), "simulate", "--records", "30000", "--seed", "5", "--out",
                                 dir.File("season.rec")},
                                &out),
            0)
      << out;
  testing::WriteFile(dir.File("half.rec"), FirstRecords(testing::ReadFile(dir.File("season.rec")), 13929));
  ASSERT_EQ(testing::RunCommand({BinaryPath(), "replay", dir.File("half.rec"), "--config", config}, &out), 0) << out;
}

// Issue 22: the projected precision at the close of fieldwork (methodology
// section 8) goes out with every wijk's quota snapshot and with its scores,
// the same figures in both; gebieden and the city carry none. Half a season:
// fieldwork is half done, so the projection is not today's.
TEST(Cli, EveryWijkCarriesItsProjectedPrecisionInItsQuotaAndItsScores) {
  TempDir dir;
  const std::string config = testing::WriteTestConfig(dir, "127.0.0.1:9", 8080, "g");
  ASSERT_NO_FATAL_FAILURE(ReplayHalfASeason(dir, config));
  std::string out;
  std::string quotas_text, scores_text;
  ASSERT_EQ(testing::RunCommand({BinaryPath(), "quotas", "--config", config, "--json"}, &quotas_text), 0);
  ASSERT_EQ(testing::RunCommand({BinaryPath(), "scores", "--config", config, "--json"}, &scores_text), 0);
  const nlohmann::json quotas = nlohmann::json::parse(quotas_text);
  const nlohmann::json scores = nlohmann::json::parse(scores_text);
  ASSERT_GT(quotas["days_remaining"].get<int>(), 0);
  std::map<std::string, nlohmann::json> wijk_scores;
  for (const nlohmann::json& u : scores["units"]) {
    if (u["level"] == "wijk") {
      wijk_scores[u["unit"]] = u;
    } else {
      EXPECT_FALSE(u.contains("precision_at_close")) << u["unit"];
      for (const nlohmann::json& x : u["indices"]) EXPECT_FALSE(x.contains("half_width_at_close")) << u["unit"];
    }
  }
  std::map<std::string, int> statuses;
  int grown = 0, needing = 0;
  for (const nlohmann::json& w : quotas["wijken"]) {
    const std::string id = w["wijk"];
    const std::string status = w["precision_at_close"];
    ++statuses[status];
    ASSERT_EQ(w["precision_target"].get<double>(), 4.0);
    ASSERT_EQ(w["precision"].size(), 3u) << id;
    const nlohmann::json& s = wijk_scores.at(id);
    EXPECT_EQ(s["precision_at_close"], status) << id;
    bool imprecise = false;
    for (size_t x = 0; x < 3; ++x) {
      const nlohmann::json& p = w["precision"][x];
      const nlohmann::json& score = s["indices"][x];
      ASSERT_EQ(p["index"], score["id"]);
      imprecise = imprecise || p["imprecise_at_close"].get<bool>();
      EXPECT_EQ(p["imprecise_at_close"].get<bool>(),
                !p["has_half_width_at_close"].get<bool>() || p["half_width_at_close"].get<double>() > 4.0)
          << id << " " << p;
      EXPECT_EQ(p["has_half_width_at_close"], score["has_value_at_close"]) << id;
      EXPECT_EQ(p["status_at_close"], score["status_at_close"]) << id;
      if (p["has_half_width"].get<bool>()) {
        EXPECT_DOUBLE_EQ(p["half_width"].get<double>(), score["half_width"].get<double>()) << id;
        EXPECT_NEAR(p["half_width"].get<double>(), 1.96 * score["score_se"].get<double>(), 1e-9) << id;
      }
      if (p["has_half_width_at_close"].get<bool>()) {
        EXPECT_DOUBLE_EQ(p["half_width_at_close"].get<double>(), score["half_width_at_close"].get<double>()) << id;
      }
      if (p["has_half_width"].get<bool>() && p["has_half_width_at_close"].get<bool>()) {
        // The same components now and at the close: h' = h / sqrt(g), and g > 1 half-way.
        if (p["growth"].get<double>() > 1) ++grown;
        EXPECT_LE(p["half_width_at_close"].get<double>(), p["half_width"].get<double>()) << id;
      }
      if (p["has_responses_needed"].get<bool>()) {
        int allocated = 0;
        for (const nlohmann::json& c : p["cells"]) allocated += c["allocated"].get<int>();
        EXPECT_EQ(allocated, p["responses_needed"].get<int>()) << id << " " << p;
        if (p["responses_needed"].get<int>() > 0) ++needing;
      } else {
        EXPECT_FALSE(p["needed_reason"].get<std::string>().empty()) << id;
      }
    }
    EXPECT_EQ(status, imprecise ? "IMPRECISE_AT_CLOSE" : "PRECISE_AT_CLOSE") << id;
  }
  // Half a simulated season has both kinds, and wijken that need more responses.
  EXPECT_GT(statuses["IMPRECISE_AT_CLOSE"], 0);
  EXPECT_GT(statuses["PRECISE_AT_CLOSE"], 0);
  EXPECT_GT(grown, 100);
  EXPECT_GT(needing, 0);
}

// Issue #23, an analyst at a terminal: the quota table fits 120 columns (or
// --wide), sorts by risk as the page does (--sort), gives each cell behind
// its shortfall and the watermark in Amsterdam time; the scores table prints
// the ids --level and --unit take, a legend, and one unit's themes and
// indicators.
TEST(Cli, TheTablesFitATerminalAndSayWhatTheyShow) {
  TempDir dir;
  const std::string config = testing::WriteTestConfig(dir, "127.0.0.1:9", 8080, "g");
  ASSERT_NO_FATAL_FAILURE(ReplayHalfASeason(dir, config));
  std::string out;
  auto lines = [](const std::string& text) {
    std::vector<std::string> v;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) v.push_back(l);
    return v;
  };
  auto width = [](const std::string& l) {
    size_t cps = 0;
    for (unsigned char c : l) cps += (c & 0xC0) != 0x80;
    return cps;
  };
  std::string json_text;
  ASSERT_EQ(testing::RunCommand({BinaryPath(), "quotas", "--config", config, "--json"}, &json_text), 0);
  const nlohmann::json quotas = nlohmann::json::parse(json_text);
  ASSERT_EQ(testing::RunCommand({BinaryPath(), "quotas", "--config", config}, &out), 0) << out;
  const std::vector<std::string> table = lines(out);
  for (const std::string& l : table) EXPECT_LE(width(l), 120u) << l;
  EXPECT_TRUE(Contains(table[0], "watermark 2023-05-29 08:36 CEST")) << table[0];  // 06:36 UTC
  EXPECT_TRUE(Contains(out, "WO: men 15–29 −")) << out;  // a cell behind with its shortfall
  // Riskiest first, as the page sorts.
  const nlohmann::json* riskiest = nullptr;
  for (const nlohmann::json& w : quotas["wijken"]) {
    if (!riskiest || w["risk"].get<double>() < (*riskiest)["risk"].get<double>()) riskiest = &w;
  }
  EXPECT_TRUE(table[3].rfind((*riskiest)["wijk_name"].get<std::string>(), 0) == 0) << table[3];
  ASSERT_EQ(testing::RunCommand({BinaryPath(), "quotas", "--config", config, "--sort", "name"}, &out), 0) << out;
  std::vector<std::string> names;
  for (const std::string& l : lines(out)) {
    if (l.size() > 2 && l[0] != ' ' && l.find("/") != std::string::npos && l.rfind("wave", 0) != 0 &&
        l.rfind("wijk ", 0) != 0 && l.rfind("Rotterdam:", 0) != 0) {
      names.push_back(l.substr(0, 24));
    }
  }
  ASSERT_GT(names.size(), 60u);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end())) << Join(names, "|");
  ASSERT_EQ(testing::RunCommand({BinaryPath(), "quotas", "--config", config, "--wide"}, &out), 0) << out;
  EXPECT_TRUE(Contains(out, "Noordkethel/Schieveen/Zestienhoven Overschie")) << out;  // whole names, and the gebied
  EXPECT_EQ(testing::RunCommand({BinaryPath(), "quotas", "--config", config, "--sort", "size"}, &out), 2) << out;

  ASSERT_EQ(testing::RunCommand({BinaryPath(), "scores", "--config", config}, &out), 0) << out;
  for (const std::string& l : lines(out)) EXPECT_LE(width(l), 120u) << l;
  EXPECT_TRUE(Contains(out, "\nwijk cool ")) << out;
  EXPECT_TRUE(Contains(out, "\ngebied charlois ")) << out;
  EXPECT_TRUE(Contains(out, "\nstad stad ")) << out;
  EXPECT_TRUE(Contains(out, "score ± half-width of its 95% interval")) << out;
  EXPECT_TRUE(Contains(out, "(low): LOW_PRECISION")) << out;
  ASSERT_EQ(testing::RunCommand({BinaryPath(), "scores", "--config", config, "--level", "wijk", "--unit", "cool"}, &out), 0)
      << out;
  EXPECT_TRUE(Contains(out, "\n  veiligheidsbeleving ")) << out;
  EXPECT_TRUE(Contains(out, "\n    VB_ONVEILIG ")) << out;
  EXPECT_TRUE(Contains(out, "n_eff ")) << out;
}

// The replay's input is checked before anything is written: a directory is
// refused and leaves no state directory behind.
// A state directory written by the previous release (schema 4: every counted
// response stored under its id and in its respondent's claim; the fixture is
// half of a simulated season replayed by commit 8c3c643, tests/store/
// fixtures/README.md) is upgraded in place and goes on: the rest of the season
// replayed onto it ends in the state of a fresh run of the whole season, and
// a rebuild reads the counted responses of both layouts.
TEST(Cli, AStateDirectoryOfTheLastReleaseIsUpgradedAndGoesOnToTheSameState) {
  TempDir old_dir;
  TempDir fresh_dir;
  std::string out;
  ASSERT_EQ(testing::RunCommand({"/bin/tar", "xzf", testing::SourceDir() + "/tests/store/fixtures/schema4-state.tar.gz",
                                 "-C", old_dir.path()},
                                &out),
            0)
      << out;
  ASSERT_EQ(testing::ReadFile(old_dir.File("state/WIJKPULS_SCHEMA")), "4\n");
  // Both with the methodology the fixture was written with (the default one of
  // its commit; the default has changed since, and a state directory refuses
  // another methodology until `rebuild`).
  const std::string fixture_methodology = testing::SourceDir() + "/tests/store/fixtures/schema4-methodology.yaml";
  auto with_fixture_methodology = [&](const std::string& config) {
    testing::WriteFile(config, testing::Patched(testing::ReadFile(config), "methodology: " + testing::MethodologyPath(),
                                                "methodology: " + fixture_methodology));
    return config;
  };
  const std::string old_config =
      with_fixture_methodology(testing::WriteTestConfig(old_dir, "127.0.0.1:9", 8080, "g"));
  const std::string fresh_config =
      with_fixture_methodology(testing::WriteTestConfig(fresh_dir, "127.0.0.1:9", 8080, "g"));
  const std::string season = old_dir.File("season.rec");
  ASSERT_EQ(testing::RunCommand({BinaryPath(), "replay", season, "--config", old_config}, &out), 0) << out;
  EXPECT_TRUE(Contains(out, "replayed 1499 records")) << out;  // the second half only
  EXPECT_TRUE(Contains(out, "upgraded from schema version 4 to 5")) << out;
  EXPECT_EQ(testing::ReadFile(old_dir.File("state/WIJKPULS_SCHEMA")), "5\n");
  ASSERT_EQ(testing::RunCommand({BinaryPath(), "replay", season, "--config", fresh_config}, &out), 0) << out;
  EXPECT_TRUE(Contains(out, "replayed 2997 records")) << out;
  auto views = [&](const std::string& config) {
    std::string quotas, scores;
    EXPECT_EQ(testing::RunCommand({BinaryPath(), "quotas", "--config", config, "--json"}, &quotas), 0) << quotas;
    EXPECT_EQ(testing::RunCommand({BinaryPath(), "scores", "--config", config, "--json"}, &scores), 0) << scores;
    return std::make_pair(nlohmann::json::parse(quotas, nullptr, false), nlohmann::json::parse(scores, nullptr, false));
  };
  const auto fresh = views(fresh_config);
  ASSERT_FALSE(fresh.first.is_discarded());
  ASSERT_FALSE(fresh.second.is_discarded());
  EXPECT_GT(fresh.first.dump().size(), 1000u);
  const auto upgraded = views(old_config);
  EXPECT_EQ(upgraded.first, fresh.first) << nlohmann::json::diff(upgraded.first, fresh.first).dump();
  EXPECT_EQ(upgraded.second, fresh.second) << nlohmann::json::diff(upgraded.second, fresh.second).dump();
  // The same again once recomputed from the stored responses, and the same
  // numbers of them: the first half's counted ones under their ids, the
  // second half's in their claims.
  std::string rebuilt_old, rebuilt_fresh;
  ASSERT_EQ(testing::RunCommand({BinaryPath(), "rebuild", "--config", old_config}, &rebuilt_old), 0) << rebuilt_old;
  ASSERT_EQ(testing::RunCommand({BinaryPath(), "rebuild", "--config", fresh_config}, &rebuilt_fresh), 0) << rebuilt_fresh;
  auto counts = [](const std::string& text) {
    const size_t from = text.find(" from ");
    return from == std::string::npos ? text : text.substr(from, text.find(" responses in ") - from);
  };
  EXPECT_TRUE(Contains(rebuilt_fresh, "responses in")) << rebuilt_fresh;
  EXPECT_EQ(counts(rebuilt_old), counts(rebuilt_fresh)) << rebuilt_old << "\n" << rebuilt_fresh;
  const auto after_rebuild = views(old_config);
  EXPECT_EQ(after_rebuild.first, fresh.first) << nlohmann::json::diff(after_rebuild.first, fresh.first).dump();
  EXPECT_EQ(after_rebuild.second, fresh.second);
}

TEST(Cli, ReplayRefusesADirectoryAsInputBeforeItCreatesTheState) {
  TempDir dir;
  const std::string config = testing::WriteTestConfig(dir, "127.0.0.1:9", 8080, "g");
  std::string out;
  EXPECT_EQ(testing::RunCommand({BinaryPath(), "replay", dir.path(), "--config", config, "--ephemeral-key"}, &out), 2);
  EXPECT_TRUE(Contains(out, "is a directory")) << out;
  EXPECT_FALSE(std::filesystem::exists(dir.File("state")));
}

// A record length that runs past the end of the file is reported as such,
// before anything is allocated for it (4 GiB here: it aborted with bad_alloc
// under a memory limit).
TEST(Cli, ReplayOfALengthPastTheEndOfTheFileFailsWithAMessage) {
  TempDir dir;
  const std::string config = testing::WriteTestConfig(dir, "127.0.0.1:9", 8080, "g");
  testing::WriteFile(dir.File("bad.rec"), std::string("\xff\xff\xff\xff\x0f", 5));
  std::string out;
  EXPECT_EQ(testing::RunCommand({BinaryPath(), "replay", dir.File("bad.rec"), "--config", config, "--ephemeral-key"}, &out), 1);
  EXPECT_TRUE(Contains(out, "a record length (4294967295 bytes) runs past the end of the file")) << out;
  EXPECT_FALSE(Contains(out, "terminate called")) << out;
}

// A config whose state directory exists (made by replaying an empty file).
std::string ConfigWithAnEmptyState(const TempDir& dir) {
  const std::string config = testing::WriteTestConfig(dir, "127.0.0.1:9", 8080, "g");
  testing::WriteFile(dir.File("none.rec"), "");
  std::string out;
  EXPECT_EQ(testing::RunCommand({BinaryPath(), "replay", dir.File("none.rec"), "--config", config, "--ephemeral-key"}, &out), 0) << out;
  return config;
}

// An API error reads as its text, not as the API's JSON body.
TEST(Cli, AnUnknownUnitIsAUsageErrorInWords) {
  TempDir dir;
  const std::string config = ConfigWithAnEmptyState(dir);
  std::string out;
  EXPECT_EQ(testing::RunCommand({BinaryPath(), "scores", "--config", config, "--level", "wijk", "--unit", "atlantis"}, &out), 2);
  EXPECT_EQ(out, "wijkpuls scores: no unit wijk/atlantis (levels: wijk, gebied, stad)\n");
}

// Issue #23: --level without --unit (or the other way round) is a usage error
// in words, not "HTTP 404: HTTP 404".
TEST(Cli, LevelWithoutUnitIsAUsageError) {
  TempDir dir;
  const std::string config = ConfigWithAnEmptyState(dir);
  std::string out;
  EXPECT_EQ(testing::RunCommand({BinaryPath(), "scores", "--config", config, "--level", "wijk"}, &out), 2);
  EXPECT_TRUE(Contains(out, "--level and --unit go together")) << out;
  EXPECT_EQ(testing::RunCommand({BinaryPath(), "scores", "--url", "http://127.0.0.1:9", "--unit", "cool"}, &out), 2);
  EXPECT_TRUE(Contains(out, "--level and --unit go together")) << out;
}

// A daemon that is not there: the URL and the system's cause.
TEST(Cli, ARefusedConnectionNamesTheUrlAndTheCause) {
  const int port = testing::FreePort();
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  std::string out;
  EXPECT_EQ(testing::RunCommand({BinaryPath(), "quotas", "--url", url}, &out), 1);
  EXPECT_TRUE(Contains(out, url + "/api/v1/quotas: connection refused")) << out;
}

// A state directory built under another methodology is not reported under
// this one: quotas and scores refuse it, as serve and replay do.
TEST(Cli, ReportsRefuseAStateBuiltWithAnotherMethodology) {
  TempDir dir;
  const std::string config = ConfigWithAnEmptyState(dir);
  std::string out;
  ASSERT_EQ(testing::RunCommand({BinaryPath(), "quotas", "--config", config}, &out), 0) << out;
  std::string m = testing::ReadFile(testing::MethodologyPath());
  m = testing::Patched(m, "sigma0: 9 }", "sigma0: 8 }");
  testing::WriteFile(dir.File("m.yaml"), m);
  testing::WriteFile(dir.File("w.yaml"), testing::WithLine(testing::ReadFile(config), "methodology: ", "methodology: " + dir.File("m.yaml")));
  for (const char* command : {"quotas", "scores"}) {
    EXPECT_EQ(testing::RunCommand({BinaryPath(), command, "--config", dir.File("w.yaml")}, &out), 2) << command << ": " << out;
    EXPECT_TRUE(Contains(out, "has changed since the state")) << out;
    EXPECT_TRUE(Contains(out, "wijkpuls rebuild --config " + dir.File("w.yaml"))) << out;
  }
}

}  // namespace
}  // namespace wijkpuls
