#include "engine/state_store.h"

namespace txscreen::engine {

std::string PartitionPrefix(int32_t partition) {
  uint32_t p = static_cast<uint32_t>(partition);
  std::string out(4, '\0');
  out[0] = static_cast<char>(p >> 24);
  out[1] = static_cast<char>(p >> 16);
  out[2] = static_cast<char>(p >> 8);
  out[3] = static_cast<char>(p);
  return out;
}

}  // namespace txscreen::engine
