#include "score/quality_tally.h"

#include "model/methodology.h"

namespace wijkpuls {
namespace {

// What one counted response adds to each group it is counted in.
struct ResponseCounts {
  int64_t answers = 0, dont_know = 0, refused = 0, not_applicable = 0;
  std::optional<int64_t> duration;
};

ResponseCounts CountsOf(const CountedResponse& r) {
  ResponseCounts c;
  c.answers = static_cast<int64_t>(r.answers.size());
  for (const ItemAnswer& a : r.answers) {
    c.dont_know += a.value == kDontKnow;
    c.refused += a.value == kRefused;
    c.not_applicable += a.value == kNotApplicable;
  }
  c.duration = r.DurationSeconds();
  return c;
}

void AddToGroup(QualityGroup& g, const CountedResponse& r, const ResponseCounts& c, bool flagged,
                int sign) {
  (flagged ? g.flagged : g.accepted) += sign;
  for (QualityFlag f : kAllQualityFlags) {
    if (r.flags.Has(f)) g.by_flag[static_cast<int>(f)] += sign;
  }
  g.answers += sign * c.answers;
  g.dont_know += sign * c.dont_know;
  g.refused += sign * c.refused;
  g.not_applicable += sign * c.not_applicable;
  if (c.duration) g.durations.Add(*c.duration, sign);
}

template <typename Array>
void AddArray(Array& into, const Array& other) {
  for (size_t i = 0; i < into.size(); ++i) into[i] += other[i];
}

bool IsEmpty(const QualityGroup& g) { return g.Empty(); }
bool IsEmpty(int64_t n) { return n == 0; }

// Adds to the entry of `key` with `add` (creating it empty) and erases it when
// it is left empty, so that a tally equals one rebuilt from the responses.
template <typename Map, typename Key, typename AddFn>
void AddToEntry(Map& map, const Key& key, AddFn add) {
  auto it = map.try_emplace(key).first;
  add(it->second);
  if (IsEmpty(it->second)) map.erase(it);
}

}  // namespace

namespace {

// Puts adds in order of seconds, one entry per second, zeros dropped (in place).
void SortAndCombine(std::vector<DurationCounts::value_type>& adds) {
  std::sort(adds.begin(), adds.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  size_t out = 0;
  for (size_t i = 0; i < adds.size();) {
    const int64_t secs = adds[i].first;
    int64_t n = 0;
    for (; i < adds.size() && adds[i].first == secs; ++i) n += adds[i].second;
    if (n != 0) adds[out++] = {secs, n};
  }
  adds.resize(out);
}

// a + b, both in order of seconds with one entry per second, into `out`.
void MergeInto(const std::vector<DurationCounts::value_type>& a, const std::vector<DurationCounts::value_type>& b,
               std::vector<DurationCounts::value_type>& out) {
  out.clear();
  out.reserve(a.size() + b.size());
  auto x = a.cbegin();
  auto y = b.cbegin();
  while (x != a.cend() || y != b.cend()) {
    if (y == b.cend() || (x != a.cend() && x->first < y->first)) {
      out.push_back(*x++);
    } else if (x == a.cend() || y->first < x->first) {
      if (y->second != 0) out.push_back(*y);
      ++y;
    } else {
      if (const int64_t n = x->second + y->second; n != 0) out.emplace_back(x->first, n);
      ++x;
      ++y;
    }
  }
}

}  // namespace

void DurationCounts::MergeSorted(const std::vector<value_type>& sorted) {
  if (sorted.empty()) return;
  // The merge is written into a buffer of this thread and swapped in: the
  // array's old buffer is the next merge's, so a merge allocates only to grow.
  // (Not when the buffer is far larger than this array: a small tally would
  // keep a large one's memory.)
  thread_local std::vector<value_type> scratch;
  MergeInto(v_, sorted, scratch);
  if (scratch.capacity() <= 2 * scratch.size() + 64) {
    v_.swap(scratch);
  } else {
    v_.assign(scratch.begin(), scratch.end());
  }
}

void DurationCounts::Settle() {
  if (tail_.empty()) return;
  SortAndCombine(tail_);
  MergeSorted(tail_);
  tail_.clear();  // keeps its buffer for the next adds
}

void DurationCounts::AddAll(std::vector<value_type> entries) {
  Settle();
  SortAndCombine(entries);
  MergeSorted(entries);
}

DurationCounts::View DurationCounts::Sorted() const {
  View view;
  if (tail_.empty()) {
    view.sorted_ = &v_;
  } else {
    std::vector<value_type> adds = tail_;
    SortAndCombine(adds);
    MergeInto(v_, adds, view.merged_);
  }
  return view;
}

bool operator==(const DurationCounts& a, const DurationCounts& b) {
  const DurationCounts::View x = a.Sorted();
  const DurationCounts::View y = b.Sorted();
  return std::equal(x.begin(), x.end(), y.begin(), y.end());
}

void DurationCounts::Add(const DurationCounts& other) {
  if (other.v_.empty() && other.tail_.empty()) return;
  Settle();
  const View theirs = other.Sorted();
  MergeSorted(theirs.data());
}

bool QualityGroup::Empty() const { return *this == QualityGroup{}; }

void QualityGroup::Add(const QualityGroup& other) {
  accepted += other.accepted;
  flagged += other.flagged;
  AddArray(by_flag, other.by_flag);
  AddArray(rejected, other.rejected);
  answers += other.answers;
  dont_know += other.dont_know;
  refused += other.refused;
  not_applicable += other.not_applicable;
  durations.Add(other.durations);
}

void QualityTally::AddCounted(const CountedResponse& r, bool flagged, int sign) {
  const ResponseCounts c = CountsOf(r);
  AddToGroup(total, r, c, flagged, sign);
  AddToGroup(by_mode[static_cast<int>(r.mode)], r, c, flagged, sign);
  if (!r.interviewer_id.empty()) {
    AddToEntry(by_interviewer, r.interviewer_id,
               [&](QualityGroup& g) { AddToGroup(g, r, c, flagged, sign); });
  }
  for (uint16_t item : r.dropped_items) {
    AddToEntry(dropped_by_item, item, [&](int64_t& n) { n += sign; });
  }
  unknown_items += sign * r.unknown_items;
  other_instrument_items += sign * r.other_instrument_items;
}

void QualityTally::Settle() {
  total.durations.Settle();
  for (QualityGroup& g : by_mode) g.durations.Settle();
  for (auto& entry : by_interviewer) entry.second.durations.Settle();
}

void QualityTally::AddRejected(const Attribution& a, RejectReason reason, int sign) {
  const int r = static_cast<int>(reason);
  total.rejected[r] += sign;
  if (a.mode) by_mode[static_cast<int>(*a.mode)].rejected[r] += sign;
  if (!a.interviewer_id.empty()) {
    AddToEntry(by_interviewer, a.interviewer_id, [&](QualityGroup& g) { g.rejected[r] += sign; });
  }
}

void QualityTally::Add(const QualityTally& change) {
  total.Add(change.total);
  for (int m = 0; m < kModeCount; ++m) by_mode[m].Add(change.by_mode[m]);
  // Entries by name, not structured bindings: clang (the fuzz build) cannot
  // capture those in a lambda.
  for (const auto& entry : change.by_interviewer) {
    AddToEntry(by_interviewer, entry.first, [&](QualityGroup& mine) { mine.Add(entry.second); });
  }
  for (const auto& entry : change.dropped_by_item) {
    AddToEntry(dropped_by_item, entry.first, [&](int64_t& mine) { mine += entry.second; });
  }
  unknown_items += change.unknown_items;
  other_instrument_items += change.other_instrument_items;
}

std::optional<Quartiles> DurationQuartiles(const DurationCounts& durations) {
  Quartiles q;
  const DurationCounts::View sorted = durations.Sorted();
  for (const auto& [secs, n] : sorted) q.count += n;
  if (q.count == 0) return std::nullopt;
  // rank(p) = ceil(p * N), at least 1.
  auto rank = [&](int num, int den) { return std::max<int64_t>(1, (q.count * num + den - 1) / den); };
  const int64_t ranks[3] = {rank(1, 4), rank(1, 2), rank(3, 4)};
  int64_t* out[3] = {&q.q1, &q.median, &q.q3};
  int next = 0;
  int64_t seen = 0;
  for (const auto& [secs, n] : sorted) {
    seen += n;
    while (next < 3 && seen >= ranks[next]) *out[next++] = secs;
  }
  return q;
}

}  // namespace wijkpuls
