// File: transaction_codec.h
//
// Bytes <-> messages at the engine's edges. Transactions arrive as binary
// protobuf or as protobuf's JSON mapping (either field-name style;
// timestamps with offsets such as 2026-11-20T09:30:00+08:00); decisions leave
// as either, JSON keeping the proto field names and enum names.
//
// Thread safety: stateless functions.
#ifndef TXSCREEN_ENGINE_TRANSACTION_CODEC_H_
#define TXSCREEN_ENGINE_TRANSACTION_CODEC_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "txscreen/v1/decision.pb.h"
#include "txscreen/v1/transaction.pb.h"

namespace txscreen::engine {

// Unknown JSON fields are errors (a misspelt field must not vanish silently).
absl::Status DecodeTransactionJson(absl::string_view json,
                                   txscreen::v1::Transaction* out);
absl::Status DecodeTransactionProto(absl::string_view bytes,
                                    txscreen::v1::Transaction* out);

// One line of JSON, no trailing newline.
absl::Status EncodeDecisionJson(const txscreen::v1::Decision& decision,
                                std::string* out);

// The same for any message (overrides, dispositions, holds): JSON with the
// proto field names, unknown fields refused when decoding; `what` names the
// message in errors ("an Override").
absl::Status DecodeJson(absl::string_view json, absl::string_view what,
                        google::protobuf::Message* out);
absl::Status DecodeProto(absl::string_view bytes, absl::string_view what,
                         google::protobuf::Message* out);
absl::Status EncodeJson(const google::protobuf::Message& message,
                        std::string* out);

}  // namespace txscreen::engine

#endif  // TXSCREEN_ENGINE_TRANSACTION_CODEC_H_
