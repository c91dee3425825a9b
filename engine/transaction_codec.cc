#include "engine/transaction_codec.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "engine/masking.h"
#include "google/protobuf/message_lite.h"
#include "google/protobuf/util/json_util.h"

namespace txscreen::engine {

namespace v1 = ::txscreen::v1;

namespace {

absl::Status NotInProtobuf(absl::string_view bytes, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(
      "not ", what, " in protobuf binary (", bytes.size(), " bytes)"));
}

// The varint at *p, moving *p past it; false when `end` comes first or it
// is longer than ten bytes.
bool ReadVarint(const char** p, const char* end, uint64_t* value) {
  uint64_t v = 0;
  for (int shift = 0; shift < 70 && *p != end; shift += 7) {
    const auto byte = static_cast<uint8_t>(*(*p)++);
    v |= uint64_t{byte & 0x7fu} << shift;
    if (byte < 0x80) {
      *value = v;
      return true;
    }
  }
  return false;
}

constexpr uint64_t Bit(int field) { return uint64_t{1} << field; }

// The byte offset in `json` of a syntax error protobuf's JSON parser
// reported as "message\nSEGMENT\n    ^": up to 20 bytes of input each side
// of the error, and a caret under it. The segment is found in the input;
// nullopt when it is not there exactly once (or there is no caret).
std::optional<size_t> ErrorOffset(absl::string_view error,
                                  absl::string_view json) {
  const size_t first = error.find('\n');
  if (first == absl::string_view::npos) return std::nullopt;
  const size_t second = error.rfind('\n');
  if (second == first) return std::nullopt;
  const absl::string_view segment = error.substr(first + 1, second - first - 1);
  const absl::string_view caret = error.substr(second + 1);
  if (segment.empty() || caret.empty() || caret.back() != '^' ||
      caret.find_first_not_of(' ') != caret.size() - 1 ||
      caret.size() - 1 > segment.size()) {
    return std::nullopt;
  }
  const size_t at = json.find(segment);
  if (at == absl::string_view::npos ||
      json.find(segment, at + 1) != absl::string_view::npos) {
    return std::nullopt;
  }
  return at + caret.size() - 1;
}

// "column C" for one-line input, else "line L, column C" (1-based;
// columns count characters).
std::string DescribeOffset(absl::string_view json, size_t offset) {
  offset = std::min(offset, json.size());
  size_t line = 1, column = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (json[i] == '\n') {
      ++line;
      column = 1;
    } else if ((static_cast<unsigned char>(json[i]) & 0xC0) != 0x80) {
      ++column;
    }
  }
  const bool one_line = json.find('\n') == absl::string_view::npos ||
                        json.find('\n') == json.size() - 1;
  return one_line ? absl::StrCat("column ", column)
                  : absl::StrCat("line ", line, ", column ", column);
}

}  // namespace

uint64_t TopLevelLengthDelimitedFields(absl::string_view bytes) {
  uint64_t fields = 0;
  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  int groups = 0;  // open groups (unknown fields of the old wire type 3)
  // Nearly every tag and length is one byte: read inline, the rest by
  // ReadVarint.
  auto read = [&p, end](uint64_t* v) {
    if (p != end && static_cast<uint8_t>(*p) < 0x80) {
      *v = static_cast<uint8_t>(*p++);
      return true;
    }
    return ReadVarint(&p, end, v);
  };
  while (p != end) {
    uint64_t tag = 0;
    uint64_t n = 0;
    if (!read(&tag)) return fields;
    // As protobuf's ReadTag: at most five bytes, of which 32 bits are kept.
    tag = static_cast<uint32_t>(tag);
    switch (tag & 7) {
      case 0:
        if (!read(&n)) return fields;
        break;
      case 1:
        if (end - p < 8) return fields;
        p += 8;
        break;
      case 2:
        if (!read(&n) || n > static_cast<uint64_t>(end - p)) return fields;
        if (groups == 0 && (tag >> 3) < 64) fields |= Bit(tag >> 3);
        p += n;
        break;
      case 3:
        ++groups;
        break;
      case 4:
        if (groups == 0) return fields;
        --groups;
        break;
      case 5:
        if (end - p < 4) return fields;
        p += 4;
        break;
      default:
        return fields;
    }
  }
  return fields;
}

