#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "serve/admin_server.h"
#include "serve/console.h"
#include "serve/hold_view.h"
#include "serve/log.h"
#include "serve/serve_config.h"
#include "serve/service.h"
#include "serve/service_metrics.h"
#include "tools/commands.h"

namespace txscreen::tools {

int ServeCommand(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      std::cout << serve::ServeUsage();
      return 0;
    }
  }
  const char* env_token = std::getenv("TXSCREEN_ADMIN_TOKEN");
  absl::StatusOr<serve::ServeCommandOptions> config =
      serve::ParseServeConfig(args, env_token != nullptr ? env_token : "");
  if (!config.ok()) {
    std::cerr << "txscreen serve: " << config.status().message() << "\n"
              << serve::ServeUsage();
    return 2;
  }
  // Signals are taken by one thread with sigwait: blocked here, before any
  // other thread (librdkafka's, the HTTP server's) exists.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  for (const std::string& line : config->shown) {
    serve::Log(serve::LogLevel::kInfo, absl::StrCat("config: ", line));
  }
  absl::StatusOr<std::unique_ptr<serve::Service>> service =
      serve::Service::Create(config->serve);
  if (!service.ok()) {
    serve::Log(serve::LogLevel::kError,
               absl::StrCat("cannot start: ", service.status().message()));
    return 1;
  }
  if ((*service)->embedded()) {
    // The one line on stdout: where clients connect.
    std::cout << "embedded kafka: " << (*service)->bootstrap() << std::endl;
  }
  serve::ServiceMetrics metrics(service->get());
  (*service)->set_observer(&metrics);

  std::unique_ptr<serve::AdminServer> admin;
  std::unique_ptr<serve::HoldView> view;
  std::unique_ptr<serve::Console> console;
  if (config->http) {
    serve::Service* s = service->get();
    serve::HoldViewOptions view_options;
    view_options.bootstrap = s->bootstrap();
    view_options.kafka = config->serve.kafka;
    view_options.topics = config->serve.topics;
    view_options.input_format = config->serve.input_format;
    view_options.output_format = config->serve.output_format;
    view_options.client_id =
        absl::StrCat("txscreen-console-", config->serve.group);
    absl::StatusOr<std::unique_ptr<serve::HoldView>> started_view =
        serve::HoldView::Start(view_options);
    if (!started_view.ok()) {
      serve::Log(
          serve::LogLevel::kError,
          absl::StrCat("teller console: ", started_view.status().message()));
      return 1;
    }
    view = std::move(*started_view);
    serve::ConsoleOptions console_options;
    console = std::make_unique<serve::Console>(s, view.get(), console_options);
    serve::Console* c = console.get();
    serve::AdminHandlers handlers;
    handlers.live = [] { return true; };
    handlers.ready = [s] {
      std::string why;
      bool ready = s->Ready(&why);
      return std::make_pair(ready, why);
    };
    handlers.metrics = [&metrics] { return metrics.Render(); };
    handlers.rules_status_json = [s] { return s->RulesStatusJson(); };
    handlers.reload_rules = [s]() -> absl::StatusOr<std::string> {
      if (absl::Status r = s->Reload(); !r.ok()) return r;
      return s->RulesStatusJson();
    };
    handlers.add_routes = [c](httplib::Server& server) { c->Register(server); };
    serve::AdminServerOptions options;
    // Each console event stream holds a worker thread.
    options.threads = console_options.max_streams + 2;
    options.host = config->http_host;
    options.port = config->http_port;
    options.token = config->admin_token;
    absl::StatusOr<std::unique_ptr<serve::AdminServer>> started =
        serve::AdminServer::Start(options, std::move(handlers));
    if (!started.ok()) {
      serve::Log(serve::LogLevel::kError,
                 absl::StrCat("admin http: ", started.status().message()));
      return 1;
    }
    admin = std::move(*started);
    serve::Log(serve::LogLevel::kInfo,
               absl::StrCat("admin http on ", config->http_host, ":",
                            admin->port(), "; teller console at http://",
                            config->http_host, ":", admin->port(), "/console",
                            config->admin_token.empty()
                                ? " (no admin token: reload via API disabled)"
                                : ""));
  }

  serve::Service* s = service->get();
  std::thread signal_thread([s, signals] {
    while (true) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) continue;
      if (sig == SIGHUP) {
        serve::Log(serve::LogLevel::kInfo, "SIGHUP: reloading rules");
        s->Reload().IgnoreError();  // logged and counted by Reload
        continue;
      }
      serve::Log(serve::LogLevel::kInfo,
                 absl::StrCat(sig == SIGTERM ? "SIGTERM" : "SIGINT",
                              ": finishing in-flight work"));
      s->Stop();
      return;
    }
  });
  absl::Status run = s->Run();
  // Wake the signal thread if Run ended by itself.
  if (signal_thread.joinable()) {
    pthread_kill(signal_thread.native_handle(), SIGTERM);
    signal_thread.join();
  }
  if (console != nullptr) console->Shutdown();
  if (admin != nullptr) admin->Stop();
  view.reset();
  service->reset();
  return run.ok() ? 0 : 1;
}

}  // namespace txscreen::tools
