// File: admin_server.cc
#include "serve/admin_server.h"

#include <netdb.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <cerrno>
#include <exception>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "httplib.h"
#include "serve/http_util.h"
#include "serve/metrics.h"

namespace txscreen::serve {
namespace {

// Every body the admin and console API take is small (an override, a
// sign-in); the limit also keeps an override well inside a Kafka message
// (1 MB by default), so that a body the API takes can be produced.
constexpr size_t kMaxBodyBytes = size_t{64} << 10;
constexpr time_t kIoTimeoutSeconds = 5;
// An idle keep-alive connection holds a worker thread this long; with two
// workers, a scraper's idle connection must not starve the probes.
constexpr time_t kKeepAliveSeconds = 2;

// Debian's libcpp-httplib is compiled with a listen backlog of 5
// (CPPHTTPLIB_LISTEN_BACKLOG, fixed in the shared library): a burst of more
// connections overflows the accept queue, the kernel drops their SYNs and
// the clients retry a second later — longer than a kubelet probe's default
// timeout.
constexpr int kListenBacklog = 128;

constexpr char kTextType[] = "text/plain; charset=utf-8";
constexpr char kJsonType[] = "application/json";

std::string HostPort(absl::string_view host, int port) {
  if (absl::StrContains(host, ':')) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

void SetJsonError(httplib::Response& res, int status,
                  absl::string_view message) {
  res.status = status;
  res.set_content(JsonErrorBody(message), kJsonType);
}

// Compares in time that depends only on the length of `given`: neither
// where it differs from `expected` nor expected's length shows in the
// timing. `expected` must not be empty.
bool TokenMatches(absl::string_view expected, absl::string_view given) {
  unsigned diff = expected.size() == given.size() ? 0 : 1;
  for (size_t i = 0; i < given.size(); ++i) {
    diff |= static_cast<unsigned char>(given[i]) ^
            static_cast<unsigned char>(expected[i % expected.size()]);
  }
  return diff == 0;
}

// httplib reports a failed bind as false / -1 and nothing else; errno from
// the failed bind() survives (only close() and freeaddrinfo() follow it),
// and a host that does not resolve leaves errno at 0.
absl::Status BindError(const AdminServerOptions& options, int error) {
  const std::string address = HostPort(options.host, options.port);
  if (error != 0) {
    return absl::UnavailableError(absl::StrCat(
        "admin server: cannot listen on ", address, ": ",
        absl::AsciiStrToLower(std::generic_category().message(error))));
  }
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* result = nullptr;
  const int gai = getaddrinfo(options.host.c_str(), nullptr, &hints, &result);
  if (result != nullptr) freeaddrinfo(result);
  if (gai != 0) {
    return absl::UnavailableError(absl::StrCat(
        "admin server: cannot listen on ", address, ": cannot resolve host \"",
        options.host, "\": ", gai_strerror(gai)));
  }
  return absl::UnavailableError(
      absl::StrCat("admin server: cannot listen on ", address));
}

absl::Status CheckOptions(const AdminServerOptions& options) {
  if (options.host.empty()) {
    return absl::InvalidArgumentError(
        "admin server: host must not be empty (\"0.0.0.0\" listens on every "
        "interface)");
  }
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "admin server: port must be in [0, 65535], got ", options.port));
  }
  if (options.threads < 1 || options.threads > 256) {
    return absl::InvalidArgumentError(absl::StrCat(
        "admin server: threads must be in [1, 256], got ", options.threads));
  }
  return absl::OkStatus();
}

// httplib's server, with access to its listening socket.
class HttpServer : public httplib::Server {
 public:
  // On Linux, listen() on a listening socket only changes its backlog.
  void WidenBacklog(int backlog) { ::listen(svr_sock_, backlog); }
};

}  // namespace

// The request handlers, on httplib's worker threads. Immutable after Start.
struct AdminServer::Routes {
  AdminHandlers handlers;
  std::string token;

  void Healthz(const httplib::Request&, httplib::Response& res) const {
    if (handlers.live && !handlers.live()) {
      res.status = 503;
      res.set_content("not live\n", kTextType);
      return;
    }
    res.set_content("ok\n", kTextType);
  }

