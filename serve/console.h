// File: console.h
//
// The teller console: a web page and its HTTP API, served by the admin
// server of `txscreen serve`.
//
//   GET  /console                the page (Chinese and English)
//   POST /api/console/login      {"token": "..."} -> the staff member, and a
//                                session cookie (HttpOnly, SameSite=Strict)
//   POST /api/console/logout
//   GET  /api/console/me         the signed-in staff member
//   GET  /api/holds[?branch=B]   {"holds": [Hold...]} pending and recently
//                                resolved, newest first
//   GET  /api/holds/stream       the same as server-sent events ("holds"),
//                                sent at once and on every change
//   POST /api/overrides          ConsoleOverride -> OverrideResult: 200
//                                accepted, 422 refused (the reason in
//                                English and Chinese), 202 sent but no
//                                result within 10 s, 404 no such hold
//   GET  /api/stats/overrides    per-teller override statistics
//
// Authentication: the session cookie from login, or "Authorization: Bearer
// <staff token>" (tokens are the roster's; only their SHA-256 is kept).
// Tellers and supervisors see only their branch's holds; compliance and
// operators see every branch (or ?branch=). Only tellers and supervisors
// answer holds; a release names its authoriser by the supervisor's own
// token. Statistics: supervisors, compliance, operators. Requests
// authenticated by cookie that change something must carry the header
// "X-Txscreen-Console: 1" (a cross-site form cannot). Tokens are never
// logged.
//
// Thread safety: the handlers run on the admin server's worker threads.
#ifndef TXSCREEN_SERVE_CONSOLE_H_
#define TXSCREEN_SERVE_CONSOLE_H_

#include <atomic>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/roster.h"
#include "serve/hold_view.h"
#include "serve/service.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace txscreen::serve {

struct ConsoleOptions {
  // Server-sent event streams open at once; more are refused (503), so
  // that the probes keep a worker thread.
  int max_streams = 14;
  absl::Duration session_lifetime = absl::Hours(12);
  absl::Duration submit_timeout = absl::Seconds(10);
};

class Console {
 public:
  // `service` and `view` must outlive the console.
  Console(Service* service, HoldView* view, ConsoleOptions options = {});

  // Adds the routes to `server`.
  void Register(httplib::Server& server);
  // Ends the event streams (before the server stops).
  void Shutdown() { stopping_.store(true); }

 private:
  struct Session {
    std::string staff_id;
    absl::Time expires;
    // The token signed in with (its SHA-256, as in the roster): a session
    // ends when the roster gives the person another token, or none.
    std::string token_sha256;
  };

  // The authenticated staff member (a copy: the roster may be reloaded),
  // or nullopt after answering 401 / 403 in `res`. `mutating`: the CSRF
  // header is required for cookie sessions.
  std::optional<engine::Staff> Authenticate(const httplib::Request& req,
                                            httplib::Response& res,
                                            bool mutating);
  void Login(const httplib::Request& req, httplib::Response& res);
  void Logout(const httplib::Request& req, httplib::Response& res);
  void Me(const httplib::Request& req, httplib::Response& res);
  void ListHolds(const httplib::Request& req, httplib::Response& res);
  void Stream(const httplib::Request& req, httplib::Response& res);
  // Whether what `req` signed in with (its bearer token, else its session
  // cookie) still stands for `staff_id`: an open event stream checks it
  // as it goes, so sign-out, expiry or a changed token ends it.
  bool StillSignedIn(const std::string& bearer, const std::string& session,
                     const std::string& staff_id);
  // The session with cookie value `id`, unless there is none or it has
  // expired (then it is forgotten).
  std::optional<Session> LiveSession(const std::string& id);
  void SubmitOverride(const httplib::Request& req, httplib::Response& res);
  void Stats(const httplib::Request& req, httplib::Response& res);
  // The branch whose holds `staff` may see for this request ("" = all), or
  // nullopt after answering 403.
  std::optional<std::string> VisibleBranch(const engine::Staff& staff,
                                           const httplib::Request& req,
                                           httplib::Response& res);
  std::string HoldsJson(absl::string_view branch) const;

  Service* service_;
  HoldView* view_;
  ConsoleOptions options_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> streams_{0};
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Session> sessions_ ABSL_GUARDED_BY(mu_);
};

// The page served at /console.
extern const char kConsolePage[];

}  // namespace txscreen::serve

#endif  // TXSCREEN_SERVE_CONSOLE_H_
