#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "serve/log.h"
#include "serve/serve_config.h"
#include "tools/commands.h"
#include "tools/serving.h"

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

  absl::StatusOr<std::unique_ptr<Serving>> serving = Serving::Start(*config);
  if (!serving.ok()) {
    serve::Log(serve::LogLevel::kError,
               std::string(serving.status().message()));
    return 1;
  }
  serve::Service* s = (*serving)->service();
  if (s->embedded()) {
    // The one line on stdout: where clients connect.
    std::cout << "embedded kafka: " << s->bootstrap() << std::endl;
  }
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
  absl::Status run = (*serving)->Run();
  // Wake the signal thread if Run ended by itself.
  if (signal_thread.joinable()) {
    pthread_kill(signal_thread.native_handle(), SIGTERM);
    signal_thread.join();
  }
  serving->reset();
  return run.ok() ? 0 : 1;
}

}  // namespace txscreen::tools
