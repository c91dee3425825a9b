// File: admin_server_test.cc
//
// Real HTTP over loopback with httplib's client; fast, no Kafka.
#include "serve/admin_server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "serve/json_util.h"
#include "serve/metrics.h"

namespace txscreen::serve {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kToken[] = "s3cret-t0ken";

std::unique_ptr<AdminServer> StartOrDie(AdminHandlers handlers,
                                        std::string token = "") {
  AdminServerOptions options;
  options.token = std::move(token);
  auto server = AdminServer::Start(options, std::move(handlers));
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

httplib::Client ClientFor(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2);
  client.set_read_timeout(5);
  return client;
}

httplib::Result Get(const AdminServer& server, const std::string& path) {
  return ClientFor(server.port()).Get(path);
}

httplib::Result Reload(const AdminServer& server,
                       const httplib::Headers& headers) {
  return ClientFor(server.port())
      .Post("/api/rules/reload", headers, "", "application/json");
}

httplib::Headers Bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

// Reload handlers that count their calls.
AdminHandlers ReloadHandlers(std::atomic<int>* calls,
                             absl::StatusOr<std::string> result) {
  AdminHandlers handlers;
  handlers.reload_rules = [calls, result] {
    calls->fetch_add(1);
    return result;
  };
  return handlers;
}

TEST(AdminServerTest, Healthz) {
  std::atomic<bool> live{true};
  AdminHandlers handlers;
  handlers.live = [&] { return live.load(); };
  auto server = StartOrDie(std::move(handlers));
  ASSERT_NE(server, nullptr);

  auto res = Get(*server, "/healthz");
  ASSERT_TRUE(res) << res.error();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "ok\n");
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; charset=utf-8");

  live = false;
  res = Get(*server, "/healthz");
  ASSERT_TRUE(res) << res.error();
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->body, "not live\n");

  res = ClientFor(server->port()).Head("/healthz");
  ASSERT_TRUE(res) << res.error();
  EXPECT_EQ(res->status, 503);
}

TEST(AdminServerTest, Readyz) {
  std::atomic<bool> ready{false};
  AdminHandlers handlers;
  handlers.ready = [&]() -> std::pair<bool, std::string> {
    if (ready) return {true, ""};
    return {false, "restoring partition 3 from the changelog"};
  };
  auto server = StartOrDie(std::move(handlers));
  ASSERT_NE(server, nullptr);

  auto res = Get(*server, "/readyz");
  ASSERT_TRUE(res) << res.error();
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->body, "not ready: restoring partition 3 from the changelog\n");

  ready = true;
  res = Get(*server, "/readyz");
  ASSERT_TRUE(res) << res.error();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "ready\n");
}

TEST(AdminServerTest, UnsetProbesAreHealthyAndUnsetDataIs501) {
  auto server = StartOrDie(AdminHandlers());
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(Get(*server, "/healthz")->status, 200);
  EXPECT_EQ(Get(*server, "/readyz")->status, 200);

  auto res = Get(*server, "/metrics");
  ASSERT_TRUE(res) << res.error();
  EXPECT_EQ(res->status, 501);
  EXPECT_EQ(res->body, R"({"error":"metrics are not available"})");
  res = Get(*server, "/api/rules");
  ASSERT_TRUE(res) << res.error();
  EXPECT_EQ(res->status, 501);
  EXPECT_EQ(res->body, R"({"error":"the rules status is not available"})");
}

TEST(AdminServerTest, MetricsInPrometheusTextFormat) {
  MetricsRegistry registry;
  registry.AddCounter("txscreen_decisions_total", "Decisions.")->Increment(7);
  AdminHandlers handlers;
  handlers.metrics = [&] { return registry.Render(); };
  auto server = StartOrDie(std::move(handlers));
  ASSERT_NE(server, nullptr);

  auto res = Get(*server, "/metrics");
  ASSERT_TRUE(res) << res.error();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"),
            "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(res->body,
            "# HELP txscreen_decisions_total Decisions.\n"
            "# TYPE txscreen_decisions_total counter\n"
            "txscreen_decisions_total 7\n");
}

TEST(AdminServerTest, RulesStatus) {
  AdminHandlers handlers;
  handlers.rules_status_json = [] { return R"({"version":"2024-05-01"})"; };
  auto server = StartOrDie(std::move(handlers));
  ASSERT_NE(server, nullptr);

  auto res = Get(*server, "/api/rules");
  ASSERT_TRUE(res) << res.error();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(res->body, R"({"version":"2024-05-01"})");
}

