#include "serve/kafka_util.h"

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "librdkafka/rdkafka.h"
#include "librdkafka/rdkafka_mock.h"

namespace txscreen::serve {

namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const {
    if (p != nullptr) Free(p);
  }
};
using AdminOptionsPtr = std::unique_ptr<
    rd_kafka_AdminOptions_t,
    Deleter<rd_kafka_AdminOptions_t, rd_kafka_AdminOptions_destroy>>;
using QueuePtr =
    std::unique_ptr<rd_kafka_queue_t,
                    Deleter<rd_kafka_queue_t, rd_kafka_queue_destroy>>;
using EventPtr =
    std::unique_ptr<rd_kafka_event_t,
                    Deleter<rd_kafka_event_t, rd_kafka_event_destroy>>;

}  // namespace

bool IsSecretSetting(absl::string_view key) {
  const std::string k = absl::AsciiStrToLower(key);
  for (absl::string_view word :
       {"password", "secret", "jaas", "token", "key.pem", "keystore", "ssl.key",
        "ssl_key", "private", "credential",
        // "principal=... extension_apikey=...": librdkafka's own list of
        // sensitive properties has it.
        "oauthbearer.config"}) {
    if (absl::StrContains(k, word)) return true;
  }
  return false;
}

std::string ShownSetting(absl::string_view key, absl::string_view value) {
  return IsSecretSetting(key) ? "******" : std::string(value);
}

absl::StatusOr<std::unique_ptr<RdKafka::Conf>> MakeKafkaConf(
    const KafkaSettings& settings) {
  std::unique_ptr<RdKafka::Conf> conf(
      RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  for (const auto& [key, value] : settings) {
    std::string error;
    if (conf->set(key, value, error) != RdKafka::Conf::CONF_OK) {
      return absl::InvalidArgumentError(absl::StrCat(
          "kafka setting ", key, "=", ShownSetting(key, value), ": ", error));
    }
  }
  return conf;
}

absl::Status CreateTopics(RdKafka::Handle* handle,
                          const std::vector<TopicSpec>& topics,
                          int timeout_ms) {
  if (topics.empty()) return absl::OkStatus();
  rd_kafka_t* rk = handle->c_ptr();
  std::vector<rd_kafka_NewTopic_t*> new_topics;
  struct FreeTopics {
    std::vector<rd_kafka_NewTopic_t*>* v;
    ~FreeTopics() {
      if (!v->empty()) rd_kafka_NewTopic_destroy_array(v->data(), v->size());
    }
  } free_topics{&new_topics};
  char error[512];
  for (const TopicSpec& spec : topics) {
    rd_kafka_NewTopic_t* t = rd_kafka_NewTopic_new(
        spec.name.c_str(), spec.partitions, -1, error, sizeof(error));
    if (t == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("topic ", spec.name, ": ", error));
    }
    new_topics.push_back(t);
    for (const auto& [k, v] : spec.configs) {
      if (rd_kafka_NewTopic_set_config(t, k.c_str(), v.c_str()) !=
          RD_KAFKA_RESP_ERR_NO_ERROR) {
        return absl::InvalidArgumentError(
            absl::StrCat("topic ", spec.name, ": bad config ", k, "=", v));
      }
    }
  }
  AdminOptionsPtr options(
      rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS));
  rd_kafka_AdminOptions_set_operation_timeout(options.get(), timeout_ms, error,
                                              sizeof(error));
  rd_kafka_AdminOptions_set_request_timeout(options.get(), timeout_ms, error,
                                            sizeof(error));
  QueuePtr queue(rd_kafka_queue_new(rk));
  rd_kafka_CreateTopics(rk, new_topics.data(), new_topics.size(), options.get(),
                        queue.get());
  EventPtr event(rd_kafka_queue_poll(queue.get(), timeout_ms + 2000));
  if (event == nullptr) {
    return absl::DeadlineExceededError(
        absl::StrCat("creating topics: no answer within ", timeout_ms, " ms"));
  }
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat(
        "creating topics: ", rd_kafka_event_error_string(event.get())));
  }
  const rd_kafka_CreateTopics_result_t* result =
      rd_kafka_event_CreateTopics_result(event.get());
  size_t n = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_CreateTopics_result_topics(result, &n);
  for (size_t i = 0; i < n; ++i) {
    rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR ||
        err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      continue;
    }
    const char* why = rd_kafka_topic_result_error_string(results[i]);
    return absl::UnavailableError(
        absl::StrCat("creating topic ", rd_kafka_topic_result_name(results[i]),
                     ": ", why != nullptr ? why : rd_kafka_err2str(err)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, std::string>> TopicConfig(
    RdKafka::Handle* handle, const std::string& topic, int timeout_ms) {
  rd_kafka_t* rk = handle->c_ptr();
  rd_kafka_ConfigResource_t* resource =
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
  struct FreeResource {
    rd_kafka_ConfigResource_t* r;
    ~FreeResource() { rd_kafka_ConfigResource_destroy(r); }
  } free_resource{resource};
  char error[512];
  AdminOptionsPtr options(
      rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS));
  rd_kafka_AdminOptions_set_request_timeout(options.get(), timeout_ms, error,
                                            sizeof(error));
  QueuePtr queue(rd_kafka_queue_new(rk));
  rd_kafka_DescribeConfigs(rk, &resource, 1, options.get(), queue.get());
  EventPtr event(rd_kafka_queue_poll(queue.get(), timeout_ms + 2000));
  if (event == nullptr) {
    return absl::DeadlineExceededError(absl::StrCat(
        "describing topic ", topic, ": no answer within ", timeout_ms, " ms"));
  }
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(
        absl::StrCat("describing topic ", topic, ": ",
                     rd_kafka_event_error_string(event.get())));
  }
  const rd_kafka_DescribeConfigs_result_t* result =
      rd_kafka_event_DescribeConfigs_result(event.get());
  size_t n = 0;
  const rd_kafka_ConfigResource_t** resources =
      rd_kafka_DescribeConfigs_result_resources(result, &n);
  if (n != 1) {
    return absl::UnavailableError(
        absl::StrCat("describing topic ", topic, ": no answer for it"));
  }
  if (rd_kafka_resp_err_t err = rd_kafka_ConfigResource_error(resources[0]);
      err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* why = rd_kafka_ConfigResource_error_string(resources[0]);
    const std::string message =
        absl::StrCat("describing topic ", topic, ": ",
                     why != nullptr ? why : rd_kafka_err2str(err));
    return err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
               ? absl::NotFoundError(message)
               : absl::UnavailableError(message);
  }
  size_t count = 0;
  const rd_kafka_ConfigEntry_t** entries =
      rd_kafka_ConfigResource_configs(resources[0], &count);
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < count; ++i) {
    const char* value = rd_kafka_ConfigEntry_value(entries[i]);
    out[rd_kafka_ConfigEntry_name(entries[i])] = value != nullptr ? value : "";
  }
  return out;
}

