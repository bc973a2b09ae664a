// The methodology file (config/methodology.yaml) as plain data: fieldwork
// calendar, codebook, indicators, themes and indices, estimation, quality and
// quota parameters. Loaded once; immutable afterwards. Its SHA-256 is the
// `methodology_hash` every snapshot carries.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <unordered_map>

#include "model/text.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "model/types.h"

namespace wijkpuls {

// A local calendar date as days since 1970-01-01 (a civil day, no time zone).
using DayNumber = int32_t;

struct FieldworkRound {
  DayNumber first_day = 0;  // inclusive
  DayNumber last_day = 0;   // inclusive
};

// One measurement and its fieldwork calendar.
struct Wave {
  std::string id;
  DayNumber window_first_day = 0;
  DayNumber window_last_day = 0;
  int grace_days = 0;
  std::vector<FieldworkRound> rounds;  // sorted, disjoint
  UnixNanos window_start = 0;  // local midnight starting window_first_day
  UnixNanos grace_end = 0;     // local midnight after window_last_day + grace_days (exclusive)
  int fieldwork_days = 0;      // round days in all (e + r)

  // Round days on or before `day` (e of methodology section 7).
  int RoundDaysThrough(DayNumber day) const;
  // The round days up to and including `day`, latest first, at most `limit`.
  std::vector<DayNumber> LastRoundDays(DayNumber day, int limit) const;
};

// One item of the codebook. Valid codes are those of its scale plus 97/98/99.
struct ItemDef {
  std::string id;  // "V01"
  Instrument instrument = Instrument::kVeiligheidsmonitor;
  std::string scale;
  std::vector<int> scale_codes;  // substantive codes, e.g. 1..5
  bool IsSubstantive(int code) const;
};

inline constexpr int kNotApplicable = 97;
inline constexpr int kDontKnow = 98;
inline constexpr int kRefused = 99;
inline bool IsMissingCode(int code) {
  return code == kNotApplicable || code == kDontKnow || code == kRefused;
}

class Codebook {
 public:
  // Items in file order; an item's index here is its stable id in this methodology.
  const std::vector<ItemDef>& items() const { return items_; }
  const std::vector<int>& ItemsOf(Instrument i) const { return by_instrument_[static_cast<int>(i)]; }
  std::optional<int> Find(std::string_view item_id) const;
  void Add(ItemDef item);

 private:
  std::vector<ItemDef> items_;
  std::vector<int> by_instrument_[kInstrumentCount];
  std::unordered_map<std::string, int, StringHash, std::equal_to<>> index_;
};

enum class IndicatorType : uint8_t { kPercent, kMean };

struct IndicatorDef {
  std::string id;      // "VB_ONVEILIG"
  std::string index;   // "VI"
  std::string theme;   // "veiligheidsbeleving"
  int item = 0;        // index into Codebook::items()
  IndicatorType type = IndicatorType::kPercent;
  std::vector<int> codes;  // percent: the codes counted as 1
  int dir = 1;             // +1 higher is better, -1 lower is better
  double mu0 = 0;
  double sigma0 = 1;
  bool Counts(int code) const;  // percent: is `code` in `codes`
};

struct ThemeDef {
  std::string id;     // theme name
  std::string index;  // index id
  std::vector<int> indicators;  // indices into Methodology::indicators
};

struct IndexDef {
  std::string id;    // "VI"
  std::string name;
  std::vector<int> themes;  // indices into Methodology::themes
};

// The 95% interval of a percent indicator (methodology section 5).
enum class ProportionInterval : uint8_t {
  // Wilson's score interval on the effective sample size n* of the design
  // (Korn and Graubard's n* = p(1 - p) / SE², at most n; Kish's n_eff at p = 0
  // or 1): stays honest at p = 0 or 1, where SE is 0.
  kWilson = 0,
  // S ± z · SE_S, as for means, themes and indices (the shared spec's §5).
  kWald = 1,
};

struct EstimationParams {
  ProportionInterval proportion_interval = ProportionInterval::kWilson;
  int64_t suppress_below_n = 30;
  int64_t low_precision_below_n = 50;
  double z = 1.96;
  double score_center = 100;
  double score_scale = 10;
  double much_worse_below = 70;
  double worse_below = 90;
  double average_up_to = 110;
  double better_up_to = 130;
  // The largest acceptable half-width of an index at the close of fieldwork,
  // in score points (methodology section 8).
  double precision_target = 4;
};

struct QualityRules {
  // Minimum duration in seconds per mode; 0 = not checked (PAPER).
  int64_t speeder_min_seconds[kModeCount] = {240, 0, 360, 360};
  Instrument straightliner_instrument = Instrument::kWijkonderzoek;
  std::vector<int> straightliner_items;  // codebook item indices
  int straightliner_min_same = 10;
  int high_item_nonresponse_min[kInstrumentCount] = {8, 11};
};

struct QuotaRules {
  bool count_flagged_in_net = false;
  int pace_window_days = 14;
  int early_days = 7;
  // at_risk_fraction and cell_behind_fraction of the file, in millionths (it
  // allows at most six decimals), so that the status rules compare integers:
  // a projection exactly at 0.9 · target is AT_RISK, as written, not a
  // rounding error below it.
  int64_t at_risk_millionths = 900'000;
  int64_t cell_behind_millionths = 800'000;
};

struct Methodology {
  std::string path;    // where it was loaded from
  std::string sha256;  // hex of the file's bytes
  std::vector<Wave> waves;
  std::string time_zone_name;
  absl::TimeZone time_zone;
  int64_t future_tolerance_seconds = 300;
  Codebook codebook;
  std::vector<IndicatorDef> indicators;
  std::vector<ThemeDef> themes;
  std::vector<IndexDef> indices;
  EstimationParams estimation;
  QualityRules quality;
  QuotaRules quota;
  // "<level>/<unit>" -> index id -> reference index score.
  std::map<std::string, std::map<std::string, double>> references;
  // Focus wijken (the scores page highlights them): wijk id -> index id ->
  // target score (a wijk may have none).
  std::map<std::string, std::map<std::string, double>> focus;

  const Wave* FindWave(std::string_view id) const;
  // The local calendar day of an instant in the methodology's time zone.
  DayNumber LocalDay(UnixNanos t) const;
  // Local midnight at the start of `day`.
  UnixNanos StartOfDay(DayNumber day) const;
  // Indicators that read item `item` (usually one).
  const std::vector<int>& IndicatorsOfItem(int item) const { return indicators_of_item_[item]; }

  std::vector<std::vector<int>> indicators_of_item_;  // filled by the loader
};

// Parses the methodology text; errors name `source` and the key.
absl::StatusOr<Methodology> ParseMethodology(std::string_view text, const std::string& source);
absl::StatusOr<Methodology> LoadMethodology(const std::string& path);

// "2023-03-01" -> day number; nullopt when malformed.
std::optional<DayNumber> ParseDay(std::string_view iso_date);
std::string FormatDay(DayNumber day);

}  // namespace wijkpuls
