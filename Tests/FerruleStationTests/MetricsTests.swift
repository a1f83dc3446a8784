import AsyncHTTPClient
import FerruleControl
import FerruleMetrics
import FerruleProtocol
import Foundation
import NIOCore
import FerruleTesting
import Testing

/// `/metrics` on the real daemon, read by Prometheus's own checker (`promtool`, Debian's
/// `prometheus`), and the figures moving as units run.
@Suite(.serialized, .shutsDownStations) struct MetricsTests {
    static let part = "FT-MTP12-SMAPC-B-LL"

    @Test func metricsPassPromtoolAndMoveWhenUnitsRun() async throws {
        let config =
            try String(contentsOfFile: Repo.simulatedConfig, encoding: .utf8)
            + "\nsinks:\n  - { name: mes-share, kind: directory, path: /nonexistent/ferrule-share, formats: [json] }\n"
        let d = try await Daemon(config: config)
        defer { Task { await d.stop() } }
        let base = try await ControlSession.with(path: d.socket) { s in
            try #require(try await s.ok("status")["webAddress"]?.string)
        }
        let idle = try await scrape(base)
        try await checkWithPromtool(idle)
        #expect(!idle.contains("ferrule_units_total{"), "no unit yet")
        #expect(try #require(value(idle, "ferrule_units_in_progress")) == 0)
        #expect(try #require(value(idle, "ferrule_store_bytes")) > 0)
        #expect(value(idle, #"ferrule_reference_valid{fixture="1"}"#) == 0, "no reference taken yet")

        var steps = 0
        try await ControlSession.with(path: d.socket) { s in
            _ = try await s.ok("reference") { $0.fixture = 1 }
            let events = try await testOnFixture1(&s, serial: "FRL-M1")
            #expect(events.last?["verdict"]?.string == "pass")
            steps = events.count { $0["kind"]?.string == "step" }
        }
        let after = try await scrape(base)
        try await checkWithPromtool(after)
        #expect(value(after, #"ferrule_units_total{part_number="\#(Self.part)",verdict="pass"}"#) == 1)
        #expect(value(after, #"ferrule_cycle_seconds_count{part_number="\#(Self.part)"}"#) == 1)
        #expect(steps > 0 && value(after, #"ferrule_step_seconds_count{fixture="1"}"#) == Double(steps), "\(steps) steps")
        // The drivers time their own exchanges: the meter was asked many times, each a round trip.
        #expect(try #require(value(after, #"ferrule_instrument_round_trip_seconds_count{instrument="ilrl"}"#)) > Double(steps))
        #expect(try #require(value(after, #"ferrule_reference_age_seconds{fixture="1"}"#)) >= 0)
        #expect(value(after, #"ferrule_reference_valid{fixture="1"}"#) == 1)
        #expect(after.contains(#"ferrule_cord_matings{fixture="1","#), "cords are listed per fixture")
        // The share is missing: the unit waits for it, and the sink says it is failing.
        #expect(value(after, #"ferrule_outbox_backlog{sink="mes-share"}"#) == 1)
        #expect(try #require(value(after, #"ferrule_outbox_oldest_undelivered_seconds{sink="mes-share"}"#)) >= 0)
        try await waitUntil("the sink reports failing") {
            value(try await scrape(base), #"ferrule_sink_failing{sink="mes-share"}"#) == 1
        }

        // The meter's error queue fills: the unit is an error, and the fault is counted against the meter.
        try await ControlSession.with(path: d.socket) { s in
            _ = try await s.ok("fault") {
                $0.instrument = "ilrl"
                $0.fault = "queueError"
            }
            let events = try await testOnFixture1(&s, serial: "FRL-M2")
            #expect(events.last?["verdict"]?.string == "error")
        }
        let faulted = try await scrape(base)
        try await checkWithPromtool(faulted)
        #expect(value(faulted, #"ferrule_units_total{part_number="\#(Self.part)",verdict="error"}"#) == 1)
        #expect(try #require(value(faulted, #"ferrule_instrument_faults_total{instrument="ilrl"}"#)) >= 1)
        #expect(value(faulted, #"ferrule_outbox_backlog{sink="mes-share"}"#) == 2)
    }

    @Test func everyCatalogMetricHasHelpAndAPrometheusName() {
        for m in MetricsCatalog.all {
            #expect(m.name.wholeMatch(of: /ferrule_[a-z_]+/) != nil, "\(m.name)")
            #expect(!m.help.isEmpty && !m.help.contains("\n"), "\(m.name)")
            #expect((m.kind == .counter) == m.name.hasSuffix("_total"), "\(m.name): only counters end in _total")
            #expect((m.kind == .histogram) == !m.buckets.isEmpty, "\(m.name)")
        }
    }

    /// Tests one unit on fixture 1 through the socket; its events up to its `unitFinished`.
    func testOnFixture1(_ s: inout ControlSession, serial: String) async throws -> [JSONValue] {
        _ = try await s.ok("subscribe")
        _ = try await s.ok("test") {
            $0.serial = serial
            $0.partNumber = Self.part
            $0.fixture = 1
        }
        return try await s.events { $0["kind"]?.string == "unitFinished" }
    }

    func scrape(_ base: String) async throws -> String {
        let response = try await WebClient.http.execute(HTTPClientRequest(url: base + "metrics"), timeout: .seconds(30))
        #expect(response.status.code == 200)
        #expect(response.headers["content-type"].first?.hasPrefix("text/plain; version=0.0.4") == true)
        return String(buffer: try await response.body.collect(upTo: 8 << 20))
    }

    /// `promtool check metrics` lints the exposition (names, help, types, histogram buckets):
    /// any problem it prints fails the test.
    func checkWithPromtool(_ text: String) async throws {
        let file = temporaryDirectory() + "/metrics.txt"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let (status, out) = try await offPool { try runProgram("/bin/sh", ["-c", "promtool check metrics < '\(file)' 2>&1"]) }
        #expect(status == 0 && out.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "promtool: \(out)\n\(text)")
    }

    /// The value of one series (`name{labels}` exactly as exposed), or nil when it is absent.
    func value(_ text: String, _ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }
}

/// The Grafana dashboard in docs/ asks only for metrics ferruled exposes.
@Suite(.shutsDownStations) struct DashboardTests {
    @Test func everyQueryNamesAnExposedMetric() throws {
        let text = try String(contentsOfFile: Repo.root + "/docs/grafana-dashboard.json", encoding: .utf8)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let panels = try #require(json["panels"] as? [[String: Any]])
        let exposed = Set(MetricsCatalog.all.map(\.name))
        var used: Set<String> = []
        for p in panels {
            for t in try #require(p["targets"] as? [[String: Any]]) {
                let expr = try #require(t["expr"] as? String)
                for m in expr.matches(of: /ferrule_[a-z_]+/) {
                    used.insert(String(m.output).replacing(/_(bucket|count|sum)$/, with: ""))
                }
            }
        }
        #expect(!used.isEmpty && used.isSubset(of: exposed), "unknown: \(used.subtracting(exposed))")
        #expect(used.count >= 12, "the dashboard shows most figures: \(used.sorted())")
    }
}
