#include "model/district_register.h"

#include <gtest/gtest.h>

#include "tests/support/test_support.h"
#include "model/text.h"

namespace wijkpuls {
namespace {

TEST(DistrictRegister, TheDefaultHas71WijkenIn14Gebieden) {
  const DistrictRegister& d = testing::DefaultDistricts();
  EXPECT_EQ(d.wijken().size(), 71u);
  EXPECT_EQ(d.gebieden().size(), 14u);
  int64_t target = 0, invited = 0;
  for (const Wijk& w : d.wijken()) {
    target += w.target;
    invited += w.invited;
  }
  EXPECT_EQ(target, 13400);  // per instrument: 26,800 net in all
  EXPECT_EQ(invited, 71915);
  const Wijk& t = d.wijken()[*d.FindWijk("tussendijken")];
  EXPECT_EQ(t.population[CellIndex(AgeBand::k15To29, Sex::kMale)], 608);
  EXPECT_EQ(t.population[CellIndex(AgeBand::k65Plus, Sex::kFemale)], 566);
  EXPECT_EQ(d.gebieden()[t.gebied].id, "delfshaven");
}

TEST(DistrictRegister, ErrorsNameTheLineAndTheColumn) {
  const std::string header =
      "gebied_id,gebied_name,wijk_id,wijk_name,target,invited,pop_male_15_29,pop_female_15_29,"
      "pop_male_30_44,pop_female_30_44,pop_male_45_64,pop_female_45_64,pop_male_65_plus,pop_female_65_plus\n";
  struct Case {
    std::string body, expect;
  };
  const Case cases[] = {
      {"g,G,w,W,x,10,1,1,1,1,1,1,1,1\n", "r.csv: line 2, column target: must be a whole number >= 0"},
      {"g,G,W W,W,1,10,1,1,1,1,1,1,1,1\n", "line 2, column wijk_id"},
      {"g,G,w,W,1,10,1,1,1,1,1,1,1,1\ng,G,w,W,1,10,1,1,1,1,1,1,1,1\n", "line 3, column wijk_id: \"w\" appears twice"},
      {"g,G,w,W,1,10,1,1,1\n", "line 2: has 9 fields"},
      {"g,G,w,W,1,10,0,0,0,0,0,0,0,0\n", "the wijk has no population"},
      // Names are published: bytes that are not UTF-8 were mangled in the JSON.
      {"g,G,w,W,1,10,1,1,1,1,1,1,1,1\ng,G,v,C\xf6\xf6l,1,10,1,1,1,1,1,1,1,1\n", "r.csv: line 3: is not UTF-8 text"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<DistrictRegister> d = DistrictRegister::Parse(header + c.body, "r.csv");
    ASSERT_FALSE(d.ok()) << c.expect;
    EXPECT_TRUE(Contains(MessageOf(d.status()), c.expect)) << d.status().message();
  }
  absl::StatusOr<DistrictRegister> twice = DistrictRegister::Parse("target," + header, "r.csv");
  ASSERT_FALSE(twice.ok());
  EXPECT_TRUE(Contains(MessageOf(twice.status()), "line 1, column target: column appears twice")) << twice.status();
  // A byte-order mark, as spreadsheets write it, is no part of the first column's name.
  absl::StatusOr<DistrictRegister> bom =
      DistrictRegister::Parse("\xef\xbb\xbf" + header + "g,G,w,W,1,10,1,1,1,1,1,1,1,1\n", "r.csv");
  ASSERT_TRUE(bom.ok()) << bom.status();
  EXPECT_EQ(bom->wijken().size(), 1u);
  absl::StatusOr<DistrictRegister> missing = DistrictRegister::Parse("gebied_id,wijk_id\n", "r.csv");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(Contains(MessageOf(missing.status()), "column gebied_name: column is missing")) << missing.status();
}

// RFC 4180 (issue #23): a quoted name may hold the delimiter, a quote ("")
// and a line break; records may end in CRLF. A file that splitting on ','
// read wrongly.
TEST(DistrictRegister, QuotedFieldsAreReadAsRfc4180Says) {
  const std::string header =
      "gebied_id,gebied_name,wijk_id,wijk_name,target,invited,pop_male_15_29,pop_female_15_29,"
      "pop_male_30_44,pop_female_30_44,pop_male_45_64,pop_female_45_64,pop_male_65_plus,pop_female_65_plus\r\n";
  absl::StatusOr<DistrictRegister> d = DistrictRegister::Parse(
      header + "noord,\"Noord, oud\",w,\"Oude \"\"Noorden\"\"\",1,10,1,1,1,1,1,1,1,1\r\n"
               "noord,\"Noord, oud\",v,\"Twee\nregels\",2,20,1,1,1,1,1,1,1,2\r\n",
      "r.csv");
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->wijken().size(), 2u);
  EXPECT_EQ(d->gebieden()[0].name, "Noord, oud");
  EXPECT_EQ(d->wijken()[0].name, "Oude \"Noorden\"");
  EXPECT_EQ(d->wijken()[1].name, "Twee\nregels");
  EXPECT_EQ(d->wijken()[1].population[kCellCount - 1], 2);  // no \r left in the last field
  // A quote never closed is named with the line it opens on.
  absl::StatusOr<DistrictRegister> open =
      DistrictRegister::Parse(header + "g,G,w,W,1,10,1,1,1,1,1,1,1,1\r\ng,\"G,v,V,1,10,1,1,1,1,1,1,1,1\r\n", "r.csv");
  ASSERT_FALSE(open.ok());
  EXPECT_TRUE(Contains(MessageOf(open.status()), "r.csv: line 3: a quoted field is not closed")) << open.status();
}

// A semicolon-separated file, as a Dutch spreadsheet writes "CSV" (byte-order
// mark, CRLF, decimal commas in no column here): read as the same register.
TEST(DistrictRegister, ASemicolonSeparatedFileIsReadLikeACommaSeparatedOne) {
  std::string comma = testing::ReadFile(testing::DistrictsPath());
  std::string semi;
  for (char ch : comma) {
    if (ch == ',') {
      semi += ';';
    } else if (ch == '\n') {
      semi += "\r\n";
    } else {
      semi += ch;
    }
  }
  absl::StatusOr<DistrictRegister> d = DistrictRegister::Parse("\xef\xbb\xbf" + semi, "r.csv");
  ASSERT_TRUE(d.ok()) << d.status();
  const DistrictRegister& want = testing::DefaultDistricts();
  ASSERT_EQ(d->wijken().size(), want.wijken().size());
  for (size_t i = 0; i < want.wijken().size(); ++i) {
    EXPECT_EQ(d->wijken()[i].id, want.wijken()[i].id);
    EXPECT_EQ(d->wijken()[i].name, want.wijken()[i].name);
    EXPECT_EQ(d->wijken()[i].target, want.wijken()[i].target);
    EXPECT_EQ(d->wijken()[i].population, want.wijken()[i].population);
  }
  // A name with a comma in a semicolon file needs no quotes.
  absl::StatusOr<DistrictRegister> named = DistrictRegister::Parse(
      "gebied_id;gebied_name;wijk_id;wijk_name;target;invited;pop_male_15_29;pop_female_15_29;pop_male_30_44;"
      "pop_female_30_44;pop_male_45_64;pop_female_45_64;pop_male_65_plus;pop_female_65_plus\n"
      "g;G;w;Kop, van Zuid;1;10;1;1;1;1;1;1;1;1\n",
      "r.csv");
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ(named->wijken()[0].name, "Kop, van Zuid");
}

}  // namespace
}  // namespace wijkpuls
