// File: masking.h
//
// Account and card numbers shown to people (the teller console, logs) are
// masked: the first four and the last four digits stay.
#ifndef TXSCREEN_ENGINE_MASKING_H_
#define TXSCREEN_ENGINE_MASKING_H_

#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace txscreen::engine {

// "6222****1234": the first 4 and last 4 characters of an account number
// (all but the last 4 masked when shorter than 12).
std::string MaskAccountNumber(absl::string_view account);

// `text` with every run of 12 or more digits, ASCII or full-width (as an
// input method types them in a Chinese memo), masked the same way: its
// first 4 and last 4 digits kept, "****" between. For free text that may
// quote an account or card number: memos, error messages that echo input.
// Shorter runs (amounts, dates, phone numbers) stay.
std::string MaskDigitRuns(absl::string_view text);

// Masks every string in `message` and its sub-messages, for people to read
// (an audit export): a field whose name has "account" in it as an account
// number (MaskAccountNumber), other "..._id" fields (transaction, customer,
// staff ids) kept, any other text (reasons, memos, prompts, answers) with
// MaskDigitRuns.
void MaskMessageStrings(google::protobuf::Message* message);

}  // namespace txscreen::engine

#endif  // TXSCREEN_ENGINE_MASKING_H_