TEST(AdminServerTest, ReloadWithoutConfiguredTokenIs403) {
  std::atomic<int> calls{0};
  auto server = StartOrDie(ReloadHandlers(&calls, std::string("{}")));
  ASSERT_NE(server, nullptr);

  for (const httplib::Headers& headers :
       {httplib::Headers(), Bearer(""), Bearer("anything")}) {
    auto res = Reload(*server, headers);
    ASSERT_TRUE(res) << res.error();
    EXPECT_EQ(res->status, 403);
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    EXPECT_EQ(
        res->body,
        R"({"error":"reloading through the API is disabled: no admin token configured"})");
  }
  EXPECT_EQ(calls, 0);
}

TEST(AdminServerTest, ReloadWithoutTokenIs401) {
  std::atomic<int> calls{0};
  auto server = StartOrDie(ReloadHandlers(&calls, std::string("{}")), kToken);
  ASSERT_NE(server, nullptr);

  for (const httplib::Headers& headers :
       {httplib::Headers(), httplib::Headers{{"Authorization", kToken}},
        httplib::Headers{{"Authorization", std::string("Basic ") + kToken}}}) {
    auto res = Reload(*server, headers);
    ASSERT_TRUE(res) << res.error();
    EXPECT_EQ(res->status, 401);
    EXPECT_EQ(
        res->body,
        R"({"error":"missing admin token: send the header \"Authorization: Bearer <token>\""})");
    EXPECT_EQ(res->get_header_value("WWW-Authenticate"),
              "Bearer realm=\"txscreen-admin\"");
  }
  EXPECT_EQ(calls, 0);
}

TEST(AdminServerTest, ReloadWithWrongTokenIs401AndDoesNotEchoIt) {
  std::atomic<int> calls{0};
  auto server = StartOrDie(ReloadHandlers(&calls, std::string("{}")), kToken);
  ASSERT_NE(server, nullptr);

  const std::string token = kToken;
  for (const std::string& wrong :
       {std::string("wrong"), std::string(""), token.substr(0, 5), token + "x",
        token.substr(1), std::string("S3CRET-T0KEN")}) {
    auto res = Reload(*server, Bearer(wrong));
    ASSERT_TRUE(res) << res.error();
    EXPECT_EQ(res->status, 401) << wrong;
    EXPECT_EQ(res->body, R"({"error":"invalid admin token"})");
    EXPECT_EQ(res->get_header_value("WWW-Authenticate"),
              "Bearer realm=\"txscreen-admin\", error=\"invalid_token\"");
    for (const auto& [name, value] : res->headers) {
      EXPECT_THAT(value, Not(HasSubstr(token))) << name;
    }
  }
  EXPECT_EQ(calls, 0);
}

TEST(AdminServerTest, ReloadWithRightTokenReturnsTheHandlersJson) {
  std::atomic<int> calls{0};
  auto server = StartOrDie(
      ReloadHandlers(&calls, std::string(R"({"version":"v2","rules":41})")),
      kToken);
  ASSERT_NE(server, nullptr);

  auto res = Reload(*server, Bearer(kToken));
  ASSERT_TRUE(res) << res.error();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(res->body, R"({"version":"v2","rules":41})");
  EXPECT_EQ(calls, 1);

  // The scheme is case-insensitive (RFC 7235); spaces around the token are
  // not part of it.
  res = Reload(*server,
               {{"Authorization", std::string("bearer   ") + kToken + " "}});
  ASSERT_TRUE(res) << res.error();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(calls, 2);
}

TEST(AdminServerTest, ReloadErrorIs422WithTheEscapedMessage) {
  std::atomic<int> calls{0};
  auto server = StartOrDie(
      ReloadHandlers(&calls, absl::InvalidArgumentError(
                                 "rules/velocity.yaml:3: unknown field "
                                 "\"scroe\"\n\tin C:\\rules")),
      kToken);
  ASSERT_NE(server, nullptr);

  auto res = Reload(*server, Bearer(kToken));
  ASSERT_TRUE(res) << res.error();
  EXPECT_EQ(res->status, 422);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(
      res->body,
      R"({"error":"rules/velocity.yaml:3: unknown field \"scroe\"\n\tin C:\\rules"})");
  EXPECT_EQ(calls, 1);
}

TEST(AdminServerTest, HandlerExceptionIs500WithoutDetails) {
  AdminHandlers handlers;
  handlers.metrics = []() -> std::string {
    throw std::runtime_error("secret detail");
  };
  auto server = StartOrDie(std::move(handlers));
  ASSERT_NE(server, nullptr);

  auto res = Get(*server, "/metrics");
  ASSERT_TRUE(res) << res.error();
  EXPECT_EQ(res->status, 500);
  EXPECT_EQ(res->body, R"({"error":"internal error"})");
  for (const auto& [name, value] : res->headers) {
    EXPECT_THAT(value, Not(HasSubstr("secret"))) << name;
  }
  EXPECT_EQ(Get(*server, "/healthz")->status, 200);
}

