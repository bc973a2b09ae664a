// The methodology file: the default loads with the numbers of
// methodology.md, and every error names the file and the key.
#include "model/methodology.h"

#include <gtest/gtest.h>

#include <numeric>

#include "tests/support/test_support.h"
#include "model/text.h"

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

// Every row of methodology sections 2 and 3, transcribed from the spec: the
// default configuration must say the same (the tests elsewhere read these
// values from the configuration, so only this catches a wrong one).
TEST(Methodology, TheDefaultHasEveryItemAndIndicatorOfTheSpecAsWritten) {
  const Methodology& m = DefaultMethodology();
  struct Scale {
    const char* name;
    int top;
  };
  const Scale scales[] = {{"UNSAFE4", 4}, {"RISK5", 5}, {"FREQ3", 3}, {"SAT5", 5}, {"AGREE5", 5},
                          {"EASE5", 5},   {"HEALTH5", 5}, {"CHANGE3", 3}, {"OUTLOOK3", 3}, {"GRADE10", 10}};
  struct Item {
    const char* id;
    Instrument instrument;
    const char* scale;
  };
  const Instrument VM = Instrument::kVeiligheidsmonitor, WO = Instrument::kWijkonderzoek;
  const Item items[] = {
      {"V01", VM, "UNSAFE4"}, {"V02", VM, "RISK5"},   {"V03", VM, "FREQ3"},  {"V04", VM, "FREQ3"},
      {"V05", VM, "FREQ3"},   {"V06", VM, "FREQ3"},   {"V07", VM, "FREQ3"},  {"V08", VM, "FREQ3"},
      {"V09", VM, "FREQ3"},   {"V10", VM, "FREQ3"},   {"V11", VM, "FREQ3"},  {"V12", VM, "FREQ3"},
      {"V13", VM, "FREQ3"},   {"V14", VM, "FREQ3"},   {"S01", WO, "SAT5"},   {"S02", WO, "OUTLOOK3"},
      {"S03", WO, "EASE5"},   {"S04", WO, "HEALTH5"}, {"S05", WO, "AGREE5"}, {"S06", WO, "AGREE5"},
      {"S07", WO, "SAT5"},    {"S08", WO, "AGREE5"},  {"S09", WO, "AGREE5"}, {"S10", WO, "AGREE5"},
      {"F01", WO, "SAT5"},    {"F02", WO, "CHANGE3"}, {"F03", WO, "SAT5"},   {"F04", WO, "GRADE10"},
      {"F05", WO, "GRADE10"}, {"F06", WO, "GRADE10"}, {"F07", WO, "SAT5"},   {"F08", WO, "SAT5"},
      {"F09", WO, "SAT5"},    {"F10", WO, "FREQ3"},   {"F11", WO, "FREQ3"},
  };
  ASSERT_EQ(m.codebook.items().size(), std::size(items));
  for (const Item& want : items) {
    std::optional<int> i = m.codebook.Find(want.id);
    ASSERT_TRUE(i.has_value()) << want.id;
    const ItemDef& got = m.codebook.items()[*i];
    EXPECT_EQ(got.instrument, want.instrument) << want.id;
    EXPECT_EQ(got.scale, want.scale) << want.id;
    int top = 0;
    for (const Scale& sc : scales) {
      if (got.scale == sc.name) top = sc.top;
    }
    std::vector<int> codes(static_cast<size_t>(top));
    std::iota(codes.begin(), codes.end(), 1);
    EXPECT_EQ(got.scale_codes, codes) << want.id << " " << got.scale;
  }

  struct Indicator {
    const char* index;
    const char* theme;
    const char* id;
    const char* item;
    bool mean;
    std::vector<int> codes;
    int dir;
    double mu0, sigma0;
  };
  const Indicator indicators[] = {
      {"VI", "veiligheidsbeleving", "VB_ONVEILIG", "V01", false, {1, 2, 3}, -1, 28, 9},
      {"VI", "veiligheidsbeleving", "VB_SLACHTOFFERKANS", "V02", false, {1, 2}, -1, 14, 5},
      {"VI", "diefstal", "DI_FIETS", "V03", false, {1}, -1, 30, 10},
      {"VI", "diefstal", "DI_AUTO", "V04", false, {1}, -1, 15, 6},
      {"VI", "diefstal", "DI_ZAKKEN", "V05", false, {1}, -1, 8, 4},
      {"VI", "geweld", "GE_BEDREIGING", "V06", false, {1}, -1, 9, 4},
      {"VI", "geweld", "GE_GEWELD", "V07", false, {1}, -1, 6, 3},
      {"VI", "inbraak", "IN_WONING", "V08", false, {1}, -1, 14, 6},
      {"VI", "vandalisme", "VA_GRAFFITI", "V09", false, {1}, -1, 18, 8},
      {"VI", "vandalisme", "VA_VERNIELING", "V10", false, {1}, -1, 20, 8},
      {"VI", "overlast", "OV_JONGEREN", "V11", false, {1}, -1, 20, 8},
      {"VI", "overlast", "OV_AFVAL", "V12", false, {1}, -1, 35, 12},
      {"VI", "overlast", "OV_DRUGS", "V13", false, {1}, -1, 12, 7},
      {"VI", "overlast", "OV_BUREN", "V14", false, {1}, -1, 10, 4},
      {"SI", "kwaliteit van leven", "KL_TEVREDEN", "S01", false, {4, 5}, 1, 79, 6},
      {"SI", "kwaliteit van leven", "KL_VOORUITZICHT", "S02", false, {1}, 1, 37, 6},
      {"SI", "zelfredzaamheid", "ZR_RONDKOMEN", "S03", false, {1, 2}, -1, 22, 8},
      {"SI", "zelfredzaamheid", "ZR_GEZONDHEID", "S04", false, {3, 4, 5}, -1, 21, 6},
      {"SI", "samenredzaamheid", "SR_HELPEN", "S05", false, {4, 5}, 1, 45, 9},
      {"SI", "samenredzaamheid", "SR_BUREN", "S06", false, {4, 5}, 1, 55, 9},
      {"SI", "participatie", "PA_MEEDOEN", "S07", false, {4, 5}, 1, 62, 7},
      {"SI", "participatie", "PA_VERTROUWEN", "S08", false, {4, 5}, 1, 52, 8},
      {"SI", "binding", "BI_BUURT", "S09", false, {4, 5}, 1, 50, 9},
      {"SI", "binding", "BI_STAD", "S10", false, {4, 5}, 1, 80, 5},
      {"FI", "woonbeleving", "WB_TEVREDEN", "F01", false, {4, 5}, 1, 76, 9},
      {"FI", "woonbeleving", "WB_ACHTERUIT", "F02", false, {3}, -1, 26, 7},
      {"FI", "wonen", "WO_WONING", "F03", false, {4, 5}, 1, 80, 7},
      {"FI", "openbare ruimte", "OR_SCHOON", "F04", true, {}, 1, 6.2, 0.5},
      {"FI", "openbare ruimte", "OR_ONDERHOUD", "F05", true, {}, 1, 6.4, 0.4},
      {"FI", "openbare ruimte", "OR_GROEN", "F06", true, {}, 1, 6.8, 0.5},
      {"FI", "voorzieningen", "VZ_WINKELS", "F07", false, {4, 5}, 1, 78, 8},
      {"FI", "voorzieningen", "VZ_SPELEN", "F08", false, {4, 5}, 1, 55, 10},
      {"FI", "voorzieningen", "VZ_OV", "F09", false, {4, 5}, 1, 75, 9},
      {"FI", "milieu", "MI_VERKEER", "F10", false, {1}, -1, 25, 8},
      {"FI", "milieu", "MI_STANK", "F11", false, {1}, -1, 8, 4},
  };
  ASSERT_EQ(m.indicators.size(), std::size(indicators));
  for (size_t i = 0; i < std::size(indicators); ++i) {
    const Indicator& want = indicators[i];
    const IndicatorDef& got = m.indicators[i];
    EXPECT_EQ(got.id, want.id);
    EXPECT_EQ(got.index, want.index) << want.id;
    EXPECT_EQ(got.theme, want.theme) << want.id;
    EXPECT_EQ(m.codebook.items()[static_cast<size_t>(got.item)].id, want.item) << want.id;
    EXPECT_EQ(got.type, want.mean ? IndicatorType::kMean : IndicatorType::kPercent) << want.id;
    if (!want.mean) {
      EXPECT_EQ(got.codes, want.codes) << want.id;
    }
    EXPECT_EQ(got.dir, want.dir) << want.id;
    EXPECT_EQ(got.mu0, want.mu0) << want.id;
    EXPECT_EQ(got.sigma0, want.sigma0) << want.id;
  }
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
      {"precision_target: 4", "precision_target: 0", "estimation.precision_target: must be greater than 0"},
      {"precision_target: 4", "precision_target: .nan", "estimation.precision_target: must be a finite number"},
      {"wijk/carnisse: { VI: 90 }", "gebied/charlois: { VI: 90 }", "focus.gebied/charlois: must be wijk/<id>"},
      {"wijk/carnisse: { VI: 90 }", "wijk/carnisse: { XI: 90 }", "focus.wijk/carnisse.XI: not an index id"},
      {"precision_target: 4", "precision_target: 4\n  proportion_interval: clopper", "estimation.proportion_interval: must be wilson or wald"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Methodology> m = ParseMethodology(Broken(c.from, c.to), "m.yaml");
    ASSERT_FALSE(m.ok()) << c.key;
    const std::string msg(m.status().message());
    EXPECT_TRUE(StartsWith(msg, "m.yaml: ")) << msg;
    EXPECT_TRUE(Contains(msg, c.key)) << msg << " should contain " << c.key;
  }
}

