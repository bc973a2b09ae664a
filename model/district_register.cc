#include "model/district_register.h"

#include <algorithm>
#include <charconv>

#include "model/text.h"
#include "model/digest.h"
#include "model/yaml_reader.h"

namespace wijkpuls {
namespace {

constexpr std::array<std::string_view, kCellCount> kPopColumns = {
    "pop_male_15_29", "pop_female_15_29", "pop_male_30_44",  "pop_female_30_44",
    "pop_male_45_64", "pop_female_45_64", "pop_male_65_plus", "pop_female_65_plus"};
constexpr std::array<std::string_view, 6> kIdColumns = {"gebied_id", "gebied_name", "wijk_id",
                                                        "wijk_name", "target",      "invited"};

std::optional<int64_t> ParseCount(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

}  // namespace

int64_t Wijk::PopulationTotal() const {
  int64_t t = 0;
  for (int64_t p : population) t += p;
  return t;
}

bool IsValidUnitId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

std::optional<int> DistrictRegister::FindWijk(std::string_view id) const {
  auto it = wijk_index_.find(id);
  if (it == wijk_index_.end()) return std::nullopt;
  return it->second;
}

std::optional<int> DistrictRegister::FindGebied(std::string_view id) const {
  for (size_t i = 0; i < gebieden_.size(); ++i) {
    if (gebieden_[i].id == id) return static_cast<int>(i);
  }
  return std::nullopt;
}

namespace {

// One record of a CSV file and the line it starts on (1-based).
struct CsvRecord {
  size_t line = 0;
  std::vector<std::string> fields;
};

// RFC 4180: records end with LF or CRLF; a field in double quotes may hold
// the delimiter, line breaks and "" for a quote. Blank lines are skipped.
absl::StatusOr<std::vector<CsvRecord>> ReadCsv(std::string_view text, char delimiter, const std::string& source) {
  std::vector<CsvRecord> out;
  size_t line = 1;
  size_t i = 0;
  while (i < text.size()) {
    CsvRecord rec;
    rec.line = line;
    std::string field;
    bool any = false;  // the record has a character other than a line end
    for (;;) {
      if (i < text.size() && text[i] == '"' && Trim(field).empty()) {
        field.clear();
        ++i;
        const size_t opened = line;
        for (;;) {
          if (i >= text.size()) {
            return absl::InvalidArgumentError(Cat(source, ": line ", opened, ": a quoted field is not closed"));
          }
          if (text[i] == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (text[i] == '\n') ++line;
          field += text[i++];
        }
        any = true;
        // Up to the delimiter or the line end: only blanks may follow a quote.
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
        if (i < text.size() && text[i] != delimiter && text[i] != '\n' && text[i] != '\r') {
          return absl::InvalidArgumentError(Cat(source, ": line ", line, ": text after a quoted field"));
        }
      }
      while (i < text.size() && text[i] != delimiter && text[i] != '\n') {
        if (text[i] != '\r' || (i + 1 < text.size() && text[i + 1] != '\n')) field += text[i];
        ++i;
        any = true;
      }
      rec.fields.push_back(std::move(field));
      field.clear();
      if (i < text.size() && text[i] == delimiter) {
        ++i;
        any = true;
        continue;
      }
      if (i < text.size()) {  // '\n'
        ++i;
        ++line;
      }
      break;
    }
    const bool blank = !any || (rec.fields.size() == 1 && Trim(rec.fields[0]).empty());
    if (!blank) out.push_back(std::move(rec));
  }
  return out;
}

// ',' or, when the header line is written with semicolons (as a Dutch
// spreadsheet writes CSV), ';'.
char DelimiterOf(std::string_view text) {
  const std::string_view first = text.substr(0, text.find('\n'));
  return std::count(first.begin(), first.end(), ';') > std::count(first.begin(), first.end(), ',') ? ';' : ',';
}

}  // namespace

absl::StatusOr<DistrictRegister> DistrictRegister::Parse(std::string_view csv,
                                                         const std::string& source) {
  DistrictRegister reg;
  reg.path_ = source;
  reg.sha256_ = Sha256Hex(csv);
  std::string_view text = csv;
  // A byte-order mark (as spreadsheets write) is not part of the header.
  if (text.substr(0, 3) == "\xef\xbb\xbf") text.remove_prefix(3);
  // Names are published (JSON, protobuf strings): they must be UTF-8.
  if (const size_t bad = FirstInvalidUtf8(text); bad != std::string_view::npos) {
    const size_t line = static_cast<size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(bad), '\n'));
    return absl::InvalidArgumentError(Cat(source, ": line ", line + 1, ": is not UTF-8 text (byte ", bad + 1, ")"));
  }
  auto fail = [&](size_t line, std::string_view column, std::string what) {
    return absl::InvalidArgumentError(Cat(source, ": line ", line,
                                                   column.empty() ? "" : ", column ", column, ": ",
                                                   what));
  };
  absl::StatusOr<std::vector<CsvRecord>> records = ReadCsv(text, DelimiterOf(text), source);
  if (!records.ok()) return records.status();
  if (records->empty()) {
    return absl::InvalidArgumentError(Cat(source, ": is empty (needs a header line)"));
  }
  const std::vector<std::string>& header = (*records)[0].fields;
  std::unordered_map<std::string_view, size_t> col;
  for (size_t i = 0; i < header.size(); ++i) {
    if (!col.emplace(Trim(header[i]), i).second) return fail((*records)[0].line, Trim(header[i]), "column appears twice in the header");
  }
  for (std::string_view c : kIdColumns) {
    if (!col.count(c)) return fail((*records)[0].line, c, "column is missing from the header");
  }
  for (std::string_view c : kPopColumns) {
    if (!col.count(c)) return fail((*records)[0].line, c, "column is missing from the header");
  }
  for (size_t r = 1; r < records->size(); ++r) {
    const size_t ln = (*records)[r].line;
    const std::vector<std::string>& cells = (*records)[r].fields;
    if (cells.size() != header.size()) {
      return fail(ln, "", Cat("has ", cells.size(), " fields, the header has ",
                                       header.size()));
    }
    auto cell = [&](std::string_view name) { return Trim(cells[col[name]]); };
    Wijk w;
    w.id = std::string(cell("wijk_id"));
    w.name = std::string(cell("wijk_name"));
    if (!IsValidUnitId(w.id)) return fail(ln, "wijk_id", "must be 1-64 characters of a-z, 0-9, -");
    if (w.name.empty()) return fail(ln, "wijk_name", "is empty");
    if (reg.wijk_index_.contains(w.id)) return fail(ln, "wijk_id", "\"" + w.id + "\" appears twice");
    std::string gid(cell("gebied_id"));
    std::string gname(cell("gebied_name"));
    if (!IsValidUnitId(gid)) return fail(ln, "gebied_id", "must be 1-64 characters of a-z, 0-9, -");
    std::optional<int> g = reg.FindGebied(gid);
    if (!g) {
      reg.gebieden_.push_back(Gebied{gid, gname, {}});
      g = static_cast<int>(reg.gebieden_.size() - 1);
    } else if (reg.gebieden_[*g].name != gname) {
      return fail(ln, "gebied_name", "differs from an earlier line of gebied " + gid);
    }
    w.gebied = *g;
    for (std::string_view c : {std::string_view("target"), std::string_view("invited")}) {
      std::optional<int64_t> v = ParseCount(cell(c));
      if (!v) return fail(ln, c, Cat("must be a whole number >= 0, found \"", cell(c), "\""));
      (c == "target" ? w.target : w.invited) = *v;
    }
    for (int i = 0; i < kCellCount; ++i) {
      std::optional<int64_t> v = ParseCount(cell(kPopColumns[i]));
      if (!v) {
        return fail(ln, kPopColumns[i],
                    Cat("must be a whole number >= 0, found \"", cell(kPopColumns[i]), "\""));
      }
      w.population[i] = *v;
    }
    if (w.PopulationTotal() == 0) return fail(ln, "pop_*", "the wijk has no population");
    const int idx = static_cast<int>(reg.wijken_.size());
    reg.gebieden_[*g].wijken.push_back(idx);
    reg.wijk_index_.emplace(w.id, idx);
    reg.wijken_.push_back(std::move(w));
  }
  if (reg.wijken_.empty()) return absl::InvalidArgumentError(source + ": has no wijken");
  return reg;
}

absl::StatusOr<DistrictRegister> DistrictRegister::Load(const std::string& path) {
  absl::StatusOr<std::string> text = yaml::ReadFileToString(path);
  if (!text.ok()) return text.status();
  return Parse(*text, path);
}

}  // namespace wijkpuls
