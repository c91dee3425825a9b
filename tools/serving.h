// File: serving.h
//
// The streaming service with what runs around it -- metrics, the admin HTTP
// server, the hold view and the teller console -- started in order and
// stopped in reverse. Shared by `txscreen serve` and `txscreen demo`.
//
// Thread safety: Run() blocks its caller; Stop() and Reload() may be called
// from any thread.
#ifndef TXSCREEN_TOOLS_SERVING_H_
#define TXSCREEN_TOOLS_SERVING_H_

#include <memory>

#include "absl/status/statusor.h"
#include "serve/admin_server.h"
#include "serve/console.h"
#include "serve/hold_view.h"
#include "serve/serve_config.h"
#include "serve/service.h"
#include "serve/service_metrics.h"

namespace txscreen::tools {

class Serving {
 public:
  // Starts everything `config` asks for; errors name what failed. Logs the
  // configuration and the admin/console address.
  static absl::StatusOr<std::unique_ptr<Serving>> Start(
      const serve::ServeCommandOptions& config);
  ~Serving();

  serve::Service* service() { return service_.get(); }
  // The admin HTTP port (0 when HTTP is off).
  int http_port() const { return admin_ == nullptr ? 0 : admin_->port(); }

  // Runs the service until Stop(), then shuts the HTTP side down.
  absl::Status Run();
  void Stop() { service_->Stop(); }

 private:
  Serving() = default;
  std::unique_ptr<serve::Service> service_;
  std::unique_ptr<serve::ServiceMetrics> metrics_;
  std::unique_ptr<serve::HoldView> view_;
  std::unique_ptr<serve::Console> console_;
  std::unique_ptr<serve::AdminServer> admin_;
};

}  // namespace txscreen::tools

#endif  // TXSCREEN_TOOLS_SERVING_H_