namespace {

// One sub-message field of v1::Transaction, by its generated accessors.
template <typename T, int kField, bool (v1::Transaction::*kHas)() const,
          const T& (v1::Transaction::*kGet)() const,
          T* (v1::Transaction::*kRelease)(),
          void (v1::Transaction::*kSetAllocated)(T*)>
struct PartField {
  static_assert(kField < 64, "TopLevelLengthDelimitedFields has 64 bits");
  // Before Clear(): the message's part, cleared, is kept aside.
  template <typename P>
  static void Keep(v1::Transaction* tx, P* part) {
    part->had = (tx->*kHas)();
    if (!part->had) return;
    part->kept = (tx->*kRelease)();
    part->kept->Clear();
  }
  // After Clear(): set again, for the bytes to merge into.
  template <typename P>
  static void SetAgain(v1::Transaction* tx, P* part) {
    if (part->had) (tx->*kSetAllocated)(std::exchange(part->kept, nullptr));
  }
  // After the parse: a part set again that is still empty is taken back
  // unless the bytes hold the field (`present`, scanned when first needed).
  // It is left to the arena (freed at its renewal), as are parts the last
  // transaction did not have: setting those too would need the scan for
  // every transaction without them.
  template <typename P, typename Present>
  static void Settle(v1::Transaction* tx, const P& part, Present present) {
    if (part.had && (tx->*kGet)().ByteSizeLong() == 0 &&
        (present() & Bit(kField)) == 0) {
      (tx->*kRelease)();
    }
  }
};

#define TXSCREEN_PART_FIELD(T, name, Name)                        \
  PartField<T, v1::Transaction::k##Name##FieldNumber,             \
            &v1::Transaction::has_##name, &v1::Transaction::name, \
            &v1::Transaction::unsafe_arena_release_##name,        \
            &v1::Transaction::unsafe_arena_set_allocated_##name>
using OccurredAt = TXSCREEN_PART_FIELD(google::protobuf::Timestamp, occurred_at,
                                       OccurredAt);
using GeoPart = TXSCREEN_PART_FIELD(v1::Geo, geo, Geo);
using CounterpartyPart = TXSCREEN_PART_FIELD(v1::Counterparty, counterparty,
                                             Counterparty);
using CustomerPart = TXSCREEN_PART_FIELD(v1::Customer, customer, Customer);
using AccountOpenedAt = TXSCREEN_PART_FIELD(google::protobuf::Timestamp,
                                            account_opened_at, AccountOpenedAt);
using SessionPart = TXSCREEN_PART_FIELD(v1::SessionSignals, session, Session);
#undef TXSCREEN_PART_FIELD

// The sub-messages of the last transaction, between Clear() and the parse
// (on the message's arena; a message on a renewed arena has none).
template <typename T>
struct Part {
  T* kept = nullptr;
  bool had = false;  // the last transaction had it
};
struct Parts {
  Part<google::protobuf::Timestamp> occurred_at;
  Part<v1::Geo> geo;
  Part<v1::Counterparty> counterparty;
  Part<v1::Customer> customer;
  Part<google::protobuf::Timestamp> account_opened_at;
  Part<v1::SessionSignals> session;
};

// Calls f(field, part) for each sub-message field (a PartField, as a tag)
// and its part in `parts`.
template <typename F>
void ForEachPart(Parts& parts, F f) {
  f(OccurredAt(), parts.occurred_at);
  f(GeoPart(), parts.geo);
  f(CounterpartyPart(), parts.counterparty);
  f(CustomerPart(), parts.customer);
  f(AccountOpenedAt(), parts.account_opened_at);
  f(SessionPart(), parts.session);
}

}  // namespace

absl::Status TransactionDecoder::DecodeProto(absl::string_view bytes) {
  v1::Transaction* tx = message_.ForDecoding();
  Parts parts;
  ForEachPart(parts, [tx](auto field, auto& part) { field.Keep(tx, &part); });
  tx->Clear();
  ForEachPart(parts,
              [tx](auto field, auto& part) { field.SetAgain(tx, &part); });
  if (!tx->ParseFrom<google::protobuf::MessageLite::kMergePartial>(
          google::protobuf::StringPiece(bytes.data(), bytes.size()))) {
    return NotInProtobuf(bytes, "a Transaction");
  }
  bool scanned = false;
  uint64_t fields = 0;
  auto present = [&] {
    if (!scanned) {
      fields = TopLevelLengthDelimitedFields(bytes);
      scanned = true;
    }
    return fields;
  };
  ForEachPart(parts, [tx, &present](auto field, auto& part) {
    field.Settle(tx, part, present);
  });
  return absl::OkStatus();
}

v1::Transaction* TransactionDecoder::ForDecoding() {
  return message_.ForDecoding();
}

absl::Status DecodeTransactionJson(absl::string_view json,
                                   v1::Transaction* out) {
  return DecodeJson(json, "a Transaction", out);
}

