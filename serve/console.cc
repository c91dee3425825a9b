#include "serve/console.h"

#include <openssl/rand.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/clock.h"
#include "engine/transaction_codec.h"
#include "httplib.h"
#include "serve/http_util.h"
#include "serve/log.h"
#include "txscreen/v1/console.pb.h"

namespace txscreen::serve {

namespace v1 = ::txscreen::v1;

namespace {

constexpr char kJsonType[] = "application/json";
constexpr char kCookie[] = "txscreen_session";

void JsonError(httplib::Response& res, int status, absl::string_view message) {
  res.status = status;
  res.set_content(JsonErrorBody(message), kJsonType);
}

// The same with the words in Chinese too (error_zh), for what a teller or
// supervisor at the counter may meet; the console shows the one of its
// language.
void JsonError(httplib::Response& res, int status, absl::string_view message,
               absl::string_view message_zh) {
  res.status = status;
  res.set_content(
      absl::StrCat("{\"error\":\"", JsonEscape(message), "\",\"error_zh\":\"",
                   JsonEscape(message_zh), "\"}"),
      kJsonType);
}

std::string RandomHex(int bytes) {
  std::string raw(static_cast<size_t>(bytes), '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), bytes);
  return absl::BytesToHexString(raw);
}

std::string StaffJson(const engine::Staff& s) {
  return absl::StrCat("{\"staff_id\":\"", JsonEscape(s.id), "\",\"name\":\"",
                      JsonEscape(s.name), "\",\"branch_id\":\"",
                      JsonEscape(s.branch_id), "\",\"role\":\"",
                      engine::RoleName(s.role), "\"}");
}

std::string CookieValue(const httplib::Request& req, absl::string_view name) {
  for (absl::string_view part :
       absl::StrSplit(req.get_header_value("Cookie"), ';')) {
    part = absl::StripAsciiWhitespace(part);
    if (absl::ConsumePrefix(&part, name) && absl::ConsumePrefix(&part, "=")) {
      return std::string(part);
    }
  }
  return "";
}

bool AnswersHolds(engine::StaffRole role) {
  return role == engine::StaffRole::kTeller ||
         role == engine::StaffRole::kSupervisor;
}

}  // namespace

Console::Console(Service* service, HoldView* view, ConsoleOptions options)
    : service_(service), view_(view), options_(options) {}

void Console::Register(httplib::Server& server) {
  using httplib::Request;
  using httplib::Response;
  server.Get("/console", [](const Request&, Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; script-src 'self' 'unsafe-inline'; "
                   "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'");
    res.set_header("X-Frame-Options", "DENY");
    res.set_content(kConsolePage, "text/html; charset=utf-8");
  });
  server.Post("/api/console/login",
              [this](const Request& q, Response& s) { Login(q, s); });
  server.Post("/api/console/logout",
              [this](const Request& q, Response& s) { Logout(q, s); });
  server.Get("/api/console/me",
             [this](const Request& q, Response& s) { Me(q, s); });
  server.Get("/api/holds",
             [this](const Request& q, Response& s) { ListHolds(q, s); });
  server.Get("/api/holds/stream",
             [this](const Request& q, Response& s) { Stream(q, s); });
  server.Post("/api/overrides",
              [this](const Request& q, Response& s) { SubmitOverride(q, s); });
  server.Get("/api/stats/overrides",
             [this](const Request& q, Response& s) { Stats(q, s); });
}

std::optional<engine::Staff> Console::Authenticate(const httplib::Request& req,
                                                   httplib::Response& res,
                                                   bool mutating) {
  std::shared_ptr<const engine::Roster> roster = service_->roster();
  const std::string authorization = req.get_header_value("Authorization");
  if (!absl::StripAsciiWhitespace(authorization).empty()) {
    const std::optional<std::string> bearer = BearerToken(authorization);
    if (!bearer.has_value()) {
      JsonError(res, 401, "use \"Authorization: Bearer <staff token>\"");
      return std::nullopt;
    }
    const engine::Staff* s = roster->FindByToken(*bearer);
    if (s == nullptr) {
      JsonError(res, 401, "unknown staff token");
      return std::nullopt;
    }
    return *s;
  }
  const std::string id = CookieValue(req, kCookie);
  const std::optional<Session> session = LiveSession(id);
  if (!session.has_value()) {
    JsonError(res, 401, "not signed in", "未登录或登录已失效，请重新登录");
    return std::nullopt;
  }
  if (mutating && req.get_header_value("X-Txscreen-Console") != "1") {
    JsonError(res, 403, "missing header X-Txscreen-Console: 1");
    return std::nullopt;
  }
  const engine::Staff* s = roster->Find(session->staff_id);
  if (s == nullptr) {
    JsonError(res, 401, "no longer in the staff roster", "您已不在员工名册中");
    return std::nullopt;
  }
  if (s->token_sha256 != session->token_sha256) {
    // The roster gave this person another token (or took it away) since
    // the sign-in: the old token's session ends with it.
    {
      absl::MutexLock lock(&mu_);
      sessions_.erase(id);
    }
    JsonError(res, 401, "your staff token has changed; sign in again",
              "您的员工令牌已更换，请重新登录");
    return std::nullopt;
  }
  return *s;
}

void Console::Login(const httplib::Request& req, httplib::Response& res) {
  if (req.get_header_value("X-Txscreen-Console") != "1") {
    JsonError(res, 403, "missing header X-Txscreen-Console: 1");
    return;
  }
  v1::ConsoleLogin login;
  if (absl::Status s = engine::DecodeJson(req.body, "a login", &login);
      !s.ok()) {
    JsonError(res, 400, s.message());
    return;
  }
  const engine::Staff* staff = service_->roster()->FindByToken(login.token());
  if (staff == nullptr) {
    Log(LogLevel::kWarning,
        absl::StrCat("console: sign-in with an unknown token from ",
                     req.remote_addr));
    JsonError(res, 401, "unknown staff token", "员工令牌无效");
    return;
  }
  const std::string id = RandomHex(32);
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    absl::erase_if(sessions_,
                   [&](const auto& e) { return e.second.expires < now; });
    sessions_[id] = Session{staff->id, now + options_.session_lifetime,
                            staff->token_sha256};
  }
  Log(LogLevel::kInfo,
      absl::StrCat("console: ", staff->id, " (", engine::RoleName(staff->role),
                   ", branch ", staff->branch_id, ") signed in"));
  res.set_header("Set-Cookie",
                 absl::StrCat(kCookie, "=", id,
                              "; Path=/; HttpOnly; SameSite=Strict; Max-Age=",
                              absl::ToInt64Seconds(options_.session_lifetime)));
  res.set_content(StaffJson(*staff), kJsonType);
}

