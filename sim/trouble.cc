// The trouble of a season: quality flags, every reject reason, and second
// responses, each on a share of clean drafts, each with what it is meant to be.
#include <functional>
#include <set>

#include "sim/season_parts.h"

namespace wijkpuls::sim {
namespace {

struct Context {
  std::vector<Draft>& drafts;
  Rng& rng;
  const Methodology& m;
  const Wave& wave;

  // A random clean draft that satisfies `ok`, or null after 200 tries.
  Draft* PickClean(const std::function<bool(const Draft&)>& ok) {
    for (int tries = 0; tries < 200; ++tries) {
      Draft& d = drafts[static_cast<size_t>(rng.Int(0, static_cast<int>(drafts.size()) - 1))];
      if (d.clean && ok(d)) return &d;
    }
    return nullptr;
  }
  int64_t Count(double share) const {
    return static_cast<int64_t>(std::llround(share * static_cast<double>(drafts.size())));
  }
};

bool Any(const Draft&) { return true; }
bool HasStart(const Draft& d) { return d.started.has_value(); }

// Flags: the draft stays countable; its flags are worked out afterwards.
struct FlagKind {
  double TroubleMix::*share;
  bool (*eligible)(const Draft&);
  void (*make)(Draft&, Context&);
  bool keeps_clean;  // harmless changes leave the draft available for more trouble
};

const FlagKind kFlagKinds[] = {
    {&TroubleMix::speeder, HasStart,
     [](Draft& d, Context& c) {
       const int min = d.mode == static_cast<int>(Mode::kWeb) + 1 ? 240 : 360;
       d.started = *d.submitted - c.rng.Int(45, min - 1) * kNanosPerSecond;
     },
     false},
    {&TroubleMix::straightliner, [](const Draft& d) { return d.instrument == 2; },
     [](Draft& d, Context& c) {
       static const std::set<std::string> grid = {"S01", "S05", "S06", "S07", "S08", "S09",
                                                  "S10", "F01", "F03", "F07", "F08", "F09"};
       const int code = c.rng.Int(1, 5);
       for (auto& [item, v] : d.answers) {
         if (grid.count(item)) v = code;
       }
     },
     false},
    {&TroubleMix::high_nonresponse, Any,
     [](Draft& d, Context& c) {
       const int missing = c.rng.Int(d.instrument == 2 ? 11 : 8, static_cast<int>(d.answers.size()) - 1);
       for (int j = 0; j < missing; ++j) {
         d.answers[static_cast<size_t>(j)].second = c.rng.P(0.7) ? kDontKnow : kRefused;
       }
     },
     false},
    {&TroubleMix::stray_items, Any,
     [](Draft& d, Context&) {
       d.answers.emplace_back("Z99", 3);                                  // unknown item
       d.answers.emplace_back(d.instrument == 1 ? "S01" : "V01", 2);      // the other instrument's
     },
     true},
    {&TroubleMix::dropped_answer, Any,
     [](Draft& d, Context& c) {
       d.answers[static_cast<size_t>(c.rng.Int(0, static_cast<int>(d.answers.size()) - 1))].second = 77;
     },
     true},
};

// Rejections: one reason each.
struct RejectionKind {
  double TroubleMix::*share;
  RejectReason reason;
  bool attributable;  // counted under its wave and wijk
  bool (*eligible)(const Draft&);
  void (*make)(Draft&, Context&);
};

const RejectionKind kRejectionKinds[] = {
    {&TroubleMix::malformed, RejectReason::kDecodeError, false, Any,
     [](Draft& d, Context&) {
       d.malformed = true;
       d.valid_id = false;
     }},
    {&TroubleMix::oversized, RejectReason::kOversized, false, Any,
     [](Draft& d, Context&) {
       d.pad_oversized = true;
       d.valid_id = false;
       d.json = false;
     }},
    {&TroubleMix::missing_field, RejectReason::kMissingField, true, Any,
     [](Draft& d, Context&) { d.age = 0; }},  // register data missing
    {&TroubleMix::invalid_field, RejectReason::kInvalidField, true, Any,
     [](Draft& d, Context&) {
       d.sex = 7;  // not a value of the enum (binary only: JSON would name it)
       d.json = false;
     }},
    {&TroubleMix::unknown_wave, RejectReason::kUnknownWave, false, Any,
     [](Draft& d, Context&) { d.wave = "2019"; }},
    {&TroubleMix::unknown_wijk, RejectReason::kUnknownWijk, false, Any,
     [](Draft& d, Context& c) { d.wijk = c.rng.P(0.5) ? "rotterdam-zuid" : "nieuw-kralingen"; }},
    {&TroubleMix::no_consent, RejectReason::kNoConsent, true, Any,
     [](Draft& d, Context&) { d.consent = false; }},
    {&TroubleMix::inconsistent_timestamps, RejectReason::kInconsistentTimestamps, true, HasStart,
     [](Draft& d, Context&) { d.started = *d.submitted + 600 * kNanosPerSecond; }},
    {&TroubleMix::future_timestamp, RejectReason::kFutureTimestamp, true, Any,
     [](Draft& d, Context& c) {
       d.submitted = LocalTime(c.m, *ParseDay("2031-03-03"), 10 * 3600);
       if (d.started) d.started = *d.submitted - 900 * kNanosPerSecond;
     }},
    {&TroubleMix::out_of_window, RejectReason::kOutOfWindow, true, Any,
     [](Draft& d, Context& c) {
       // Late paper after the grace period, or a test submission before the window.
       const DayNumber day = c.rng.P(0.7) ? c.wave.window_last_day + c.wave.grace_days + c.rng.Int(1, 20)
                                          : c.wave.window_first_day - c.rng.Int(1, 10);
       d.submitted = LocalTime(c.m, day, 12 * 3600);
       if (d.started) d.started = *d.submitted - 900 * kNanosPerSecond;
       d.event_time = *d.submitted;
     }},
    {&TroubleMix::invalid_answers, RejectReason::kInvalidAnswers, true, Any,
     [](Draft& d, Context&) {
       for (size_t j = 0; j < d.answers.size(); ++j) {
         if (j % 3 != 0) d.answers[j].second = 42;  // two thirds off-scale
       }
     }},
};

void AddSecondResponses(Context& c, const TroubleMix& mix, const std::function<std::string()>& new_response_id) {
  const int64_t n = c.Count(mix.second_response);
  for (int64_t i = 0; i < n; ++i) {
    Draft* first = c.PickClean(Any);
    if (!first) continue;
    first->clean = false;  // no withdrawal or other trouble for this respondent
    Draft second = *first;
    second.response_id = new_response_id();
    second.submitted = *first->submitted + c.rng.Int(1, 20) * 86400 * kNanosPerSecond;
    if (second.started) second.started = *second.submitted - 900 * kNanosPerSecond;
    if (*second.submitted >= c.wave.grace_end) continue;
    second.event_time = *second.submitted;
    second.expected.outcome = Outcome::kRejected;
    second.expected.reason = RejectReason::kDuplicateRespondent;
    second.expected.flags = FlagSet();
    c.drafts.push_back(std::move(second));  // `first` is not used after this
  }
}

}  // namespace

void InjectTrouble(std::vector<Draft>& drafts, Rng& rng, const Methodology& m, const Wave& wave,
                   const TroubleMix& mix, const std::function<std::string()>& new_response_id) {
  Context c{drafts, rng, m, wave};
  for (const FlagKind& k : kFlagKinds) {
    for (int64_t i = 0; i < c.Count(mix.*k.share); ++i) {
      if (Draft* d = c.PickClean(k.eligible)) {
        k.make(*d, c);
        d->clean = d->clean && k.keeps_clean;
      }
    }
  }
  for (const RejectionKind& k : kRejectionKinds) {
    for (int64_t i = 0; i < c.Count(mix.*k.share); ++i) {
      if (Draft* d = c.PickClean(k.eligible)) {
        k.make(*d, c);
        d->clean = false;
        d->expected.outcome = Outcome::kRejected;
        d->expected.reason = k.reason;
        if (!k.attributable) d->expected.wijk.clear();
      }
    }
  }
  // What the rest is meant to be: accepted, or flagged with the flags they have.
  for (Draft& d : drafts) {
    if (d.expected.outcome == Outcome::kRejected) continue;
    d.expected.flags = ExpectedFlags(d, m);
    d.expected.outcome = d.expected.flags.Empty() ? Outcome::kAccepted : Outcome::kFlagged;
  }
  AddSecondResponses(c, mix, new_response_id);
}

}  // namespace wijkpuls::sim
