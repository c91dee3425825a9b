// File: reused_message.h
//
// One protobuf message used again and again on the hot path (the
// transaction being decoded). A message's Clear() deletes its sub-messages
// (timestamps, counterparty, customer, ...) when it lives on the heap, and
// the next parse allocates them again: several heap allocations per
// transaction. On an arena, Clear() only forgets them and the parse takes
// new ones from the arena's current block; the arena starts afresh once it
// has grown past a bound.
//
// Thread safety: none; one per processing thread.
#ifndef TXSCREEN_ENGINE_REUSED_MESSAGE_H_
#define TXSCREEN_ENGINE_REUSED_MESSAGE_H_

#include <cstddef>
#include <cstdint>

#include "google/protobuf/arena.h"

namespace txscreen::engine {

template <typename T>
class ReusedMessage {
 public:
  ReusedMessage() : arena_(Options()) {
    message_ = google::protobuf::Arena::CreateMessage<T>(&arena_);
  }
  ReusedMessage(const ReusedMessage&) = delete;
  ReusedMessage& operator=(const ReusedMessage&) = delete;

  // The message, cleared. References from earlier calls become invalid.
  T* Next() {
    T* m = ForDecoding();
    m->Clear();
    return m;
  }

  // The message as the last use left it, for a decoder that clears it
  // first (DecodeProto, DecodeJson): a second Clear() of a transaction
  // costs ~250 instructions. References from earlier calls become invalid.
  T* ForDecoding() {
    if (++uses_ % kCheckEvery == 0 && arena_.SpaceAllocated() > kMaxBytes) {
      arena_.Reset();  // runs the destructors of what lives on it
      message_ = google::protobuf::Arena::CreateMessage<T>(&arena_);
      ++renewals_;
    }
    return message_;
  }

  // How often the arena started afresh: whatever else lived on it (parts
  // kept aside from the message) is gone with each renewal.
  uint64_t renewals() const { return renewals_; }

  T& operator*() { return *message_; }
  const T& operator*() const { return *message_; }
  T* operator->() { return message_; }
  const T* operator->() const { return message_; }
  T* get() { return message_; }

 private:
  static constexpr size_t kMaxBytes = 1 << 20;
  static constexpr uint64_t kCheckEvery = 256;

  static google::protobuf::ArenaOptions Options() {
    google::protobuf::ArenaOptions options;
    options.start_block_size = 64 << 10;
    options.max_block_size = 256 << 10;
    return options;
  }

  google::protobuf::Arena arena_;
  T* message_ = nullptr;
  uint64_t uses_ = 0;
  uint64_t renewals_ = 0;
};

}  // namespace txscreen::engine

#endif  // TXSCREEN_ENGINE_REUSED_MESSAGE_H_