namespace {

// The first key that an object of `json` (well-formed: protobuf has parsed
// it) gives twice, and the offset of its second occurrence. protobuf's
// parser keeps the last value, so {"transaction_id":"A",
// "transaction_id":"B"} would be decided as B: an ambiguous idempotency
// key. "transactionId" and "transaction_id" name the same field; keys are
// compared as written otherwise (escapes not undone).
// Whether two raw keys name one field: equal but for '_' and case.
bool SameKey(absl::string_view a, absl::string_view b) {
  size_t i = 0, j = 0;
  while (true) {
    while (i < a.size() && a[i] == '_') ++i;
    while (j < b.size() && b[j] == '_') ++j;
    if (i == a.size() || j == b.size()) return i == a.size() && j == b.size();
    if (absl::ascii_tolower(static_cast<unsigned char>(a[i++])) !=
        absl::ascii_tolower(static_cast<unsigned char>(b[j++]))) {
      return false;
    }
  }
}

std::optional<std::pair<std::string, size_t>> RepeatedKey(
    absl::string_view json) {
  struct Frame {
    bool object = false;
    bool expect_key = false;
    absl::InlinedVector<absl::string_view, 32> keys;  // as written
  };
  absl::InlinedVector<Frame, 4> stack;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (c == '"') {
      const size_t start = i++;
      while (i < json.size() && json[i] != '"') i += json[i] == '\\' ? 2 : 1;
      if (stack.empty() || !stack.back().object || !stack.back().expect_key) {
        continue;
      }
      const absl::string_view key = json.substr(start + 1, i - start - 1);
      Frame& frame = stack.back();
      frame.expect_key = false;
      for (absl::string_view seen : frame.keys) {
        if (SameKey(seen, key)) return std::make_pair(std::string(key), start);
      }
      frame.keys.push_back(key);
    } else if (c == '{' || c == '[') {
      stack.emplace_back();
      stack.back().object = stack.back().expect_key = c == '{';
    } else if (c == '}' || c == ']') {
      if (!stack.empty()) stack.pop_back();
    } else if (c == ',' && !stack.empty() && stack.back().object) {
      stack.back().expect_key = true;
    }
  }
  return std::nullopt;
}

// protobuf's JSON mapping into a cleared *out; with `lenient`, unknown
// fields and enum names are left out instead of being errors.
google::protobuf::util::Status ParseJson(absl::string_view json, bool lenient,
                                         google::protobuf::Message* out) {
  out->Clear();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = lenient;
  return google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), out, options);
}

}  // namespace

absl::Status DecodeJson(absl::string_view json, absl::string_view what,
                        google::protobuf::Message* out) {
  auto status = ParseJson(json, /*lenient=*/false, out);
  if (!status.ok()) {
    // Protobuf appends the offending input and a caret on further lines;
    // input may hold account numbers, so only the first line is kept, and
    // a value it quotes ("invalid value 6222...") is masked: the message
    // goes to logs and dead-letter headers. The caret says where.
    const std::string full = status.message().as_string();
    std::string message = MaskDigitRuns(full.substr(0, full.find('\n')));
    if (std::optional<size_t> at = ErrorOffset(full, json); at.has_value()) {
      if (!message.empty() && message.back() == '.') message.pop_back();
      absl::StrAppend(&message, " at ", DescribeOffset(json, *at));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("not ", what, " in JSON: ", message));
  }
  if (auto repeated = RepeatedKey(json); repeated.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "not ", what, " in JSON: key \"", MaskDigitRuns(repeated->first),
        "\" is given twice (which one is meant?) at ",
        DescribeOffset(json, repeated->second)));
  }
  return absl::OkStatus();
}

absl::Status DecodeTransactionJsonLenient(absl::string_view json,
                                          v1::Transaction* out) {
  return ParseJson(json, /*lenient=*/true, out).ok() &&
                 !RepeatedKey(json).has_value()
             ? absl::OkStatus()
             : absl::InvalidArgumentError("not a Transaction in JSON");
}

absl::Status DecodeTransactionProto(absl::string_view bytes,
                                    v1::Transaction* out) {
  return DecodeProto(bytes, "a Transaction", out);
}

absl::Status DecodeProto(absl::string_view bytes, absl::string_view what,
                         google::protobuf::Message* out) {
  // ParseFromArray clears `out` first.
  if (!out->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return NotInProtobuf(bytes, what);
  }
  return absl::OkStatus();
}

absl::Status EncodeDecisionJson(const v1::Decision& decision,
                                std::string* out) {
  return EncodeJson(decision, out);
}

absl::Status EncodeJson(const google::protobuf::Message& message,
                        std::string* out) {
  out->clear();
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  auto status =
      google::protobuf::util::MessageToJsonString(message, out, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot encode ",
                                            message.GetTypeName(), ": ",
                                            status.message().as_string()));
  }
  return absl::OkStatus();
}

}  // namespace txscreen::engine