void Console::Logout(const httplib::Request& req, httplib::Response& res) {
  const std::string id = CookieValue(req, kCookie);
  if (!id.empty()) {
    absl::MutexLock lock(&mu_);
    sessions_.erase(id);
  }
  res.set_header("Set-Cookie",
                 absl::StrCat(kCookie,
                              "=; Path=/; HttpOnly; SameSite=Strict; "
                              "Max-Age=0"));
  res.set_content("{}", kJsonType);
}

void Console::Me(const httplib::Request& req, httplib::Response& res) {
  std::optional<engine::Staff> staff = Authenticate(req, res, false);
  if (!staff) return;
  res.set_content(StaffJson(*staff), kJsonType);
}

std::optional<std::string> Console::VisibleBranch(const engine::Staff& staff,
                                                  const httplib::Request& req,
                                                  httplib::Response& res) {
  const std::string asked = req.get_param_value("branch");
  if (AnswersHolds(staff.role)) {
    if (!asked.empty() && asked != staff.branch_id) {
      JsonError(res, 403,
                absl::StrCat("you see the holds of your branch ",
                             staff.branch_id, " only"));
      return std::nullopt;
    }
    return staff.branch_id;
  }
  return asked;
}

std::string Console::HoldsJson(absl::string_view branch) const {
  std::string out = "{\"holds\":[";
  std::string one;
  bool first = true;
  for (const v1::Hold& h : view_->Holds(branch, /*recent=*/true)) {
    if (!engine::EncodeJson(h, &one).ok()) continue;
    absl::StrAppend(&out, first ? "" : ",", one);
    first = false;
  }
  absl::StrAppend(&out, "]}");
  return out;
}

void Console::ListHolds(const httplib::Request& req, httplib::Response& res) {
  std::optional<engine::Staff> staff = Authenticate(req, res, false);
  if (!staff) return;
  std::optional<std::string> branch = VisibleBranch(*staff, req, res);
  if (!branch) return;
  res.set_header("Cache-Control", "no-store");
  res.set_content(HoldsJson(*branch), kJsonType);
}

void Console::Stream(const httplib::Request& req, httplib::Response& res) {
  std::optional<engine::Staff> staff = Authenticate(req, res, false);
  if (!staff) return;
  std::optional<std::string> branch = VisibleBranch(*staff, req, res);
  if (!branch) return;
  if (streams_.fetch_add(1) >= options_.max_streams) {
    streams_.fetch_sub(1);
    JsonError(res, 503, "too many open event streams; try again later",
              "连接数已满，请稍后再试");
    return;
  }
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Accel-Buffering", "no");
  auto last = std::make_shared<uint64_t>(~uint64_t{0});
  auto idle = std::make_shared<absl::Time>(absl::Now());
  std::string bearer =
      BearerToken(req.get_header_value("Authorization")).value_or("");
  std::string session = bearer.empty() ? CookieValue(req, kCookie) : "";
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, branch = *branch, last, idle, bearer = std::move(bearer),
       session = std::move(session),
       staff_id = staff->id](size_t, httplib::DataSink& sink) {
        if (stopping_.load() || !StillSignedIn(bearer, session, staff_id)) {
          sink.done();
          return true;
        }
        const uint64_t version =
            *last == ~uint64_t{0}
                ? view_->version()
                : view_->WaitForChange(*last, absl::Milliseconds(500));
        if (version != *last) {
          *last = version;
          *idle = absl::Now();
          const std::string event =
              absl::StrCat("event: holds\ndata: ", HoldsJson(branch), "\n\n");
          return sink.write(event.data(), event.size());
        }
        if (absl::Now() - *idle > absl::Seconds(15)) {
          *idle = absl::Now();
          static constexpr char kPing[] = ": keep-alive\n\n";
          return sink.write(kPing, sizeof(kPing) - 1);
        }
        return sink.is_writable();
      },
      [this](bool) { streams_.fetch_sub(1); });
}

