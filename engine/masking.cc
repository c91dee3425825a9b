#include "engine/masking.h"

#include <algorithm>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace txscreen::engine {
namespace {

// Runs this long or longer are masked: a Chinese bank card has 16-19
// digits, an account 12 and more; phone numbers have 11.
constexpr size_t kMaskedRun = 12;

// The length in bytes of the digit at `text[i]`: 1 for '0'-'9', 3 for a
// full-width one (U+FF10-U+FF19: EF BC 90-99), 0 for anything else.
size_t DigitAt(absl::string_view text, size_t i) {
  const unsigned char c = static_cast<unsigned char>(text[i]);
  if (c >= '0' && c <= '9') return 1;
  if (c == 0xEF && i + 2 < text.size() &&
      static_cast<unsigned char>(text[i + 1]) == 0xBC) {
    const unsigned char d = static_cast<unsigned char>(text[i + 2]);
    if (d >= 0x90 && d <= 0x99) return 3;
  }
  return 0;
}

// How many digits (up to 3) follow from `text[i]` on.
size_t DigitsAt(absl::string_view text, size_t i) {
  size_t count = 0;
  for (size_t n; count < 3 && i < text.size() && (n = DigitAt(text, i)) != 0;
       i += n) {
    ++count;
  }
  return count;
}

}  // namespace

std::string MaskAccountNumber(absl::string_view account) {
  if (account.empty()) return "";
  if (account.size() >= 12) {
    return absl::StrCat(account.substr(0, 4), "****",
                        account.substr(account.size() - 4));
  }
  const size_t keep = std::min<size_t>(4, account.size() / 2);
  return absl::StrCat(std::string(account.size() - keep, '*'),
                      account.substr(account.size() - keep));
}

std::string MaskDigitRuns(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::vector<size_t> starts;  // of each digit of the run, in bytes
  size_t i = 0;
  while (i < text.size()) {
    if (DigitAt(text, i) == 0) {
      out.push_back(text[i++]);
      continue;
    }
    starts.clear();
    size_t end = i, group = 0;
    while (end < text.size()) {
      if (const size_t n = DigitAt(text, end); n != 0) {
        starts.push_back(end);
        end += n;
        ++group;
        continue;
      }
      // "6217 4501 0088 1234", "6217-4501-0088-1234": groups of 3 or more
      // digits joined by one space or hyphen are one number (a date's
      // "2026-11-20" is not).
      if (group >= 3 && (text[end] == ' ' || text[end] == '-') &&
          DigitsAt(text, end + 1) >= 3) {
        ++end;
        group = 0;
        continue;
      }
      break;
    }
    if (starts.size() < kMaskedRun) {
      absl::StrAppend(&out, text.substr(i, end - i));
    } else {
      const size_t k = starts.size();
      absl::StrAppend(&out, text.substr(i, starts[4] - i));
      out.append("****");
      absl::StrAppend(&out, text.substr(starts[k - 4], end - starts[k - 4]));
    }
    i = end;
  }
  return out;
}

void MaskMessageStrings(google::protobuf::Message* message) {
  const google::protobuf::Reflection* r = message->GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  r->ListFields(*message, &fields);
  for (const google::protobuf::FieldDescriptor* f : fields) {
    if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(*message, f); ++i) {
          MaskMessageStrings(r->MutableRepeatedMessage(message, f, i));
        }
      } else {
        MaskMessageStrings(r->MutableMessage(message, f));
      }
      continue;
    }
    if (f->type() != google::protobuf::FieldDescriptor::TYPE_STRING) continue;
    const std::string& name = f->name();
    const bool account = name.find("account") != std::string::npos;
    if (!account && absl::EndsWith(name, "_id")) continue;
    auto mask = [&](const std::string& v) {
      return account ? MaskAccountNumber(v) : MaskDigitRuns(v);
    };
    if (f->is_repeated()) {
      for (int i = 0; i < r->FieldSize(*message, f); ++i) {
        r->SetRepeatedString(message, f, i,
                             mask(r->GetRepeatedString(*message, f, i)));
      }
    } else {
      r->SetString(message, f, mask(r->GetString(*message, f)));
    }
  }
}

}  // namespace txscreen::engine
