// File: producer_flags.h
//
// The flags of the commands that produce transactions to Kafka (gen,
// replay): --brokers, --topic, --format proto|json, --producer K=V,...
#ifndef TXSCREEN_TOOLS_PRODUCER_FLAGS_H_
#define TXSCREEN_TOOLS_PRODUCER_FLAGS_H_

#include <string>

#include "serve/kafka_util.h"
#include "tools/command_line.h"

namespace txscreen::tools {

struct ProducerFlags {
  serve::KafkaSettings settings;  // bootstrap.servers and --producer
  std::string topic;              // default txscreen.transactions
  bool json = false;              // --format json
};

// Reads the flags into *out. Returns "" or the problem, for the usage
// message ("--format is proto or json, not 'xml'").
std::string ParseProducerFlags(const CommandLine& cl, ProducerFlags* out);

}  // namespace txscreen::tools

#endif  // TXSCREEN_TOOLS_PRODUCER_FLAGS_H_
