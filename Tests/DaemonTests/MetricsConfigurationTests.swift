import SwitchboardDaemon
import Testing

@Suite("Configuration: the metrics object")
struct MetricsConfigurationTests {
    let loader = ConfigurationLoader(registry: testRegistry)

    /// A valid configuration with one outbound listener on 127.0.0.1:8084 and the given `metrics` member.
    func json(metrics: String) -> String {
        """
        {
          "listeners": [ { "name": "ivr", "kind": "outbound", "handler": "demo-ivr", "port": 8084 } ],
          "metrics": \(metrics)
        }
        """
    }

    @Test("absent: no metrics; {} takes 127.0.0.1:9184; bind and port as written; port 0 picks a free port")
    func values() throws {
        #expect(
            try loader.load(json: #"{ "listeners": [{ "name": "e", "kind": "inbound", "handler": "event-logger" }] }"#)
                .metrics == nil
        )
        #expect(try loader.load(json: json(metrics: "{}")).metrics == MetricsSettings(bind: "127.0.0.1", port: 9184))
        #expect(
            try loader.load(json: json(metrics: #"{ "bind": "::1", "port": 9200 }"#)).metrics
                == MetricsSettings(bind: "::1", port: 9200)
        )
        #expect(try loader.load(json: json(metrics: #"{ "port": 0 }"#)).metrics?.port == 0)
    }

    @Test("every problem of the object at once, with key paths and positions")
    func allProblems() throws {
        let error = try #require(throws: ConfigurationError.self) {
            try loader.load(json: json(metrics: #"{ "bind": "", "port": 70000, "path": "/m" }"#), file: "x.json")
        }
        let found = error.problems.map {
            "\($0.code) \($0.keyPath) \($0.position.map { "\($0)" } ?? "-"): \($0.message)"
        }
        #expect(
            found == [
                "invalidValue metrics.bind line 3, column 24: must be a host name or IP address",
                "invalidValue metrics.port line 3, column 36: must be an integer from 0 to 65535, found 70000",
                #"unknownKey metrics.path line 3, column 43: unknown key; expected one of: "bind", "port""#,
            ]
        )
    }

    @Test("wrong types: not an object, a port as a string, a fraction")
    func wrongTypes() throws {
        for (metrics, path, message) in [
            (#"9184"#, "metrics", "must be an object, found a number 9184"),
            (#"{ "port": "9184" }"#, "metrics.port", #"must be an integer, found a string "9184""#),
            (#"{ "port": 91.84 }"#, "metrics.port", "must be a whole number, found 91.84"),
            (#"{ "bind": 127 }"#, "metrics.bind", "must be a string, found a number 127"),
        ] {
            let error = try #require(throws: ConfigurationError.self) { try loader.load(json: json(metrics: metrics)) }
            #expect(error.problems.map(\.keyPath) == [path])
            #expect(error.problems.map(\.message) == [message])
        }
    }

    @Test("the metrics port must not be an outbound listener's or a Rayo listener's")
    func portClash() throws {
        let error = try #require(throws: ConfigurationError.self) {
            try loader.load(json: json(metrics: #"{ "bind": "0.0.0.0", "port": 8084 }"#))
        }
        #expect(error.problems.map(\.code) == [.duplicatePort])
        #expect(
            error.problems.map(\.message) == [#"port 8084 on 0.0.0.0 is already taken by listeners[0] ("ivr")"#]
        )
        #expect(error.problems.map(\.keyPath) == ["metrics.port"])

        // The default port, 9184, against a Rayo listener that took it.
        let rayo = """
            {
              "listeners": [ { "name": "calls", "kind": "outbound", "handler": "rayo" } ],
              "rayo": { "domain": "rayo.example.com", "users": [ { "name": "a", "password": "b" } ],
                        "listen": [ { "bind": "127.0.0.1", "port": 9184 } ] },
              "metrics": {}
            }
            """
        let rayoError = try #require(throws: ConfigurationError.self) { try loader.load(json: rayo) }
        #expect(rayoError.problems.map(\.message) == ["port 9184 on 127.0.0.1 is already taken by rayo.listen[0]"])
        #expect(rayoError.problems.map(\.keyPath) == ["metrics.port"])
    }
}
