// File: admin_server.h
//
// The admin HTTP server of `txscreen serve` (cpp-httplib), for probes,
// scrapes and operators. It serves what the handlers given to Start()
// answer; it knows nothing of Kafka or rules itself.
//
//   GET  /healthz           200 "ok\n", or 503 when live() is false
//   GET  /readyz            200 "ready\n", or 503 "not ready: <reason>\n"
//   GET  /metrics           200, Prometheus text format 0.0.4
//   GET  /api/rules         200, application/json from rules_status_json()
//   POST /api/rules/reload  needs "Authorization: Bearer <token>":
//                             403 no token configured (reload disabled),
//                             401 token missing or wrong,
//                             200 the handler's JSON on success,
//                             422 {"error":"..."} when the handler fails
//                             (an invalid rule file: the old rules stay)
//
// GET endpoints answer HEAD too. Every error is a JSON body
// {"error":"..."}: unknown path 404, a known path with another method 405
// with an Allow header, a body over 1 MiB 413, a handler left unset 501, a
// handler that throws 500 (without the exception's text).
// The token is compared in constant time and never logged or echoed.
//
// Thread safety: Start, Stop, port and the destructor may be called from
// any thread. The AdminHandlers callbacks are invoked on the server's worker
// threads, up to `threads` of them at once, so they must be thread-safe;
// they may still be running until Stop() returns, and must not call Stop()
// (nor destroy the server) themselves.
#ifndef TXSCREEN_SERVE_ADMIN_SERVER_H_
#define TXSCREEN_SERVE_ADMIN_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace txscreen::serve {

struct AdminHandlers {
  // Liveness: false when the process should be restarted. Unset: live.
  std::function<bool()> live;
  // Readiness, and the reason when not ready. Unset: ready.
  std::function<std::pair<bool, std::string>()> ready;
  // The metrics in Prometheus text format (MetricsRegistry::Render).
  std::function<std::string()> metrics;
  // The rules status as a JSON document.
  std::function<std::string()> rules_status_json;
  // Reloads the rule files; a JSON body on success. On error the old rules
  // must stay active; the status message is shown to the caller.
  // Concurrent reload requests call it concurrently.
  std::function<absl::StatusOr<std::string>()> reload_rules;
  // More routes (the teller console), added to the server before it
  // starts. They answer errors with JSON bodies themselves.
  std::function<void(httplib::Server&)> add_routes;
};

struct AdminServerOptions {
  // Address to listen on: an IP address or a host name. "0.0.0.0" (or
  // "::") for every interface. Default: loopback only.
  std::string host = "127.0.0.1";
  // 0 = any free port (see AdminServer::port()).
  int port = 0;
  // Bearer token for the mutating endpoints; empty = they are refused.
  std::string token;
  // Worker threads, each serving one connection at a time (an idle
  // keep-alive connection holds its worker up to 2 s). Default: 2.
  int threads = 2;
};

class AdminServer {
 public:
  // Binds the socket and starts serving on a background thread; returns
  // once requests are being accepted. Errors: InvalidArgument for bad
  // options; Unavailable when the address cannot be bound, naming
  // host:port and the reason ("address already in use"). Another process
  // cannot share the port (no SO_REUSEPORT).
  static absl::StatusOr<std::unique_ptr<AdminServer>> Start(
      const AdminServerOptions& options, AdminHandlers handlers);

  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;
  // Stops.
  ~AdminServer();

  // The port listened on (the one chosen when options.port was 0).
  int port() const { return port_; }

  // Closes the listening socket, waits for the requests in progress to
  // finish and the threads to exit. The port is free when it returns.
  // Idempotent.
  void Stop();

 private:
  struct Routes;  // the request handlers; defined in admin_server.cc

  AdminServer(std::unique_ptr<Routes> routes,
              std::unique_ptr<httplib::Server> server, int port);

  // Declared before server_: httplib's handlers refer to it.
  const std::unique_ptr<Routes> routes_;
  const std::unique_ptr<httplib::Server> server_;
  const int port_;
  std::atomic<bool> listen_returned_{false};

  absl::Mutex stop_mu_;
  std::thread listener_ ABSL_GUARDED_BY(stop_mu_);
};

}  // namespace txscreen::serve

#endif  // TXSCREEN_SERVE_ADMIN_SERVER_H_