absl::StatusOr<int> PartitionCount(RdKafka::Handle* handle,
                                   const std::string& topic, int timeout_ms) {
  // Metadata of all topics: asking for one topic by name makes a broker
  // with auto-creation (and the embedded cluster) create it.
  RdKafka::Metadata* raw = nullptr;
  RdKafka::ErrorCode err = handle->metadata(true, nullptr, &raw, timeout_ms);
  std::unique_ptr<RdKafka::Metadata> metadata(raw);
  if (err != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(
        absl::StrCat("metadata of topic ", topic, ": ", RdKafka::err2str(err)));
  }
  for (const RdKafka::TopicMetadata* tm : *metadata->topics()) {
    if (tm->topic() != topic) continue;
    if (tm->err() == RdKafka::ERR_UNKNOWN_TOPIC_OR_PART) break;
    if (tm->err() != RdKafka::ERR_NO_ERROR) {
      return absl::UnavailableError(absl::StrCat(
          "metadata of topic ", topic, ": ", RdKafka::err2str(tm->err())));
    }
    return static_cast<int>(tm->partitions()->size());
  }
  return absl::NotFoundError(absl::StrCat("topic ", topic, " does not exist"));
}

absl::StatusOr<std::unique_ptr<EmbeddedKafka>> EmbeddedKafka::Create(
    const std::vector<TopicSpec>& topics) {
  for (const TopicSpec& t : topics) {
    if (t.partitions < 1 || t.partitions > 1000) {
      return absl::InvalidArgumentError(absl::StrCat(
          "embedded kafka: topic ", t.name,
          ": partitions must be from 1 to 1000, got ", t.partitions));
    }
  }
  std::unique_ptr<EmbeddedKafka> kafka(new EmbeddedKafka());
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // This handle only owns the cluster; it never connects anywhere.
  rd_kafka_conf_set(conf, "bootstrap.servers", "", error, sizeof(error));
  rd_kafka_conf_set(conf, "log_level", "3", error, sizeof(error));
  kafka->handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  if (kafka->handle_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InternalError(
        absl::StrCat("embedded kafka: cannot create a handle: ", error));
  }
  kafka->cluster_ = rd_kafka_mock_cluster_new(kafka->handle_, 1);
  if (kafka->cluster_ == nullptr) {
    return absl::InternalError("embedded kafka: cannot start the cluster");
  }
  kafka->bootstrap_ = rd_kafka_mock_cluster_bootstraps(kafka->cluster_);
  for (const TopicSpec& t : topics) {
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(
        kafka->cluster_, t.name.c_str(), t.partitions, 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::InternalError(absl::StrCat("embedded kafka: topic ", t.name,
                                              ": ", rd_kafka_err2str(err)));
    }
  }
  return kafka;
}

void EmbeddedKafka::FailNextRequests(int16_t api_key,
                                     const std::vector<int>& errors) {
  std::vector<rd_kafka_resp_err_t> codes;
  for (int e : errors) codes.push_back(static_cast<rd_kafka_resp_err_t>(e));
  rd_kafka_mock_push_request_errors_array(cluster_, api_key, codes.size(),
                                          codes.data());
}

void EmbeddedKafka::SetRoundTripTime(int ms) {
  rd_kafka_mock_broker_set_rtt(cluster_, /*broker_id=*/1, ms);
}

void EmbeddedKafka::SetBrokerDown(bool down) {
  if (down) {
    rd_kafka_mock_broker_set_down(cluster_, /*broker_id=*/1);
  } else {
    rd_kafka_mock_broker_set_up(cluster_, /*broker_id=*/1);
  }
}

EmbeddedKafka::~EmbeddedKafka() {
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
  if (handle_ != nullptr) rd_kafka_destroy(handle_);
}

}  // namespace txscreen::serve