bool Console::StillSignedIn(const std::string& bearer,
                            const std::string& session,
                            const std::string& staff_id) {
  std::shared_ptr<const engine::Roster> roster = service_->roster();
  if (!bearer.empty()) {
    const engine::Staff* s = roster->FindByToken(bearer);
    return s != nullptr && s->id == staff_id;
  }
  const std::optional<Session> live = LiveSession(session);
  if (!live.has_value()) return false;
  const engine::Staff* s = roster->Find(staff_id);
  return s != nullptr && s->token_sha256 == live->token_sha256;
}

std::optional<Console::Session> Console::LiveSession(const std::string& id) {
  if (id.empty()) return std::nullopt;
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  if (it->second.expires < absl::Now()) {
    sessions_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

void Console::SubmitOverride(const httplib::Request& req,
                             httplib::Response& res) {
  std::optional<engine::Staff> staff = Authenticate(req, res, true);
  if (!staff) return;
  if (!AnswersHolds(staff->role)) {
    JsonError(res, 403,
              absl::StrCat("your role is ", engine::RoleName(staff->role),
                           "; holds are answered by tellers and supervisors"));
    return;
  }
  v1::ConsoleOverride in;
  if (absl::Status s = engine::DecodeJson(req.body, "an override", &in);
      !s.ok()) {
    JsonError(res, 400, s.message());
    return;
  }
  if (in.transaction_id().empty()) {
    JsonError(res, 400, "transaction_id is required");
    return;
  }
  std::optional<v1::Hold> hold = view_->Find(in.transaction_id());
  if (!hold) {
    JsonError(
        res, 404,
        absl::StrCat("there is no hold for transaction ", in.transaction_id()),
        absl::StrCat("交易 ", in.transaction_id(), " 没有待处理的拦截"));
    return;
  }
  v1::Override o;
  o.set_override_id(in.override_id().empty() ? RandomHex(16)
                                             : in.override_id());
  o.set_transaction_id(in.transaction_id());
  o.set_customer_id(hold->customer_id());
  o.set_teller_id(staff->id);
  o.set_outcome(in.outcome());
  *o.mutable_answers() = in.answers();
  o.set_reason(in.reason());
  engine::SetTimestampMicros(absl::ToUnixMicros(absl::Now()), o.mutable_at());
  if (!in.supervisor_token().empty()) {
    const engine::Staff* supervisor =
        service_->roster()->FindByToken(in.supervisor_token());
    if (supervisor == nullptr) {
      Log(LogLevel::kWarning,
          absl::StrCat("console: ", staff->id,
                       " gave an unknown supervisor token for ",
                       in.transaction_id()));
      JsonError(res, 403, "the supervisor token is not recognised",
                "主管令牌无效，请主管本人重新输入");
      return;
    }
    o.set_authorizer_id(supervisor->id);
  }
  absl::StatusOr<v1::OverrideResult> result =
      view_->Submit(o, hold->partition(), options_.submit_timeout);
  if (absl::IsDeadlineExceeded(result.status())) {
    res.status = 202;
    res.set_content(
        absl::StrCat("{\"override_id\":\"", JsonEscape(o.override_id()),
                     "\",\"pending\":true,\"error\":\"",
                     JsonEscape(result.status().message()), "\"}"),
        kJsonType);
    return;
  }
  if (!result.ok()) {
    JsonError(res, 503, result.status().message(),
              "系统暂时无法提交，请稍后重试");
    return;
  }
  std::string body;
  if (!engine::EncodeJson(*result, &body).ok()) body = "{}";
  res.status = result->accepted() ? 200 : 422;
  res.set_content(body, kJsonType);
}

void Console::Stats(const httplib::Request& req, httplib::Response& res) {
  std::optional<engine::Staff> staff = Authenticate(req, res, false);
  if (!staff) return;
  if (staff->role == engine::StaffRole::kTeller) {
    JsonError(res, 403,
              "override statistics are for supervisors, "
              "compliance and operators");
    return;
  }
  res.set_content(service_->OverrideStatsJson(), kJsonType);
}

}  // namespace txscreen::serve
