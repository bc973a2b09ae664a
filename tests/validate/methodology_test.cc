// The methodology file: the default loads with the numbers of
// methodology.md, and every error names the file and the key.
#include "validate/methodology.h"

#include <gtest/gtest.h>

#include "tests/support/test_support.h"
#include "validate/text.h"

namespace wijkpuls {
namespace {

using testing::DefaultMethodology;

TEST(Methodology, TheDefaultHasTheCodebookAndIndicatorsOfTheSpec) {
  const Methodology& m = DefaultMethodology();
  EXPECT_EQ(m.codebook.ItemsOf(Instrument::kVeiligheidsmonitor).size(), 14u);
  EXPECT_EQ(m.codebook.ItemsOf(Instrument::kWijkonderzoek).size(), 21u);
  EXPECT_EQ(m.indicators.size(), 35u);
  EXPECT_EQ(m.indices.size(), 3u);
  EXPECT_EQ(m.themes.size(), 16u);  // VI 6, SI 5, FI 5
  const IndicatorDef& first = m.indicators[0];
  EXPECT_EQ(first.id, "VB_ONVEILIG");
  EXPECT_EQ(first.dir, -1);
  EXPECT_DOUBLE_EQ(first.mu0, 28);
  EXPECT_DOUBLE_EQ(first.sigma0, 9);
  EXPECT_EQ(first.codes, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(m.quality.high_item_nonresponse_min[0], 8);
  EXPECT_EQ(m.quality.high_item_nonresponse_min[1], 11);
  EXPECT_EQ(m.quality.straightliner_items.size(), 12u);
  EXPECT_EQ(m.sha256.size(), 64u);
}

TEST(Methodology, RoundDaysSkipTheSummerBreak) {
  const Wave& w = *DefaultMethodology().FindWave("2024");
  EXPECT_EQ(w.RoundDaysThrough(*ParseDay("2023-02-28")), 0);
  EXPECT_EQ(w.RoundDaysThrough(*ParseDay("2023-03-07")), 7);
  EXPECT_EQ(w.RoundDaysThrough(*ParseDay("2023-06-30")), 122);
  EXPECT_EQ(w.RoundDaysThrough(*ParseDay("2023-08-15")), 122);
  EXPECT_EQ(w.RoundDaysThrough(*ParseDay("2023-09-03")), 125);
  EXPECT_EQ(w.RoundDaysThrough(*ParseDay("2023-12-01")), 183);
  std::vector<DayNumber> last = w.LastRoundDays(*ParseDay("2023-09-02"), 4);
  ASSERT_EQ(last.size(), 4u);
  EXPECT_EQ(FormatDay(last[0]), "2023-09-02");
  EXPECT_EQ(FormatDay(last[2]), "2023-06-30");
  EXPECT_EQ(FormatDay(last[3]), "2023-06-29");
}

std::string Broken(const std::string& from, const std::string& to) {
  std::string text = testing::ReadFile(testing::MethodologyPath());
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

TEST(Methodology, ErrorsNameTheFileAndTheKey) {
  struct Case {
    std::string from, to, key;
  };
  const Case cases[] = {
      {"sigma0: 9 }", "sigma0: 0 }", "indicators[0].sigma0: must be greater than 0"},
      {"item: V01,", "item: V99,", "indicators[0].item: not an item of the codebook"},
      {"time_zone: Europe/Amsterdam", "time_zone: Europe/Atlantis", "time_zone: unknown time zone"},
      {"window_end: \"2023-10-31\"", "window_end: \"2023-13-31\"", "waves[0].window_end: must be a date"},
      {"grace_days: 14", "grace_dayz: 14", "waves[0].grace_dayz: unknown key"},
      {"V02: RISK5", "V02: RISK7", "instruments.VEILIGHEIDSMONITOR.items.V02: unknown scale"},
      {"codes: [1, 2, 3], dir: -1", "codes: [1, 2, 9], dir: -1", "indicators[0].codes: 9 is not on the scale of V01"},
      // Found by an audit: each of these loaded and gave inverted intervals,
      // NaN or infinite scores, or keys that the output topics cannot carry.
      {"z: 1.96", "z: -1.96", "estimation.z: must be greater than 0"},
      {"z: 1.96", "z: .nan", "estimation.z: must be a finite number"},
      {"sigma0: 9 }", "sigma0: .inf }", "indicators[0].sigma0: must be a finite number"},
      {"score_scale: 10", "score_scale: 0", "estimation.score_scale: must be greater than 0"},
      {"id: \"2024\"", "id: \"20/24\"", "waves[0].id: must be 1-64 characters of [A-Za-z0-9._-]"},
      {"at_risk_fraction: 0.9", "at_risk_fraction: 0.9000001", "quota.at_risk_fraction: at most six decimals"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Methodology> m = ParseMethodology(Broken(c.from, c.to), "m.yaml");
    ASSERT_FALSE(m.ok()) << c.key;
    const std::string msg(m.status().message());
    EXPECT_TRUE(StartsWith(msg, "m.yaml: ")) << msg;
    EXPECT_TRUE(Contains(msg, c.key)) << msg << " should contain " << c.key;
  }
}

TEST(Methodology, NotYamlGivesTheLine) {
  absl::StatusOr<Methodology> m = ParseMethodology("version: 1\nwaves: [\n", "x.yaml");
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(Contains(MessageOf(m.status()), "x.yaml: line ")) << m.status();
}

}  // namespace
}  // namespace wijkpuls