TEST(AdminServerTest, UnknownPathIs404Json) {
  auto server = StartOrDie(AdminHandlers());
  ASSERT_NE(server, nullptr);

  auto res = Get(*server, "/admin");
  ASSERT_TRUE(res) << res.error();
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(res->body, R"({"error":"no such endpoint: GET /admin"})");

  res = ClientFor(server->port()).Post("/healthz/x", "", "text/plain");
  ASSERT_TRUE(res) << res.error();
  EXPECT_EQ(res->status, 404);
}

TEST(AdminServerTest, WrongMethodIs405WithAllow) {
  auto server = StartOrDie(AdminHandlers(), kToken);
  ASSERT_NE(server, nullptr);
  httplib::Client client = ClientFor(server->port());

  auto res = client.Post("/healthz", "", "text/plain");
  ASSERT_TRUE(res) << res.error();
  EXPECT_EQ(res->status, 405);
  EXPECT_EQ(res->get_header_value("Allow"), "GET, HEAD");
  EXPECT_EQ(
      res->body,
      R"({"error":"method POST not allowed on /healthz; allowed: GET, HEAD"})");

  res = client.Delete("/metrics");
  ASSERT_TRUE(res) << res.error();
  EXPECT_EQ(res->status, 405);
  EXPECT_EQ(res->get_header_value("Allow"), "GET, HEAD");

  res = client.Get("/api/rules/reload", Bearer(kToken));
  ASSERT_TRUE(res) << res.error();
  EXPECT_EQ(res->status, 405);
  EXPECT_EQ(res->get_header_value("Allow"), "POST");

  res = client.Put("/api/rules/reload", Bearer(kToken), "", "text/plain");
  ASSERT_TRUE(res) << res.error();
  EXPECT_EQ(res->status, 405);
  EXPECT_EQ(res->get_header_value("Allow"), "POST");
}

TEST(AdminServerTest, BodyOver64KiBIs413) {
  std::atomic<int> calls{0};
  auto server = StartOrDie(ReloadHandlers(&calls, std::string("{}")), kToken);
  ASSERT_NE(server, nullptr);
  httplib::Client client = ClientFor(server->port());

  auto res = client.Post("/api/rules/reload", Bearer(kToken),
                         std::string((64 << 10) + 1, 'x'), "text/plain");
  ASSERT_TRUE(res) << res.error();
  EXPECT_EQ(res->status, 413);
  EXPECT_EQ(res->body,
            R"({"error":"request body too large: the limit is 65536 bytes"})");
  EXPECT_EQ(calls, 0);

  // A form body (curl's default type) has httplib's lower limit: said so.
  res = client.Post("/api/rules/reload", Bearer(kToken), std::string(8193, 'x'),
                    "application/x-www-form-urlencoded");
  ASSERT_TRUE(res) << res.error();
  EXPECT_EQ(res->status, 413);
  EXPECT_EQ(res->body,
            R"({"error":"request body too large for )"
            R"(application/x-www-form-urlencoded: the limit is 8192 bytes; )"
            R"(send JSON (Content-Type: application/json), up to 65536 )"
            R"(bytes"})");
  EXPECT_EQ(calls, 0);

  res = client.Post("/api/rules/reload", Bearer(kToken),
                    std::string(64 << 10, 'x'), "text/plain");
  ASSERT_TRUE(res) << res.error();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(calls, 1);
}

TEST(AdminServerTest, PortInUseFailsNamingTheAddress) {
  auto first = StartOrDie(AdminHandlers());
  ASSERT_NE(first, nullptr);

  AdminServerOptions options;
  options.port = first->port();
  auto second = AdminServer::Start(options, AdminHandlers());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(second.status().message(),
            absl::StrCat("admin server: cannot listen on 127.0.0.1:",
                         first->port(), ": address already in use"));
  // The first one still answers.
  EXPECT_EQ(Get(*first, "/healthz")->status, 200);
}

