/// The one-file configuration of a ``PrivateFreeSWITCH``: a handful of modules, the event socket on its own port,
/// limits from the options, and the `peertest` dialplan context of the shared test FreeSWITCH.
enum PrivateConfiguration {
    /// Modules, in load order: nothing that binds a port but the event socket.
    static let modules = [
        "mod_logfile", "mod_event_socket", "mod_commands", "mod_dptools", "mod_dialplan_xml", "mod_loopback",
        "mod_tone_stream",
    ]

    static func document(port: Int, options: PrivateFreeSWITCH.Options, instance: String) -> String {
        let modules = modules.map { "        <load module=\"\($0)\"/>" }.joined(separator: "\n")
        return """
            <?xml version="1.0"?>
            <!-- Written by Switchboard's PrivateFreeSWITCH for one test run; removed when it stops. -->
            <document type="freeswitch/xml">
              <X-PRE-PROCESS cmd="set" data="\(PrivateDirectories.instanceVariable)=\(escaped(instance))"/>
              <section name="configuration" description="Modules">
                <configuration name="modules.conf" description="Modules">
                  <modules>
            \(modules)
                  </modules>
                </configuration>
                <configuration name="switch.conf" description="Core">
                  <settings>
                    <param name="colorize-console" value="false"/>
                    <param name="max-sessions" value="\(options.maxSessions)"/>
                    <param name="sessions-per-second" value="\(options.sessionsPerSecond)"/>
                    <param name="event-heartbeat-interval" value="\(options.heartbeatInterval)"/>
                    <param name="loglevel" value="\(escaped(options.logLevel))"/>
                    <param name="dump-cores" value="no"/>
                  </settings>
                </configuration>
                <configuration name="event_socket.conf" description="Event socket">
                  <settings>
                    <param name="nat-map" value="false"/>
                    <param name="listen-ip" value="127.0.0.1"/>
                    <param name="listen-port" value="\(port)"/>
                    <param name="password" value="\(escaped(options.password))"/>
                  </settings>
                </configuration>
                <configuration name="logfile.conf" description="File logger">
                  <profiles>
                    <profile name="default">
                      <mappings><map name="all" value="\(logLevels(from: options.logLevel))"/></mappings>
                    </profile>
                  </profiles>
                </configuration>
              </section>
              <section name="dialplan" description="XML dialplan">
                <context name="peertest">
                  <extension name="outbound_socket_async_full">
                    <condition field="destination_number" expression="^outbound_(\\d+)$">
                      <action application="socket" data="127.0.0.1:$1 async full"/>
                    </condition>
                  </extension>
                  <extension name="outbound_socket_sync">
                    <condition field="destination_number" expression="^outbound_sync_(\\d+)$">
                      <action application="socket" data="127.0.0.1:$1"/>
                    </condition>
                  </extension>
                  <extension name="tone">
                    <condition field="destination_number" expression="^tone$">
                      <action application="answer"/>
                      <action application="playback" data="tone_stream://%(500,500,440);loops=4"/>
                      <action application="hangup" data="NORMAL_CLEARING"/>
                    </condition>
                  </extension>
                  <extension name="park">
                    <condition field="destination_number" expression="^park$">
                      <action application="park"/>
                    </condition>
                  </extension>
                  <extension name="echo">
                    <condition field="destination_number" expression="^echo$">
                      <action application="answer"/>
                      <action application="echo"/>
                    </condition>
                  </extension>
                </context>
              </section>
            </document>

            """
    }

    /// The log file mapping for a level: that level and every more severe one.
    static func logLevels(from level: String) -> String {
        let levels = ["debug", "info", "notice", "warning", "err", "crit", "alert"]
        let start = levels.firstIndex(of: level) ?? levels.firstIndex(of: "warning")!
        return levels[start...].joined(separator: ",")
    }

    /// Text safe inside an XML attribute value.
    static func escaped(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            default: result.append(character)
            }
        }
        return result
    }
}