  void Readyz(const httplib::Request&, httplib::Response& res) const {
    if (handlers.ready) {
      auto [ready, reason] = handlers.ready();
      if (!ready) {
        res.status = 503;
        res.set_content(absl::StrCat("not ready: ", reason, "\n"), kTextType);
        return;
      }
    }
    res.set_content("ready\n", kTextType);
  }

  void Metrics(const httplib::Request&, httplib::Response& res) const {
    if (!handlers.metrics) {
      SetJsonError(res, 501, "metrics are not available");
      return;
    }
    res.set_content(handlers.metrics(), std::string(kPrometheusContentType));
  }

  void RulesStatus(const httplib::Request&, httplib::Response& res) const {
    if (!handlers.rules_status_json) {
      SetJsonError(res, 501, "the rules status is not available");
      return;
    }
    res.set_content(handlers.rules_status_json(), kJsonType);
  }

  void Reload(const httplib::Request& req, httplib::Response& res) const {
    if (token.empty()) {
      SetJsonError(res, 403,
                   "reloading through the API is disabled: no admin token "
                   "configured");
      return;
    }
    const std::optional<std::string> given =
        BearerToken(req.get_header_value("Authorization"));
    if (!given.has_value()) {
      res.set_header("WWW-Authenticate", "Bearer realm=\"txscreen-admin\"");
      SetJsonError(res, 401,
                   "missing admin token: send the header \"Authorization: "
                   "Bearer <token>\"");
      return;
    }
    if (!TokenMatches(token, *given)) {
      res.set_header(
          "WWW-Authenticate",
          "Bearer realm=\"txscreen-admin\", error=\"invalid_token\"");
      SetJsonError(res, 401, "invalid admin token");
      return;
    }
    if (!handlers.reload_rules) {
      SetJsonError(res, 501, "reloading the rules is not available");
      return;
    }
    absl::StatusOr<std::string> result = handlers.reload_rules();
    if (!result.ok()) {
      SetJsonError(res, 422, result.status().message());
      return;
    }
    res.set_content(*std::move(result), kJsonType);
  }

  // Responses with an error status and no body yet: httplib's own (no
  // route, body too large, unparsable request).
  httplib::Server::HandlerResponse Error(const httplib::Request& req,
                                         httplib::Response& res) const {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    switch (res.status) {
      case 404:
        SetJsonError(
            res, 404,
            absl::StrCat("no such endpoint: ", req.method, " ", req.path));
        break;
      case 413:
        // httplib reads a form body (curl's default type) only up to its
        // own, lower limit.
        if (absl::StartsWith(req.get_header_value("Content-Type"),
                             "application/x-www-form-urlencoded")) {
          SetJsonError(
              res, 413,
              absl::StrCat("request body too large for "
                           "application/x-www-form-urlencoded: the limit is ",
                           CPPHTTPLIB_FORM_URL_ENCODED_PAYLOAD_MAX_LENGTH,
                           " bytes; send JSON (Content-Type: "
                           "application/json), up to ",
                           kMaxBodyBytes, " bytes"));
        } else {
          SetJsonError(res, 413,
                       absl::StrCat("request body too large: the limit is ",
                                    kMaxBodyBytes, " bytes"));
        }
        break;
      case 400:
        SetJsonError(res, 400, "bad request");
        break;
      default:
        SetJsonError(res, res.status, absl::StrCat("HTTP ", res.status));
    }
    return httplib::Server::HandlerResponse::Handled;
  }
};