TEST(Methodology, ThePrecisionTargetIsFourScorePointsUnlessSet) {
  EXPECT_EQ(DefaultMethodology().estimation.precision_target, 4.0);
  absl::StatusOr<Methodology> m = ParseMethodology(Broken("precision_target: 4", "precision_target: 5.5"), "m.yaml");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->estimation.precision_target, 5.5);
  m = ParseMethodology(Broken("  precision_target: 4\n", ""), "m.yaml");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->estimation.precision_target, 4.0);
}

TEST(Methodology, PercentagesGetWilsonIntervalsUnlessWaldIsAskedFor) {
  EXPECT_EQ(DefaultMethodology().estimation.proportion_interval, ProportionInterval::kWilson);
  absl::StatusOr<Methodology> m =
      ParseMethodology(Broken("precision_target: 4", "precision_target: 4\n  proportion_interval: wald"), "m.yaml");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->estimation.proportion_interval, ProportionInterval::kWald);
  m = ParseMethodology(Broken("precision_target: 4", "precision_target: 4\n  proportion_interval: wilson"), "m.yaml");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->estimation.proportion_interval, ProportionInterval::kWilson);
}

TEST(Methodology, FocusWijkenWithTheirTargets) {
  const Methodology& m = DefaultMethodology();
  ASSERT_EQ(m.focus.size(), 5u);
  EXPECT_EQ(m.focus.at("carnisse").at("VI"), 90.0);
  EXPECT_FALSE(m.focus.at("carnisse").count("SI"));
  absl::StatusOr<Methodology> none = ParseMethodology(Broken("wijk/carnisse: { VI: 90 }", "wijk/carnisse: {}"), "m.yaml");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->focus.at("carnisse").empty());  // a focus wijk without a target
}

TEST(Methodology, NotYamlGivesTheLine) {
  absl::StatusOr<Methodology> m = ParseMethodology("version: 1\nwaves: [\n", "x.yaml");
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(Contains(MessageOf(m.status()), "x.yaml: line ")) << m.status();
}

}  // namespace
}  // namespace wijkpuls