TEST(AdminServerTest, PortOfAReusePortListenerIsInUse) {
  // Another program listening with SO_REUSEPORT (as httplib does by
  // default) must not share the port with us.
  const int sock = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(sock, 0);
  int yes = 1;
  ASSERT_EQ(setsockopt(sock, SOL_SOCKET, SO_REUSEPORT, &yes, sizeof(yes)), 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  ASSERT_EQ(bind(sock, reinterpret_cast<sockaddr*>(&address), sizeof(address)),
            0);
  ASSERT_EQ(listen(sock, 5), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(getsockname(sock, reinterpret_cast<sockaddr*>(&address), &length),
            0);
  const int port = ntohs(address.sin_port);

  AdminServerOptions options;
  options.port = port;
  auto server = AdminServer::Start(options, AdminHandlers());
  close(sock);
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(server.status().message(),
              HasSubstr(absl::StrCat("127.0.0.1:", port)));
}

TEST(AdminServerTest, AddressNotOnThisHostFails) {
  AdminServerOptions options;
  options.host = "192.0.2.1";  // TEST-NET-1: never a local address
  options.port = 8089;
  auto server = AdminServer::Start(options, AdminHandlers());
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().message(),
            "admin server: cannot listen on 192.0.2.1:8089: cannot assign "
            "requested address");
}

TEST(AdminServerTest, InvalidOptions) {
  AdminServerOptions options;
  options.port = 70000;
  EXPECT_EQ(AdminServer::Start(options, {}).status().message(),
            "admin server: port must be in [0, 65535], got 70000");
  options = AdminServerOptions();
  options.threads = 0;
  EXPECT_EQ(AdminServer::Start(options, {}).status().message(),
            "admin server: threads must be in [1, 256], got 0");
  options = AdminServerOptions();
  options.host = "";
  EXPECT_EQ(AdminServer::Start(options, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(AdminServerTest, StopIsIdempotentAndFreesThePort) {
  auto server = StartOrDie(AdminHandlers());
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  ASSERT_GT(port, 0);
  EXPECT_EQ(Get(*server, "/healthz")->status, 200);

  server->Stop();
  server->Stop();
  auto res = ClientFor(port).Get("/healthz");
  EXPECT_FALSE(res);
  EXPECT_EQ(res.error(), httplib::Error::Connection);

  AdminServerOptions options;
  options.port = port;
  auto again = AdminServer::Start(options, AdminHandlers());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->port(), port);
  EXPECT_EQ(Get(**again, "/healthz")->status, 200);
  server.reset();  // the destructor after Stop() is fine too
}

TEST(AdminServerTest, StopRightAfterStartReturns) {
  for (int i = 0; i < 20; ++i) {
    auto server = StartOrDie(AdminHandlers());
    ASSERT_NE(server, nullptr);
    server->Stop();
  }
}

TEST(AdminServerTest, ConcurrentRequests) {
  std::atomic<int> scrapes{0};
  AdminHandlers handlers;
  handlers.metrics = [&] {
    scrapes.fetch_add(1);
    return std::string("up 1\n");
  };
  auto server = StartOrDie(std::move(handlers));
  ASSERT_NE(server, nullptr);

  constexpr int kThreads = 8;
  constexpr int kRequests = 50;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      httplib::Client client = ClientFor(server->port());
      for (int i = 0; i < kRequests; ++i) {
        auto res = client.Get("/metrics");
        if (res && res->status == 200 && res->body == "up 1\n") ++ok;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(ok, kThreads * kRequests);
  EXPECT_EQ(scrapes, kThreads * kRequests);
}

TEST(JsonEscapeTest, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(JsonEscape(""), "");
  EXPECT_EQ(JsonEscape("plain text"), "plain text");
  EXPECT_EQ(JsonEscape("say \"hi\" C:\\dir"), R"(say \"hi\" C:\\dir)");
  EXPECT_EQ(JsonEscape("a\nb\rc\td\be\ff"), R"(a\nb\rc\td\be\ff)");
  EXPECT_EQ(JsonEscape(std::string("\x01\x1f\0x", 4)),
            R"(\u0001\u001f\u0000x)");
  EXPECT_EQ(JsonEscape("/ and \x7f stay"), "/ and \x7f stay");
}

TEST(JsonEscapeTest, KeepsUtf8AndReplacesMalformedBytes) {
  EXPECT_EQ(JsonEscape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(JsonEscape("Latin-1 caf\xe9!"), R"(Latin-1 caf\ufffd!)");
  EXPECT_EQ(JsonEscape("cut \xc3"), R"(cut \ufffd)");
  EXPECT_EQ(JsonEscape("\xc0\xaf"), R"(\ufffd\ufffd)");            // overlong
  EXPECT_EQ(JsonEscape("\xed\xa0\x80"), R"(\ufffd\ufffd\ufffd)");  // surrogate
  EXPECT_EQ(JsonEscape("\xf4\x90\x80\x80"),
            R"(\ufffd\ufffd\ufffd\ufffd)");  // above U+10FFFF
}

}  // namespace
}  // namespace txscreen::serve
