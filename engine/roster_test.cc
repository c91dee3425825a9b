// Tests of the staff roster (roster.h): parsing, look-ups by id and by
// console token, and the exact "path:line:col: problem" of every error.
#include "engine/roster.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace txscreen::engine {
namespace {

using ::testing::IsEmpty;

constexpr char kHeader4[] = "staff_id,name,branch_id,role\n";
constexpr char kHeader5[] = "staff_id,name,branch_id,role,token_sha256\n";

// The error message of parsing `text` as "r.csv" (fails the test when the
// text parses).
std::string ParseError(const std::string& text) {
  absl::StatusOr<std::shared_ptr<const Roster>> roster =
      Roster::Parse(text, "r.csv");
  if (roster.ok()) {
    ADD_FAILURE() << "parsed: " << text;
    return "";
  }
  EXPECT_EQ(roster.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(roster.status().message());
}

std::shared_ptr<const Roster> MustParse(const std::string& text) {
  absl::StatusOr<std::shared_ptr<const Roster>> roster =
      Roster::Parse(text, "r.csv");
  EXPECT_TRUE(roster.ok()) << roster.status();
  return roster.ok() ? *roster : nullptr;
}

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string raw = Sha256("abc");
  ASSERT_EQ(raw.size(), 32u);
  EXPECT_EQ(static_cast<unsigned char>(raw[0]), 0xba);
  EXPECT_EQ(static_cast<unsigned char>(raw[31]), 0xad);
}

TEST(RosterTest, RoleNames) {
  EXPECT_EQ(RoleName(StaffRole::kTeller), "teller");
  EXPECT_EQ(RoleName(StaffRole::kSupervisor), "supervisor");
  EXPECT_EQ(RoleName(StaffRole::kCompliance), "compliance");
  EXPECT_EQ(RoleName(StaffRole::kOperator), "operator");
}

TEST(RosterTest, FourColumnRoster) {
  std::shared_ptr<const Roster> roster =
      MustParse(absl::StrCat(kHeader4,
                             "T1,Zhang San,B1,teller\n"
                             "S1,\"Li, Si\",B1,supervisor\n"
                             "C1,Wang Wu,HQ,compliance\n"
                             "O1,Zhao Liu,HQ,operator\n"));
  ASSERT_NE(roster, nullptr);
  EXPECT_EQ(roster->size(), 4u);
  ASSERT_EQ(roster->staff().size(), 4u);
  EXPECT_EQ(roster->staff()[0].id, "T1");
  EXPECT_EQ(roster->staff()[3].id, "O1");

  const Staff* t1 = roster->Find("T1");
  ASSERT_NE(t1, nullptr);
  EXPECT_EQ(t1->name, "Zhang San");
  EXPECT_EQ(t1->branch_id, "B1");
  EXPECT_EQ(t1->role, StaffRole::kTeller);
  EXPECT_EQ(t1->token_sha256, "");

  const Staff* s1 = roster->Find("S1");
  ASSERT_NE(s1, nullptr);
  EXPECT_EQ(s1->name, "Li, Si");
  EXPECT_EQ(s1->role, StaffRole::kSupervisor);
  EXPECT_EQ(roster->Find("C1")->role, StaffRole::kCompliance);
  EXPECT_EQ(roster->Find("O1")->role, StaffRole::kOperator);
  EXPECT_EQ(roster->Find("O1")->branch_id, "HQ");

  EXPECT_EQ(roster->Find("T2"), nullptr);
  EXPECT_EQ(roster->Find("t1"), nullptr);  // ids are case-sensitive
  EXPECT_EQ(roster->Find(""), nullptr);
  // Nobody has a token.
  EXPECT_EQ(roster->FindByToken(""), nullptr);
  EXPECT_EQ(roster->FindByToken("T1"), nullptr);
}

TEST(RosterTest, FiveColumnRosterFindsStaffByToken) {
  std::shared_ptr<const Roster> roster = MustParse(absl::StrCat(
      kHeader5, "T1,Zhang San,B1,teller,", Sha256Hex("token-of-t1"), "\n",
      // Upper-case hex is accepted and stored lower-case.
      "S1,Li Si,B1,supervisor,", absl::AsciiStrToUpper(Sha256Hex("s1-token")),
      "\n",
      // No token: no console login.
      "T2,Wang Wu,B1,teller,\n"));
  ASSERT_NE(roster, nullptr);
  EXPECT_EQ(roster->size(), 3u);
  EXPECT_EQ(roster->Find("T1")->token_sha256, Sha256Hex("token-of-t1"));
  EXPECT_EQ(roster->Find("S1")->token_sha256, Sha256Hex("s1-token"));
  EXPECT_EQ(roster->Find("T2")->token_sha256, "");

  const Staff* by_token = roster->FindByToken("token-of-t1");
  ASSERT_NE(by_token, nullptr);
  EXPECT_EQ(by_token->id, "T1");
  ASSERT_NE(roster->FindByToken("s1-token"), nullptr);
  EXPECT_EQ(roster->FindByToken("s1-token")->id, "S1");
  // The hash itself is not a token, nor is a near miss or nothing.
  EXPECT_EQ(roster->FindByToken(Sha256Hex("token-of-t1")), nullptr);
  EXPECT_EQ(roster->FindByToken("token-of-t2"), nullptr);
  EXPECT_EQ(roster->FindByToken(""), nullptr);
}

TEST(RosterTest, WhitespaceCaseByteOrderMarkCrlfAndBlankLines) {
  std::shared_ptr<const Roster> roster = MustParse(
      "\xEF\xBB\xBF"
      "staff_id , name,branch_id,role\r\n"
      "\r\n"
      " T1 , Zhang San ,B1, Teller \r\n"
      "   \r\n"
      "S1,Li Si,B1,SUPERVISOR\r\n");
  ASSERT_NE(roster, nullptr);
  EXPECT_EQ(roster->size(), 2u);
  const Staff* t1 = roster->Find("T1");
  ASSERT_NE(t1, nullptr);
  EXPECT_EQ(t1->name, "Zhang San");
  EXPECT_EQ(t1->branch_id, "B1");
  EXPECT_EQ(t1->role, StaffRole::kTeller);
  EXPECT_EQ(roster->Find("S1")->role, StaffRole::kSupervisor);
}

TEST(RosterTest, HeaderOnlyIsAnEmptyRoster) {
  std::shared_ptr<const Roster> roster = MustParse(kHeader4);
  ASSERT_NE(roster, nullptr);
  EXPECT_EQ(roster->size(), 0u);
  EXPECT_THAT(roster->staff(), IsEmpty());
}

TEST(RosterTest, EmptyRosterFindsNobody) {
  std::shared_ptr<const Roster> empty = Roster::Empty();
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(empty->size(), 0u);
  EXPECT_EQ(empty->Find("T1"), nullptr);
  EXPECT_EQ(empty->FindByToken("x"), nullptr);
  EXPECT_EQ(Roster::Empty().get(), empty.get());
}

TEST(RosterErrorTest, EmptyText) {
  EXPECT_EQ(ParseError(""),
            "r.csv:1:1: empty roster: the first line must be the header "
            "staff_id,name,branch_id,role[,token_sha256]");
}

TEST(RosterErrorTest, WrongHeaderName) {
  EXPECT_EQ(ParseError("staff_id,nom,branch_id,role\nT1,A,B1,teller\n"),
            "r.csv:1:10: header column 2 is 'nom', expected 'name'");
}

TEST(RosterErrorTest, EveryWrongHeaderNameIsReported) {
  EXPECT_EQ(ParseError("id,name,branch,role,token\n"),
            "r.csv:1:1: header column 1 is 'id', expected 'staff_id'\n"
            "r.csv:1:9: header column 3 is 'branch', expected 'branch_id'\n"
            "r.csv:1:21: header column 5 is 'token', expected "
            "'token_sha256'");
}

TEST(RosterErrorTest, HeaderWithTooFewOrTooManyColumns) {
  EXPECT_EQ(ParseError("staff_id,name,branch_id\n"),
            "r.csv:1:1: header has 3 columns; expected "
            "staff_id,name,branch_id,role and optionally token_sha256");
  EXPECT_EQ(ParseError("staff_id,name,branch_id,role,token_sha256,extra\n"),
            "r.csv:1:1: header has 6 columns; expected "
            "staff_id,name,branch_id,role and optionally token_sha256");
}

TEST(RosterErrorTest, RowWithTheWrongNumberOfFields) {
  EXPECT_EQ(ParseError(absl::StrCat(kHeader4,
                                    "T1,A,B1,teller\n"
                                    "T2,B,B1\n"
                                    "T3,C,B1,teller,extra\n")),
            "r.csv:3:1: row has 3 fields; the header has 4\n"
            "r.csv:4:1: row has 5 fields; the header has 4");
}

TEST(RosterErrorTest, BadStaffId) {
  EXPECT_EQ(ParseError(absl::StrCat(kHeader4, "T 1,A,B1,teller\n")),
            "r.csv:2:1: staff_id 'T 1' must be 1-64 letters, digits, '-', "
            "'_' or '.'");
  EXPECT_EQ(ParseError(absl::StrCat(kHeader4, ",A,B1,teller\n")),
            "r.csv:2:1: staff_id '' must be 1-64 letters, digits, '-', '_' "
            "or '.'");
  EXPECT_EQ(ParseError(
                absl::StrCat(kHeader4, std::string(65, 'x'), ",A,B1,teller\n")),
            absl::StrCat("r.csv:2:1: staff_id '", std::string(65, 'x'),
                         "' must be 1-64 letters, digits, '-', '_' or '.'"));
  // 64 characters, '-', '_' and '.' are fine.
  std::shared_ptr<const Roster> roster = MustParse(absl::StrCat(
      kHeader4, std::string(64, 'x'), ",A,B1,teller\nt-1_a.b,B,B1,teller\n"));
  ASSERT_NE(roster, nullptr);
  EXPECT_NE(roster->Find("t-1_a.b"), nullptr);
}

TEST(RosterErrorTest, BadBranchId) {
  EXPECT_EQ(ParseError(absl::StrCat(kHeader4, "T1,A,B/1,teller\n")),
            "r.csv:2:6: branch_id 'B/1' must be 1-64 letters, digits, '-', "
            "'_' or '.'");
}

TEST(RosterErrorTest, DuplicateStaffIdNamesTheFirstLine) {
  EXPECT_EQ(ParseError(absl::StrCat(kHeader4,
                                    "T1,A,B1,teller\n"
                                    "S1,B,B1,supervisor\n"
                                    "\n"
                                    "T1,C,B2,teller\n")),
            "r.csv:5:1: staff_id 'T1' appears twice (first on line 2)");
}

TEST(RosterErrorTest, DuplicateAfterAMultiLineQuotedNameNamesItsLine) {
  EXPECT_EQ(ParseError(absl::StrCat(kHeader4,
                                    "T0,\"two\nlines\",B1,teller\n"
                                    "T1,A,B1,teller\n"
                                    "T1,C,B2,teller\n")),
            "r.csv:5:1: staff_id 'T1' appears twice (first on line 4)");
}

TEST(RosterErrorTest, EmptyName) {
  EXPECT_EQ(ParseError(absl::StrCat(kHeader4, "T1,  ,B1,teller\n")),
            "r.csv:2:4: name is empty");
}

TEST(RosterErrorTest, BadRole) {
  EXPECT_EQ(ParseError(absl::StrCat(kHeader4, "T1,A,B1,Manager\n")),
            "r.csv:2:9: role 'Manager' is not one of teller, supervisor, "
            "compliance, operator");
}

TEST(RosterErrorTest, BadTokenHex) {
  const std::string why =
      "token_sha256 must be 64 hex digits (the SHA-256 of the token, e.g. "
      "from `printf %s TOKEN | sha256sum`)";
  // Too short, not hex, and the token itself instead of its hash.
  EXPECT_EQ(ParseError(absl::StrCat(kHeader5, "T1,A,B1,teller,abc123\n")),
            absl::StrCat("r.csv:2:16: ", why));
  std::string not_hex = Sha256Hex("x");
  not_hex[10] = 'g';
  EXPECT_EQ(
      ParseError(absl::StrCat(kHeader5, "T1,A,B1,teller,", not_hex, "\n")),
      absl::StrCat("r.csv:2:16: ", why));
  EXPECT_EQ(ParseError(absl::StrCat(kHeader5, "T1,A,B1,teller,", Sha256Hex("x"),
                                    "0\n")),
            absl::StrCat("r.csv:2:16: ", why));
}

TEST(RosterErrorTest, SharedToken) {
  const std::string hash = Sha256Hex("shared");
  EXPECT_EQ(ParseError(absl::StrCat(kHeader5, "T1,A,B1,teller,", hash,
                                    "\n"
                                    "T2,B,B1,teller,",
                                    absl::AsciiStrToUpper(hash), "\n")),
            "r.csv:3:16: token_sha256 is the same as that of staff 'T1': every "
            "person needs their own token");
}

TEST(RosterErrorTest, SeveralErrorsAreReportedTogetherInOrder) {
  EXPECT_EQ(
      ParseError(absl::StrCat(kHeader5, "T1,A,B1,teller,", Sha256Hex("a"),
                              "\n"
                              "T1,,B1,boss,zz\n"
                              "T2,C,B1\n"
                              "T3,D,B1,teller,",
                              Sha256Hex("a"),
                              "\n"
                              "T4,E,B1,supervisor,\n")),
      "r.csv:3:1: staff_id 'T1' appears twice (first on line 2)\n"
      "r.csv:3:4: name is empty\n"
      "r.csv:3:8: role 'boss' is not one of teller, supervisor, compliance, "
      "operator\n"
      "r.csv:3:13: token_sha256 must be 64 hex digits (the SHA-256 of the "
      "token, e.g. from `printf %s TOKEN | sha256sum`)\n"
      "r.csv:4:1: row has 3 fields; the header has 5\n"
      "r.csv:5:16: token_sha256 is the same as that of staff 'T1': every "
      "person "
      "needs their own token");
}

TEST(RosterErrorTest, CsvErrorIsReportedWithItsPosition) {
  EXPECT_EQ(ParseError(absl::StrCat(kHeader4,
                                    "T1,A,B1,teller\n"
                                    "T2,\"B,B1,teller\n")),
            "r.csv:3:4: quoted field is not closed before the end of the file");
  EXPECT_EQ(ParseError("staff_id,na\"me,branch_id,role\n"),
            "r.csv:1:12: quote inside an unquoted field (quote the whole field "
            "and write the quote as \"\")");
}

TEST(RosterErrorTest, CsvErrorAfterRowErrorsIsReportedLast) {
  EXPECT_EQ(ParseError(absl::StrCat(kHeader4,
                                    "T1,A,B1,chief\n"
                                    "T2,\"B\"x,B1,teller\n")),
            "r.csv:2:9: role 'chief' is not one of teller, supervisor, "
            "compliance, operator\n"
            "r.csv:3:7: unexpected character after a closing quote (a quote "
            "inside a quoted field is written \"\")");
}

// A fresh file path under the test temp dir.
std::string TempPath(const std::string& name) {
  return (std::filesystem::path(::testing::TempDir()) /
          absl::StrCat("roster_test.", getpid(), ".", name))
      .string();
}

TEST(RosterTest, LoadReadsAFile) {
  const std::string path = TempPath("roster.csv");
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << kHeader4 << "T1,A,B1,teller\n";
  }
  absl::StatusOr<std::shared_ptr<const Roster>> roster = Roster::Load(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(roster.ok()) << roster.status();
  EXPECT_EQ((*roster)->size(), 1u);
  EXPECT_NE((*roster)->Find("T1"), nullptr);
}

TEST(RosterTest, LoadNamesTheFileInErrors) {
  const std::string path = TempPath("bad.csv");
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << kHeader4 << "T1,A,B1,chief\n";
  }
  absl::StatusOr<std::shared_ptr<const Roster>> roster = Roster::Load(path);
  std::filesystem::remove(path);
  ASSERT_FALSE(roster.ok());
  EXPECT_EQ(roster.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(roster.status().message(),
            absl::StrCat(path,
                         ":2:9: role 'chief' is not one of teller, supervisor, "
                         "compliance, operator"));
}

TEST(RosterTest, LoadOfAMissingFile) {
  const std::string path = TempPath("missing.csv");
  std::filesystem::remove(path);
  absl::StatusOr<std::shared_ptr<const Roster>> roster = Roster::Load(path);
  ASSERT_FALSE(roster.ok());
  EXPECT_EQ(roster.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(roster.status().message(),
            absl::StrCat(path, ": cannot open the staff roster"));
}

}  // namespace
}  // namespace txscreen::engine
