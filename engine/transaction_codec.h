// File: transaction_codec.h
//
// Bytes <-> messages at the engine's edges. Transactions arrive as binary
// protobuf or as protobuf's JSON mapping (either field-name style;
// timestamps with offsets such as 2026-11-20T09:30:00+08:00); decisions leave
// as either, JSON keeping the proto field names and enum names.
//
// Thread safety: the functions are stateless; a TransactionDecoder is used
// by one thread.
#ifndef TXSCREEN_ENGINE_TRANSACTION_CODEC_H_
#define TXSCREEN_ENGINE_TRANSACTION_CODEC_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "engine/reused_message.h"
#include "txscreen/v1/decision.pb.h"
#include "txscreen/v1/transaction.pb.h"

namespace txscreen::engine {

// `text` without a UTF-8 byte order mark at its start (as editors on
// Windows write one): for the first line of a JSONL file.
inline absl::string_view WithoutBom(absl::string_view text) {
  return text.substr(0, 3) == "\xEF\xBB\xBF" ? text.substr(3) : text;
}

// Unknown JSON fields are errors (a misspelt field must not vanish silently).
absl::Status DecodeTransactionJson(absl::string_view json,
                                   txscreen::v1::Transaction* out);
absl::Status DecodeTransactionProto(absl::string_view bytes,
                                    txscreen::v1::Transaction* out);
// The same JSON with unknown fields and unknown enum names left out (an
// unknown enum name reads as unset): for answering a transaction that
// DecodeTransactionJson refused with a REJECTED_INPUT decision when it
// still says which transaction it is (Screener::RejectUndecodable).
absl::Status DecodeTransactionJsonLenient(absl::string_view json,
                                          txscreen::v1::Transaction* out);

// Transactions decoded one after another into one message (on an arena,
// see ReusedMessage) that keeps what the previous one allocated.
// ParseFromArray clears a message first, and Clear() on an arena forgets
// the sub-messages (timestamps, geo, counterparty, customer, session): each
// transaction took four or five new ones from the arena, with new strings
// inside them. Here the sub-messages the previous transaction had are
// cleared and set again before the bytes are merged into them. One that is
// still empty afterwards may be absent from the bytes or present and empty,
// which proto3 keeps apart for messages (has_geo()): a scan of the bytes'
// top-level fields tells, and the absent ones are taken back. Presence is
// always what DecodeTransactionProto gives. In BM_WholePath, whose
// counterparty and geo come and go, the parse takes ~1,000 instructions
// less and the checks and scans ~750 more (bench/README.md).
class TransactionDecoder {
 public:
  TransactionDecoder() = default;
  TransactionDecoder(const TransactionDecoder&) = delete;
  TransactionDecoder& operator=(const TransactionDecoder&) = delete;

  // Decodes protobuf binary `bytes` as DecodeTransactionProto does. The
  // transaction of the last call (and references into it) become invalid;
  // after an error the message holds what was merged before it: not to be
  // read.
  absl::Status DecodeProto(absl::string_view bytes);
  // The message for another decoder (DecodeTransactionJson), which clears
  // it; the same invalidation.
  txscreen::v1::Transaction* ForDecoding();

  // How often the arena started afresh (ReusedMessage::renewals).
  uint64_t renewals() const { return message_.renewals(); }

  const txscreen::v1::Transaction& operator*() const { return *message_; }
  const txscreen::v1::Transaction* operator->() const {
    return message_.operator->();
  }

 private:
  ReusedMessage<txscreen::v1::Transaction> message_;
};

// Bit n set for each field number n < 64 that occurs length-delimited (wire
// type 2) at the top level of the well-formed protobuf `bytes` (not inside
// a sub-message or group). For bytes that do not parse, some set of bits.
uint64_t TopLevelLengthDelimitedFields(absl::string_view bytes);

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
