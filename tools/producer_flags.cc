#include "tools/producer_flags.h"

#include "absl/strings/str_cat.h"
#include "bench/open_loop.h"

namespace txscreen::tools {

std::string ParseProducerFlags(const CommandLine& cl, ProducerFlags* out) {
  const std::string format = cl.Get("format", "proto");
  if (format != "proto" && format != "json") {
    return absl::StrCat("--format is proto or json, not '", format, "'");
  }
  out->json = format == "json";
  out->topic = cl.Get("topic", "txscreen.transactions");
  out->settings = {{"bootstrap.servers", cl.Get("brokers")}};
  if (absl::Status s =
          bench::ParseKeyValues(cl.Get("producer"), &out->settings);
      !s.ok()) {
    return absl::StrCat("--producer: ", s.message());
  }
  return "";
}

}  // namespace txscreen::tools