absl::StatusOr<std::unique_ptr<AdminServer>> AdminServer::Start(
    const AdminServerOptions& options, AdminHandlers handlers) {
  if (absl::Status status = CheckOptions(options); !status.ok()) {
    return status;
  }
  auto routes = std::make_unique<Routes>();
  routes->handlers = std::move(handlers);
  routes->token = options.token;
  const Routes* r = routes.get();

  auto server = std::make_unique<HttpServer>();
  const size_t threads = static_cast<size_t>(options.threads);
  server->new_task_queue = [threads] {
    return new httplib::ThreadPool(threads);
  };
  server->set_read_timeout(kIoTimeoutSeconds, 0);
  server->set_write_timeout(kIoTimeoutSeconds, 0);
  server->set_keep_alive_timeout(kKeepAliveSeconds);
  server->set_payload_max_length(kMaxBodyBytes);
  // httplib's default also sets SO_REUSEPORT, with which a second server
  // binds the same port without error and silently takes part of its
  // connections. SO_REUSEADDR alone still allows a restart while old
  // connections are in TIME_WAIT.
  server->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });

  using Request = httplib::Request;
  using Response = httplib::Response;
  server->Get("/healthz",
              [r](const Request& q, Response& s) { r->Healthz(q, s); });
  server->Get("/readyz",
              [r](const Request& q, Response& s) { r->Readyz(q, s); });
  server->Get("/metrics",
              [r](const Request& q, Response& s) { r->Metrics(q, s); });
  server->Get("/api/rules",
              [r](const Request& q, Response& s) { r->RulesStatus(q, s); });
  server->Post("/api/rules/reload",
               [r](const Request& q, Response& s) { r->Reload(q, s); });

  if (r->handlers.add_routes) r->handlers.add_routes(*server);

  // Known paths with another method: 405. httplib itself answers 404, and
  // routes HEAD to the GET handlers.
  const auto not_allowed = [](std::string allow) {
    return [allow = std::move(allow)](const Request& req, Response& res) {
      res.set_header("Allow", allow);
      SetJsonError(res, 405,
                   absl::StrCat("method ", req.method, " not allowed on ",
                                req.path, "; allowed: ", allow));
    };
  };
  for (const char* path : {"/healthz", "/readyz", "/metrics", "/api/rules"}) {
    const auto handler = not_allowed("GET, HEAD");
    server->Post(path, handler);
    server->Put(path, handler);
    server->Patch(path, handler);
    server->Delete(path, handler);
    server->Options(path, handler);
  }
  {
    const auto handler = not_allowed("POST");
    server->Get("/api/rules/reload", handler);
    server->Put("/api/rules/reload", handler);
    server->Patch("/api/rules/reload", handler);
    server->Delete("/api/rules/reload", handler);
    server->Options("/api/rules/reload", handler);
  }

  // Called for every response with status >= 400, ours included.
  server->set_error_handler(httplib::Server::HandlerWithResponse(
      [r](const Request& q, Response& s) { return r->Error(q, s); }));
  // Without this, httplib answers 500 with the exception's what() in a
  // response header.
  server->set_exception_handler(
      [](const Request&, Response& res, std::exception_ptr) {
        SetJsonError(res, 500, "internal error");
      });

  errno = 0;
  int port = -1;
  if (options.port == 0) {
    port = server->bind_to_any_port(options.host);
  } else if (server->bind_to_port(options.host, options.port)) {
    port = options.port;
  }
  if (port < 0) return BindError(options, errno);
  server->WidenBacklog(kListenBacklog);

  std::unique_ptr<AdminServer> admin(
      new AdminServer(std::move(routes), std::move(server), port));
  {
    absl::MutexLock lock(&admin->stop_mu_);
    AdminServer* self = admin.get();
    admin->listener_ = std::thread([self] {
      pthread_setname_np(pthread_self(), "txscreen-http");
      self->server_->listen_after_bind();
      self->listen_returned_.store(true);
    });
  }
  // httplib's stop() does nothing until the accept loop has begun
  // (is_running()), so a Stop() right after Start() would leave the thread
  // listening forever. Wait for the loop; it begins at once.
  while (!admin->server_->is_running() && !admin->listen_returned_.load()) {
    std::this_thread::yield();
  }
  if (admin->listen_returned_.load()) {
    admin->Stop();
    return absl::UnavailableError(absl::StrCat("admin server: listening on ",
                                               HostPort(options.host, port),
                                               " stopped at once"));
  }
  return admin;
}

AdminServer::AdminServer(std::unique_ptr<Routes> routes,
                         std::unique_ptr<httplib::Server> server, int port)
    : routes_(std::move(routes)), server_(std::move(server)), port_(port) {}

AdminServer::~AdminServer() { Stop(); }

void AdminServer::Stop() {
  absl::MutexLock lock(&stop_mu_);
  if (!listener_.joinable()) return;
  server_->stop();
  listener_.join();
}

}  // namespace txscreen::serve
