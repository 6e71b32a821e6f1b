/**
 * Group `network`: the proxy listens on the configured address and port, and `GET /ping` answers
 * on the main port and on port_http_ping (what a load balancer's health probe calls).
 */
import { describeHttpError } from "./http.js";
import { localProxyFacts, settingsFacts } from "./facts.js";
import type { DoctorCheck } from "./types.js";

const listenCheck: DoctorCheck = {
  id: "network.listen",
  group: "network",
  title: "the proxy accepts TCP connections on [server] ip and port",
  needs: ["settings.valid"],
  async run(run) {
    const p = await localProxyFacts(run);
    const f = await settingsFacts(run);
    try {
      await run.deps.tcpConnect(p.host, p.port, 3000);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      return {
        status: "fail",
        message: `nothing accepts connections on ${p.host}:${p.port} (${code}): the proxy is not running or listens elsewhere`,
        fix: `Start the proxy: \`xksctl serve --config ${f.file}\` (or systemctl start xksctl), and check [server] ip / port in ${f.file}.`,
      };
    }
    return { status: "pass", message: `${p.host}:${p.port} accepts connections` };
  },
};

const PONG = /^pong\b/i;

const pingCheck: DoctorCheck = {
  id: "network.ping",
  group: "network",
  title: "GET /ping answers 200 on the main port and on [server] port_http_ping",
  needs: ["network.listen"],
  async run(run) {
    const p = await localProxyFacts(run);
    const hostInUrl = p.host.includes(":") ? `[${p.host}]` : p.host;
    const targets = [{ url: `${p.baseUrl}/ping`, what: `${p.port} (${p.tls ? "HTTPS" : "HTTP"})`, tlsOpts: p.tls ? { ...(p.ca ? { ca: p.ca } : {}), ...(p.servername ? { servername: p.servername } : {}) } : {} }];
    if (p.pingPort !== p.port) targets.push({ url: `http://${hostInUrl}:${p.pingPort}/ping`, what: `${p.pingPort} (port_http_ping, HTTP)`, tlsOpts: {} });
    const bad: string[] = [];
    const ok: string[] = [];
    for (const t of targets) {
      try {
        const r = await run.deps.http.request({ url: t.url, method: "GET", timeoutMs: 3000, ...t.tlsOpts });
        if (r.status === 200 && PONG.test(r.body)) ok.push(t.what);
        else bad.push(`${t.url}: ${r.status} ${JSON.stringify(r.body.slice(0, 60))}`);
      } catch (err) {
        bad.push(`${t.url}: ${describeHttpError(err)}`);
      }
    }
    const f = await settingsFacts(run);
    if (bad.length > 0) {
      return { status: "fail", message: `/ping does not answer: ${bad.join("; ")}${ok.length > 0 ? ` (it does on ${ok.join(", ")})` : ""}`, fix: `Check the proxy runs with ${f.file} ([server] port and port_http_ping) and that no other program holds the ports.` };
    }
    return { status: "pass", message: `pong on ${ok.join(" and ")}${p.tls ? `; ${p.trustNote}` : ""}` };
  },
};

export const NETWORK_CHECKS: readonly DoctorCheck[] = [listenCheck, pingCheck];
