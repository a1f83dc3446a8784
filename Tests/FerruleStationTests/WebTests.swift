import FerruleCore
import FerruleProtocol
import FerruleConfig
import FerruleStation
import FerruleWeb
import Foundation
import FerruleTesting
import Testing

/// The web API without the page: every role rule, sign-in, sessions, CSRF, rate limits, served
/// by the real web app on a real port to a real HTTP client.
@Suite(.serialized, .shutsDownStations) struct WebAPITests {
    static let users: [(id: String, pin: String, role: StationRole)] = [
        ("op1", "1111", .operator), ("sup1", "2222", .supervisor), ("eng1", "3333", .engineer)
    ]

    @Test func everyRoleRuleHoldsOnTheAPI() async throws {
        let bench = try await WebBench.start()
        defer { Task { await bench.stop() } }
        for user in Self.users {
            let client = WebClient(bench.base)
            #expect(try await client.signIn(user.id, user.pin).status == 200)
            for kind in ControlRequest.Kind.allCases {
                guard let needed = WebAccess.role(for: kind) else {
                    #expect(try await client.send("POST", "/api/\(kind.rawValue)", body: "{}").status == 404, "\(kind) is socket-only")
                    continue
                }
                // Empty requests: a permitted one fails on its missing fields (400) or runs, never 403.
                let status = try await client.send("POST", "/api/\(kind.rawValue)", body: "{}").status
                if user.role >= needed {
                    #expect(status != 403 && status != 401, "\(user.id) may \(kind): got \(status)")
                } else {
                    #expect(status == 403, "\(user.id) may not \(kind): got \(status)")
                }
            }
            let reload = try await client.send("POST", "/api/reload").status
            #expect((reload == 403) == (user.role < .engineer), "\(user.id) reload: \(reload)")
        }
    }

