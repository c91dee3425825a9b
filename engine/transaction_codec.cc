#include "engine/transaction_codec.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace txscreen::engine {

namespace v1 = ::txscreen::v1;

absl::Status DecodeTransactionJson(absl::string_view json,
                                   v1::Transaction* out) {
  return DecodeJson(json, "a Transaction", out);
}

absl::Status DecodeJson(absl::string_view json, absl::string_view what,
                        google::protobuf::Message* out) {
  out->Clear();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), out, options);
  if (!status.ok()) {
    // Protobuf appends the offending input and a caret on further lines;
    // input may hold account numbers, so only the first line is kept.
    std::string message = status.message().as_string();
    message = message.substr(0, message.find('\n'));
    return absl::InvalidArgumentError(
        absl::StrCat("not ", what, " in JSON: ", message));
  }
  return absl::OkStatus();
}

absl::Status DecodeTransactionProto(absl::string_view bytes,
                                    v1::Transaction* out) {
  return DecodeProto(bytes, "a Transaction", out);
}

absl::Status DecodeProto(absl::string_view bytes, absl::string_view what,
                         google::protobuf::Message* out) {
  // ParseFromArray clears `out` first.
  if (!out->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "not ", what, " in protobuf binary (", bytes.size(), " bytes)"));
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
