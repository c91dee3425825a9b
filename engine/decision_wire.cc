#include "engine/decision_wire.h"

#include <cstring>

#include "engine/wire_format.h"

namespace txscreen::engine {

namespace v1 = ::txscreen::v1;

namespace {

using wire::FieldSize;
using wire::VarintSize;

// int32 fields and enums are varints of their sign-extended value.
size_t Int32Size(int32_t v) { return VarintSize(static_cast<int64_t>(v)); }

// google.protobuf.Timestamp and Duration: seconds = 1, nanos = 2.
template <typename Time>
size_t TimeSize(const Time& t) {
  return (t.seconds() != 0 ? 1 + VarintSize(t.seconds()) : 0) +
         (t.nanos() != 0 ? 1 + Int32Size(t.nanos()) : 0);
}

template <typename Time>
uint8_t* WriteTime(int field, const Time& t, size_t size, uint8_t* out) {
  out = wire::WriteFieldHeader(field, size, out);
  if (t.seconds() != 0) {
    out = wire::WriteTag(1, wire::kVarint, out);
    out = wire::WriteVarint(t.seconds(), out);
  }
  if (t.nanos() != 0) {
    out = wire::WriteTag(2, wire::kVarint, out);
    out = wire::WriteVarint(static_cast<int64_t>(t.nanos()), out);
  }
  return out;
}

// A present sub-message is written even when empty (tag, length 0).
size_t PresentSize(size_t payload) {
  return 1 + wire::LengthSize(payload) + payload;
}

uint8_t* WriteText(int field, const std::string& s, uint8_t* out) {
  if (s.empty()) return out;
  out = wire::WriteFieldHeader(field, s.size(), out);
  std::memcpy(out, s.data(), s.size());
  return out + s.size();
}

uint8_t* WriteInt32(int field, int32_t v, uint8_t* out) {
  if (v == 0) return out;
  out = wire::WriteTag(field, wire::kVarint, out);
  return wire::WriteVarint(static_cast<int64_t>(v), out);
}

}  // namespace

size_t PlainDecisionSize(const v1::Decision& d) {
  // Looked up once: each GetReflection() call checks protobuf's one-time
  // descriptor initialisation (~100 instructions per transaction).
  static const google::protobuf::Reflection* const reflection =
      v1::Decision::GetReflection();
  if (d.hits_size() != 0 || d.reports_size() != 0 || d.has_prompt() ||
      d.input_errors_size() != 0 || d.scores_size() != 0 ||
      d.notes_size() != 0 || !reflection->GetUnknownFields(d).empty()) {
    return 0;
  }
  return FieldSize(d.transaction_id().size()) +
         (d.verdict() != 0 ? 1 + Int32Size(d.verdict()) : 0) +
         FieldSize(d.ruleset_version().size()) +
         (d.has_decided_at() ? PresentSize(TimeSize(d.decided_at())) : 0) +
         (d.has_deadline() ? PresentSize(TimeSize(d.deadline())) : 0) +
         (d.late() ? 2 : 0) + FieldSize(d.customer_id().size()) +
         (d.channel() != 0 ? 1 + Int32Size(d.channel()) : 0) +
         (d.has_engine_latency() ? PresentSize(TimeSize(d.engine_latency()))
                                 : 0) +
         (d.duplicate() ? 2 : 0);
}

uint8_t* WritePlainDecision(const v1::Decision& d, uint8_t* out) {
  // In field-number order, as protobuf's serializer writes them.
  out = WriteText(1, d.transaction_id(), out);
  out = WriteInt32(2, d.verdict(), out);
  out = WriteText(6, d.ruleset_version(), out);
  if (d.has_decided_at()) {
    out = WriteTime(7, d.decided_at(), TimeSize(d.decided_at()), out);
  }
  if (d.has_deadline()) {
    out = WriteTime(8, d.deadline(), TimeSize(d.deadline()), out);
  }
  if (d.late()) {
    out = wire::WriteTag(9, wire::kVarint, out);
    *out++ = 1;
  }
  out = WriteText(11, d.customer_id(), out);
  out = WriteInt32(12, d.channel(), out);
  if (d.has_engine_latency()) {
    out = WriteTime(13, d.engine_latency(), TimeSize(d.engine_latency()), out);
  }
  if (d.duplicate()) {
    out = wire::WriteTag(14, wire::kVarint, out);
    *out++ = 1;
  }
  return out;
}

}  // namespace txscreen::engine