    @Test func nothingButTheSignInAnswersWithoutASession() async throws {
        let bench = try await WebBench.start()
        defer { Task { await bench.stop() } }
        let anonymous = WebClient(bench.base)
        for path in [
            "/api/me", "/api/status", "/api/history", "/api/delivery", "/api/events", "/charts/yield.svg",
            "/reports/\(UUID()).json"
        ] {
            #expect(try await anonymous.send("GET", path).status == 401, "GET \(path)")
        }
        for kind in ["test", "abort", "reference", "cordReset", "answer", "fault", "reload", "signout"] {
            let r = try await anonymous.send("POST", "/api/\(kind)", body: #"{"fixture": 1}"#)
            #expect(r.status == 401, "POST \(kind)")
            #expect(r.json?["error"]?["key"]?.string == "error.signIn")
        }
        #expect(try await anonymous.send("GET", "/").status == 200)
        #expect(try await anonymous.send("GET", "/assets/app.js").status == 200)
    }

    @Test func theReportNamesTheSignedInOperatorNeverAFreeFormOne() async throws {
        let bench = try await WebBench.start()
        defer { Task { await bench.stop() } }
        let op = WebClient(bench.base)
        try await op.signIn("op1", "1111")
        let started = try await op.send(
            "POST", "/api/test", body: #"{"serial": "WEB-OP", "partNumber": "FT-MTP12-SMAPC-B-LL", "fixture": 1, "operator": "mallory"}"#)
        #expect(started.status == 200, "\(started.body)")
        var report: JSONValue?
        try await waitUntil("the unit's report") {
            let r = try await op.send("GET", "/api/report?serial=WEB-OP")
            guard let id = r.json?.array?.first?["reportId"]?.string, r.json?.array?.first?["verdict"]?.string != nil else { return false }
            report = try await op.send("GET", "/reports/\(id).json").json
            return report != nil
        }
        #expect(report?["operator"]?.string == "op1")
        #expect(report?["requestedBy"]?.string?.hasPrefix("web user op1 from 127.0.0.1") == true)
    }

    @Test func stateChangingRequestsNeedTheTokenAndTheStationsOwnOrigin() async throws {
        let bench = try await WebBench.start()
        defer { Task { await bench.stop() } }
        let op = WebClient(bench.base)
        let signedIn = try await op.signIn("op1", "1111")
        let cookie = try #require(signedIn.headers["set-cookie"].first)
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && !cookie.contains("Secure"))
        let body = #"{"fixture": 1}"#
        #expect(try await op.send("POST", "/api/abort", body: body, csrf: false).status == 403)
        #expect(try await op.send("POST", "/api/abort", body: body, csrf: false, headers: [("X-CSRF-Token", "forged")]).status == 403)
        let crossSite = try await op.send("POST", "/api/abort", body: body, headers: [("Origin", "http://evil.example")])
        #expect(crossSite.status == 403)
        #expect(crossSite.body.contains("another site"))
        // With the token, from the page's own origin: through to the station (nothing to abort: 409).
        let host = String(bench.base.dropFirst("http://".count))
        #expect(try await op.send("POST", "/api/abort", body: body, headers: [("Origin", "http://" + host)]).status == 409)
        // Signing out ends the session for every later request.
        #expect(try await op.send("POST", "/api/signout").status == 204)
        #expect(try await op.send("GET", "/api/me").status == 401)
    }

    @Test func underTLSTheSessionCookieIsSecure() async throws {
        var spec = try #require(try StationConfig.parse(inProcessConfigText(), file: "inprocess.yaml").http)
        (spec.tlsCertificate, spec.tlsKey) = try WebBench.selfSignedCertificate()
        let bench = try await WebBench.start(spec: spec)
        defer { Task { await bench.stop() } }
        #expect(bench.base.hasPrefix("https://127.0.0.1:"))
        let c = WebClient(bench.base)
        let r = try await c.signIn("op1", "1111")
        #expect(r.status == 200)
        let cookie = try #require(r.headers["set-cookie"].first)
        #expect(cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "\(cookie)")
        #expect(try await c.send("GET", "/api/status").status == 200)
    }

    @Test func wrongPinsAreRateLimitedPerUserAndPerAddress() async throws {
        var spec = try #require(try StationConfig.parse(inProcessConfigText(), file: "inprocess.yaml").http)
        spec.maxFailedSignIns = 3
        let bench = try await WebBench.start(spec: spec)
        defer { Task { await bench.stop() } }
        let c = WebClient(bench.base)
        for _ in 0..<3 { #expect(try await c.signIn("op1", "0000").status == 401) }
        let locked = try await c.signIn("op1", "1111")
        #expect(locked.status == 429, "the right PIN waits too once locked")
        #expect(Int(locked.headers["retry-after"].first ?? "") ?? 0 > 0)
        // The address counted the same three failures: another user from this panel waits as well.
        #expect(try await c.signIn("sup1", "2222").status == 429)
        // From the locked address even an unknown id waits; unlocked, it would get a wrong PIN's answer.
        let unknown = try await WebClient(bench.base).send("POST", "/api/signin", body: #"{"id": "nobody", "pin": "1"}"#, csrf: false)
        #expect(unknown.status == 429 || unknown.json?["error"]?["message"]?.string == "wrong id or PIN")
    }

    @Test func anIdleSessionIsSignedOutAndEachRequestSlidesIt() async throws {
        var spec = try #require(try StationConfig.parse(inProcessConfigText(), file: "inprocess.yaml").http)
        spec.idleSignOutSeconds = 2
        let bench = try await WebBench.start(spec: spec)
        defer { Task { await bench.stop() } }
        let c = WebClient(bench.base)
        try await c.signIn("op1", "1111")
        // The behaviour under test is time itself: these waits are the idle periods, not synchronisation.
        let clock = ContinuousClock()
        let signedIn = clock.now
        try await clock.sleep(until: signedIn + .milliseconds(1200))
        #expect(try await c.send("GET", "/api/me").status == 200)
        try await clock.sleep(until: signedIn + .milliseconds(2600))
        #expect(try await c.send("GET", "/api/me").status == 200, "the request at 1.2 s moved the sign-out on")
        let lastRequest = clock.now
        try await clock.sleep(until: lastRequest + .milliseconds(3000))
        #expect(try await c.send("GET", "/api/me").status == 401, "2 s without a request: signed out")
    }

    /// A session that runs out of idle time is a sign-out the line hears (CFX OperatorDeactivated),
    /// stamped when the time ran out, with no request needed to notice it.
    @Test func anIdleSignOutIsToldToTheLine() async throws {
        var spec = try #require(try StationConfig.parse(inProcessConfigText(), file: "inprocess.yaml").http)
        spec.idleSignOutSeconds = 1
        let bench = try await WebBench.start(spec: spec)
        defer { Task { await bench.stop() } }
        let signedIn = Date()
        try await WebClient(bench.base).signIn("op1", "1111")
        var deactivated: [LineMessage] = []
        try await waitUntil("op1's idle sign-out told to the line", timeout: .seconds(60)) {
            deactivated = try await bench.station.store.lineMessages(limit: 1000).filter {
                $0.moment == .operatorDeactivated(operatorId: "op1", via: "web")
            }
            return !deactivated.isEmpty
        }
        #expect(deactivated.count == 1)
        let at = try #require(deactivated.first?.at).timeIntervalSince(signedIn)
        #expect(at >= 0.9 && at < 30, "stamped when the idle second ran out, not when it was noticed: \(at) s")
    }

    @Test func aUserRemovedByAReloadIsSignedOutAtOnce() async throws {
        let bench = try await WebBench.start()
        defer { Task { await bench.stop() } }
        let c = WebClient(bench.base)
        try await c.signIn("sup1", "2222")
        var cfg = await bench.station.currentConfig
        cfg.users.removeAll { $0.id == "sup1" }
        try await bench.station.reload(cfg)
        let r = try await c.send("GET", "/api/me")
        #expect(r.status == 401)
        #expect(r.body.contains("no longer in the config"))
    }

    @Test func chartsAndReportsAreServedToASignedInUser() async throws {
        let bench = try await WebBench.start()
        defer { Task { await bench.stop() } }
        let c = WebClient(bench.base)
        try await c.signIn("op1", "1111")
        let svg = try await c.send("GET", "/charts/pareto.svg?lang=zh")
        #expect(svg.status == 200 && svg.body.hasPrefix("<svg") && svg.body.contains("此期间没有不良"))
        #expect(try await c.send("GET", "/charts/yield.svg?since=yesterday").status == 400)
        #expect(try await c.send("GET", "/reports/\(UUID()).html").status == 404)
        #expect(try await c.send("GET", "/reports/not-a-report").status == 404)
        #expect(try await c.send("GET", "/api/test?serial=X").status == 405, "a state change is never a GET")
    }
}

@Suite(.shutsDownStations) struct WebConfigTests {
    func parse(_ extra: String, replacing: (String, String)? = nil) throws -> StationConfig {
        var text = try inProcessConfigText()
        if let (a, b) = replacing { text = text.replacingOccurrences(of: a, with: b) }
        return try StationConfig.parse(text + extra, file: "web.yaml")
    }

    /// Why `text` (default: the in-process config plus `extra`, with `replacing` done) is refused.
    func refusal(_ extra: String, replacing: (String, String)? = nil, text: String? = nil) -> String {
        do {
            if let text { _ = try StationConfig.parse(text, file: "web.yaml") } else { _ = try parse(extra, replacing: replacing) }
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    @Test func theSimulatedConfigServesTheAppWithItsDemoUsers() throws {
        let cfg = try StationConfig.load(path: Repo.simulatedConfig)
        #expect(cfg.http?.host == "127.0.0.1" && cfg.http?.port == 8080)
        #expect(cfg.users.map(\.id) == ["op1", "op2", "sup1", "eng1"])
        #expect(PINHash.verify("1111", hash: cfg.users[0].pinHash))
        #expect(!PINHash.verify("1112", hash: cfg.users[0].pinHash))
    }

    @Test func noListeningBeyondThisMachineWithoutUsers() {
        let noUsers = try! inProcessConfigText().components(separatedBy: "\nusers:\n")[0] + "\n"
        let why = refusal("", text: noUsers.replacingOccurrences(of: "127.0.0.1:8080", with: "0.0.0.0:8080"))
        #expect(why.contains("http.listen") && why.contains("no users") && why.contains("hash-pin"), "\(why)")
    }

    @Test func badUsersAreNamedWithTheFix() {
        let plain = refusal("", replacing: ("pinHash: \"$2b$10$UxA3", "pinHash: \"1111UxA3"))
        #expect(plain.contains("users[0].pinHash") && plain.contains("ferruled hash-pin"), "\(plain)")
        let role = refusal("", replacing: ("role: engineer", "role: admin"))
        #expect(role.contains("users[3].role") && role.contains("operator, supervisor, engineer"), "\(role)")
        let twice = refusal("", replacing: ("id: sup1", "id: op1"))
        #expect(twice.contains("used twice"), "\(twice)")
        let lang = refusal("", replacing: ("language: zh", "language: fr"))
        #expect(lang.contains("users[1].language") && lang.contains("en, zh"), "\(lang)")
        let listen = refusal("", replacing: ("127.0.0.1:8080", "localhost"))
        #expect(listen.contains("host:port"), "\(listen)")
        let both = refusal("usersFile: people.yaml\n")
        #expect(both.contains("both 'users' and 'usersFile'"), "\(both)")
    }

    @Test func usersMayLiveInTheirOwnFile() throws {
        let dir = temporaryDirectory()
        let main = try inProcessConfigText()
        let parts = main.components(separatedBy: "\nusers:\n")
        let list = parts[1].components(separatedBy: "\n\n")[0]
        try list.replacingOccurrences(of: "  - ", with: "- ").write(toFile: dir + "/people.yaml", atomically: true, encoding: .utf8)
        let text =
            parts[0] + "\nusersFile: people.yaml\n\n" + parts[1].components(separatedBy: "\n\n").dropFirst().joined(separator: "\n\n")
        try text.write(toFile: dir + "/station.yaml", atomically: true, encoding: .utf8)
        let cfg = try StationConfig.load(path: dir + "/station.yaml")
        #expect(cfg.users.map(\.id) == ["op1", "op2", "sup1", "eng1"])
    }
}

@Suite(.shutsDownStations) struct SocketPeerTests {
    /// The kernel's word on who sent a socket request goes on the report; a client cannot forge it.
    @Test func theSocketPeersOSUserIsRecordedWithTheUnit() async throws {
        let d = try await Daemon()
        var path: String?
        do {
            try await ControlSession.with(path: d.socket) { s in
                _ = try await s.ok("reference") { $0.fixture = 1 }
                _ = try await s.ok("subscribe")
                _ = try await s.ok("test") {
                    $0.serial = "PEER-1"
                    $0.partNumber = "FT-MTP12-SMAPC-B-LL"
                    $0.fixture = 1
                    $0.operator = "op-9"
                    $0.via = "someone else"
                }
                let events = try await s.events { $0["kind"]?.string == "unitFinished" }
                path = events.last?["reportPath"]?.string
            }
        } catch {
            await d.stop()
            throw error
        }
        await d.stop()
        let report = try JSONValue.from(
            try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: URL(fileURLWithPath: try #require(path)))))
        #expect(report["operator"]?.string == "op-9")
        let by = try #require(report["requestedBy"]?.string)
        #expect(by.hasPrefix("os user ") && by.contains("(uid \(getuid()), pid ") && by.hasSuffix("on the socket"), "\(by)")
        #expect(d.logText.contains("test from os user "))
    }
}
