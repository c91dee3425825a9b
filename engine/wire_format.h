// File: wire_format.h
//
// The few pieces of protobuf's wire format that the write-behind uses to
// encode state values straight from memory (window.cc, partition_state.cc):
// one-byte tags (field numbers below 16), length prefixes, packed arrays.
// The bytes are those of the messages in state.proto, which decode them.
#ifndef TXSCREEN_ENGINE_WIRE_FORMAT_H_
#define TXSCREEN_ENGINE_WIRE_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "google/protobuf/io/coded_stream.h"

namespace txscreen::engine::wire {

using ::google::protobuf::io::CodedOutputStream;

enum WireType : int { kVarint = 0, kFixed64 = 1, kLength = 2 };

inline uint8_t* WriteTag(int field, WireType type, uint8_t* out) {
  *out++ = static_cast<uint8_t>((field << 3) | type);
  return out;
}

inline size_t VarintSize(int64_t v) {
  return CodedOutputStream::VarintSize64(static_cast<uint64_t>(v));
}

inline uint8_t* WriteVarint(int64_t v, uint8_t* out) {
  return CodedOutputStream::WriteVarint64ToArray(static_cast<uint64_t>(v), out);
}

inline size_t LengthSize(size_t n) {
  return CodedOutputStream::VarintSize32(static_cast<uint32_t>(n));
}

inline uint8_t* WriteLength(size_t n, uint8_t* out) {
  return CodedOutputStream::WriteVarint32ToArray(static_cast<uint32_t>(n), out);
}

// A length-delimited field (packed array, string, sub-message) of `payload`
// bytes; nothing at all when the payload is empty, as proto3 leaves it out.
inline size_t FieldSize(size_t payload) {
  return payload == 0 ? 0 : 1 + LengthSize(payload) + payload;
}

inline uint8_t* WriteFieldHeader(int field, size_t payload, uint8_t* out) {
  return WriteLength(payload, WriteTag(field, kLength, out));
}

// A length-delimited field whose payload `write(out)` writes and returns
// the end of, without its size known first: one byte is set aside for the
// length (payloads under 128 bytes, nearly all of them here), and the
// payload is moved along when its length needs more. Nothing at all for an
// empty payload (packed arrays: proto3 leaves them out). `out` must have
// room for the tag, 5 bytes of length and the payload.
template <typename Write>
uint8_t* WriteDelimited(int field, uint8_t* out, Write&& write) {
  uint8_t* const tag = out;
  out = WriteTag(field, kLength, out);
  uint8_t* const start = out + 1;
  uint8_t* const end = write(start);
  const size_t n = static_cast<size_t>(end - start);
  if (n == 0) return tag;
  if (n < 128) {
    *out = static_cast<uint8_t>(n);
    return end;
  }
  const size_t length_size = LengthSize(n);
  std::memmove(out + length_size, start, n);
  WriteLength(n, out);
  return out + length_size + n;
}

}  // namespace txscreen::engine::wire

#endif  // TXSCREEN_ENGINE_WIRE_FORMAT_H_
