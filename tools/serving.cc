#include "tools/serving.h"

#include "absl/strings/str_cat.h"
#include "serve/log.h"

namespace txscreen::tools {

absl::StatusOr<std::unique_ptr<Serving>> Serving::Start(
    const serve::ServeCommandOptions& config) {
  std::unique_ptr<Serving> serving(new Serving());
  for (const std::string& line : config.shown) {
    serve::Log(serve::LogLevel::kInfo, absl::StrCat("config: ", line));
  }
  absl::StatusOr<std::unique_ptr<serve::Service>> service =
      serve::Service::Create(config.serve);
  if (!service.ok()) {
    return absl::Status(
        service.status().code(),
        absl::StrCat("cannot start: ", service.status().message()));
  }
  serving->service_ = std::move(*service);
  serve::Service* s = serving->service_.get();
  serving->metrics_ = std::make_unique<serve::ServiceMetrics>(s);
  s->set_observer(serving->metrics_.get());
  if (!config.http) return serving;

  serve::HoldViewOptions view_options;
  view_options.bootstrap = s->bootstrap();
  view_options.kafka = config.serve.kafka;
  view_options.topics = config.serve.topics;
  view_options.input_format = config.serve.input_format;
  view_options.output_format = config.serve.output_format;
  view_options.client_id =
      absl::StrCat("txscreen-console-", config.serve.group);
  absl::StatusOr<std::unique_ptr<serve::HoldView>> view =
      serve::HoldView::Start(view_options);
  if (!view.ok()) {
    return absl::Status(
        view.status().code(),
        absl::StrCat("teller console: ", view.status().message()));
  }
  serving->view_ = std::move(*view);
  serve::ConsoleOptions console_options;
  serving->console_ = std::make_unique<serve::Console>(s, serving->view_.get(),
                                                       console_options);
  serve::Console* c = serving->console_.get();
  serve::ServiceMetrics* metrics = serving->metrics_.get();
  serve::AdminHandlers handlers;
  handlers.live = [] { return true; };
  handlers.ready = [s] {
    std::string why;
    bool ready = s->Ready(&why);
    return std::make_pair(ready, why);
  };
  handlers.metrics = [metrics] { return metrics->Render(); };
  handlers.rules_status_json = [s] { return s->RulesStatusJson(); };
  handlers.reload_rules = [s]() -> absl::StatusOr<std::string> {
    if (absl::Status r = s->Reload(); !r.ok()) return r;
    return s->RulesStatusJson();
  };
  handlers.add_routes = [c](httplib::Server& server) { c->Register(server); };
  serve::AdminServerOptions options;
  // Each console event stream holds a worker thread.
  options.threads = console_options.max_streams + 2;
  options.host = config.http_host;
  options.port = config.http_port;
  options.token = config.admin_token;
  absl::StatusOr<std::unique_ptr<serve::AdminServer>> admin =
      serve::AdminServer::Start(options, std::move(handlers));
  if (!admin.ok()) {
    return absl::Status(admin.status().code(),
                        absl::StrCat("admin http: ", admin.status().message()));
  }
  serving->admin_ = std::move(*admin);
  serve::Log(
      serve::LogLevel::kInfo,
      absl::StrCat("admin http on ", config.http_host, ":",
                   serving->admin_->port(), "; teller console at http://",
                   config.http_host, ":", serving->admin_->port(), "/console",
                   config.admin_token.empty()
                       ? " (no admin token: reload via API disabled)"
                       : ""));
  return serving;
}

absl::Status Serving::Run() {
  absl::Status run = service_->Run();
  if (console_ != nullptr) console_->Shutdown();
  if (admin_ != nullptr) admin_->Stop();
  return run;
}

Serving::~Serving() {
  if (console_ != nullptr) console_->Shutdown();
  if (admin_ != nullptr) admin_->Stop();
  admin_.reset();
  console_.reset();
  view_.reset();
  service_.reset();
  metrics_.reset();
}

}  // namespace txscreen::tools
