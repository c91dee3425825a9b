// File: decision_wire.h
//
// The binary protobuf form of a plain decision — one without hits,
// reports, prompt, input errors, scores or notes: what nearly every
// transaction gets — written straight from its fields. Every decision is
// stored in its transaction's dedupe record, and protobuf's generic
// serializer (sizes, then bytes, sub-message by sub-message) cost more than
// the rest of the record. The bytes are exactly SerializeAsString()'s.
//
// Thread safety: stateless functions.
#ifndef TXSCREEN_ENGINE_DECISION_WIRE_H_
#define TXSCREEN_ENGINE_DECISION_WIRE_H_

#include <cstddef>
#include <cstdint>

#include "txscreen/v1/decision.pb.h"

namespace txscreen::engine {

// The serialized size of `decision` when it is plain (see above), else 0
// (also for an empty decision, whose serialized form is empty anyway).
size_t PlainDecisionSize(const txscreen::v1::Decision& decision);

// Writes the plain `decision` (PlainDecisionSize > 0) at `out`; returns the
// end of what it wrote.
uint8_t* WritePlainDecision(const txscreen::v1::Decision& decision,
                            uint8_t* out);

}  // namespace txscreen::engine

#endif  // TXSCREEN_ENGINE_DECISION_WIRE_H_
