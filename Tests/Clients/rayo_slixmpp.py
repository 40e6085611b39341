#!/usr/bin/env python3
"""A Rayo client built on slixmpp (a real XMPP client library), for Switchboard's end-to-end test.

It logs in (SCRAM-SHA-256 after STARTTLS when the server offers it), says it is available for calls, then:
waits for an offered call and answers it, dials a second call, joins the two, and hangs both up, checking every
IQ result and every Rayo event on the way. Each step is printed as one JSON line on stdout; `READY` tells the test
to place the inbound call. Exit status 0 means every step passed; anything else prints a `FAIL` line that says which.
"""

import argparse
import asyncio
import json
import ssl
import sys

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream import ET

RAYO = "urn:xmpp:rayo:1"


def say(step, **details):
    print(json.dumps({"step": step, **details}), flush=True)


class RayoClient(slixmpp.ClientXMPP):
    def __init__(self, args):
        super().__init__(args.jid, args.password, sasl_mech=args.mechanism)
        self.args = args
        self.use_aiodns = False  # the test machine has no DNS: resolve the literal address with the system resolver
        self.use_ipv6 = False
        self.enable_direct_tls = False  # c2s on one port: STARTTLS (XEP-0368 direct TLS is not offered)
        self.events = asyncio.Queue()
        self.failure = None
        if args.plain_without_tls:  # mod_rayo without a certificate offered PLAIN in clear
            self.enable_plaintext = True
            self.plugin["feature_mechanisms"].unencrypted_plain = True
        if args.cafile:
            context = ssl.create_default_context(cafile=args.cafile)
            self.ssl_context = context
        self.add_event_handler("session_start", self.on_session_start)
        self.add_event_handler("presence", self.on_presence)
        self.add_event_handler("failed_auth", lambda _: self.fail("authentication failed"))
        self.add_event_handler("disconnected", lambda _: self.events.put_nowait(("disconnected", None, None)))

    def fail(self, why):
        if self.failure is None:
            self.failure = why
            say("FAIL", why=why)
        self.disconnect()

    def on_presence(self, presence):
        for child in presence.xml:
            if child.tag.startswith("{" + RAYO + "}") or child.tag.startswith("{urn:xmpp:rayo:ext:1}"):
                name = child.tag.split("}", 1)[1]
                self.events.put_nowait((name, str(presence["from"]), child))

    async def next_event(self, name, source=None, timeout=None):
        """Waits for the Rayo event `name` (optionally from `source`), skipping others (ringing and the like)."""
        deadline = asyncio.get_running_loop().time() + (timeout or self.args.timeout)
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"no <{name}/> from {source or 'any call'} within the timeout")
            kind, sender, element = await asyncio.wait_for(self.events.get(), remaining)
            if kind == "disconnected":
                raise ConnectionError(f"the server closed the stream while waiting for <{name}/>")
            if kind == name and (source is None or sender.split("/")[0] == source):
                return sender, element
            say("event", name=kind, sender=sender)

    async def command(self, to, element):
        iq = self.make_iq_set(ito=to)
        iq.xml.append(element)
        try:
            return await iq.send(timeout=self.args.timeout)
        except IqError as error:
            condition = error.iq["error"]["condition"]
            raise RuntimeError(f"<{element.tag.split('}')[1]}/> to {to} failed: {condition}") from None
        except IqTimeout:
            raise RuntimeError(f"<{element.tag.split('}')[1]}/> to {to}: no answer") from None

    async def on_session_start(self, _):
        try:
            await self.run_scenario()
            say("DONE")
        except Exception as error:  # every failure ends the run with one FAIL line
            self.fail(f"{type(error).__name__}: {error}")
            return
        self.disconnect()

    async def run_scenario(self):
        self.send_presence(pshow="chat")
        say("READY", jid=str(self.boundjid))

        offered, offer = await self.next_event("offer", timeout=self.args.offer_timeout)
        call_a = offered.split("/")[0]
        say("offer", call=call_a, to=offer.get("to"), frm=offer.get("from"))

        await self.command(call_a, ET.Element(f"{{{RAYO}}}answer"))
        await self.next_event("answered", call_a)
        say("answered", call=call_a)

        dial = ET.Element(f"{{{RAYO}}}dial", {"to": self.args.dial_to, "from": "tel:+15550100"})
        ET.SubElement(dial, f"{{{RAYO}}}header", {"name": "X-Switchboard-Test", "value": "slixmpp"})
        result = await self.command(self.boundjid.domain, dial)
        reference = result.xml.find(f"{{{RAYO}}}ref")
        if reference is None or not reference.get("uri", "").startswith("xmpp:"):
            raise RuntimeError("the dial result carries no <ref uri='xmpp:…'/>")
        call_b = reference.get("uri")[len("xmpp:"):]
        say("dialed", call=call_b)
        await self.next_event("answered", call_b)
        say("answered", call=call_b)

        await self.command(call_a, ET.Element(f"{{{RAYO}}}join", {"call-uri": f"xmpp:{call_b}"}))
        await self.next_event("joined", call_a)
        say("joined", call=call_a, other=call_b)

        await self.command(call_a, ET.Element(f"{{{RAYO}}}hangup"))
        _, end = await self.next_event("end", call_a)
        reasons = [child.tag.split("}")[1] for child in end]
        if "hangup-command" not in reasons:
            raise RuntimeError(f"call {call_a} ended with {reasons}, expected hangup-command")
        say("end", call=call_a, reason=reasons[0], platform_code=end[0].get("platform-code"))

        await self.command(call_b, ET.Element(f"{{{RAYO}}}hangup"))
        _, end = await self.next_event("end", call_b)
        reasons = [child.tag.split("}")[1] for child in end]
        if "hangup-command" not in reasons:
            raise RuntimeError(f"call {call_b} ended with {reasons}, expected hangup-command")
        say("end", call=call_b, reason=reasons[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--jid", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--cafile", help="the server certificate to trust (STARTTLS)")
    parser.add_argument("--mechanism", default="SCRAM-SHA-256")
    parser.add_argument("--plain-without-tls", action="store_true", help="allow PLAIN on a stream without TLS")
    parser.add_argument("--dial-to", required=True)
    parser.add_argument("--timeout", type=float, default=15)
    parser.add_argument("--offer-timeout", type=float, default=30)
    parser.add_argument("--debug", action="store_true", help="log the XML stream to stderr")
    args = parser.parse_args()
    if args.debug:
        import logging
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)

    client = RayoClient(args)
    client.connect(host=args.host, port=args.port)
    loop = client.loop
    try:
        loop.run_until_complete(asyncio.wait_for(client.disconnected, args.offer_timeout + 8 * args.timeout))
    except asyncio.TimeoutError:
        client.fail("the scenario did not finish in time")
    if client.failure is not None:
        sys.exit(1)


if __name__ == "__main__":
    main()
