/**
 * Groups `endpoint` (fake DNS) and `network` (real listeners on 127.0.0.1): each check passes,
 * and fails or warns for its main reason with the fix.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import type net from "node:net";
import path from "node:path";
import { after, describe, test } from "node:test";
import { doctorDeps } from "../../../src/workflows/doctor/deps.js";
import { nonInteractivePrompts } from "../../../src/ui/dialogs.js";
import { fakeDeps, result, settingsFile, tmpDir } from "./fixture.js";
import { selfSigned } from "./pki.js";

/** The real TCP and HTTP effects (loopback only in these tests). */
function realNet() {
  const d = doctorDeps({ env: {}, cwd: process.cwd(), stdout: { write: () => undefined }, stderr: { write: () => undefined }, now: Date.now, prompts: nonInteractivePrompts, interactive: false });
  return { tcpConnect: d.tcpConnect, http: d.http };
}

const servers: net.Server[] = [];
after(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
});
async function listen(server: net.Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as net.AddressInfo).port;
}
const pong = (_req: http.IncomingMessage, res: http.ServerResponse) => {
  res.writeHead(200, { "content-type": "text/plain" });
  res.end("pong from a test\n");
};

describe("endpoint.url", () => {
  const config = () => settingsFile(tmpDir(), { server: { port: 8443 } });

  test("warn: none given; derived from [server]", async () => {
    const r = await result(fakeDeps(), { config: config(), groups: ["endpoint"] }, "endpoint.url");
    assert.equal(r.status, "warn");
    assert.match(r.message, /^no endpoint given: checking https:\/\/localhost:8443, derived from \[server\]/);
    assert.match(r.fix!, /^Pass --endpoint https:\/\/<name>/);
  });

  test("pass: https:// + a DNS name", async () => {
    const r = await result(fakeDeps(), { config: config(), groups: ["endpoint"], endpoint: "https://xks.example.com" }, "endpoint.url");
    assert.deepEqual([r.status, r.message], ["pass", "https://xks.example.com (from --endpoint)"]);
  });

  for (const [bad, why] of [
    ["https://xks.example.com:8443", /it has a port \(:8443\)/],
    ["https://xks.example.com:443", /it has a port \(:443\)/],
    ["http://xks.example.com", /it is http:\/\/; KMS only connects with https:\/\//],
    ["https://203.0.113.7", /it is an IP address/],
    ["https://xks.example.com/prefix", /it has a path/],
    ["https://xks", /single label/],
  ] as const) {
    test(`fail: ${bad}`, async () => {
      const r = await result(fakeDeps(), { config: config(), groups: ["endpoint"], endpoint: bad }, "endpoint.url");
      assert.equal(r.status, "fail");
      assert.match(r.message, why);
      assert.match(r.fix!, /^Use https:\/\/<DNS name> with no port or path/);
    });
  }

  test("the endpoint init recorded in kms-proxy-config.json, when no --endpoint is given", async () => {
    const dir = tmpDir();
    const file = settingsFile(dir, { server: { port: 443 } });
    fs.writeFileSync(path.join(dir, "kms-proxy-config.json"), JSON.stringify({ XksProxyUriEndpoint: "https://xks.example.com", XksProxyUriPath: "/kms/xks/v1" }));
    const r = await result(fakeDeps(), { config: file, groups: ["endpoint"] }, "endpoint.url");
    assert.deepEqual([r.status, r.message], ["pass", `https://xks.example.com (recorded in ${dir}/kms-proxy-config.json)`]);
  });
});

describe("endpoint.port", () => {
  test("pass: 443", async () => {
    const r = await result(fakeDeps(), { config: settingsFile(tmpDir(), { server: { port: 443 } }), groups: ["endpoint"], endpoint: "https://xks.example.com" }, "endpoint.port");
    assert.equal(r.status, "pass");
  });

  test("warn: another port, with the forward to set up", async () => {
    const file = settingsFile(tmpDir(), { server: { port: 8443 } });
    const r = await result(fakeDeps(), { config: file, groups: ["endpoint"], endpoint: "https://xks.example.com" }, "endpoint.port");
    assert.deepEqual([r.status, r.message], ["warn", "[server] port = 8443, but KMS connects to port 443"]);
    assert.equal(r.fix, `Forward port 443 of xks.example.com to 8443 (load balancer or NAT), or set [server] port = 443 in ${file} (needs CAP_NET_BIND_SERVICE).`);
  });
});

describe("endpoint.dns", () => {
  const config = () => settingsFile(tmpDir(), { server: { port: 443 } });
  const opts = { groups: ["endpoint" as const], endpoint: "https://xks.example.com" };

  test("pass: it resolves", async () => {
    const r = await result(fakeDeps({ lookup: async () => ["203.0.113.7"] }), { config: config(), ...opts }, "endpoint.dns");
    assert.deepEqual([r.status, r.message], ["pass", "xks.example.com resolves to 203.0.113.7"]);
  });

  test("fail: it does not resolve", async () => {
    const deps = fakeDeps({ lookup: async () => Promise.reject(Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" })) });
    const r = await result(deps, { config: config(), ...opts }, "endpoint.dns");
    assert.deepEqual([r.status, r.message, r.fix], ["fail", "xks.example.com does not resolve (ENOTFOUND)", "Publish an A or AAAA record for xks.example.com pointing at the proxy (or its load balancer)."]);
  });

  test("warn: an AWS endpoint that resolves only to loopback here", async () => {
    const r = await result(fakeDeps({ lookup: async () => ["127.0.0.1"] }), { config: config(), ...opts }, "endpoint.dns");
    assert.equal(r.status, "warn");
    assert.match(r.message, /resolves only to 127\.0\.0\.1 here: KMS cannot reach a loopback address/);
  });
});

describe("network.listen", () => {
  test("pass: something accepts connections on the port", async () => {
    const port = await listen(http.createServer(pong));
    const r = await result(fakeDeps(realNet()), { config: settingsFile(tmpDir(), { server: { port } }), groups: ["network"] }, "network.listen");
    assert.deepEqual([r.status, r.message], ["pass", `127.0.0.1:${port} accepts connections`]);
  });

  test("fail: the proxy is stopped, with the command that starts it; network.ping is skipped", async () => {
    const probe = http.createServer();
    const port = await listen(probe);
    await new Promise((r) => probe.close(r));
    servers.splice(servers.indexOf(probe), 1);
    const file = settingsFile(tmpDir(), { server: { port } });
    const deps = fakeDeps(realNet());
    const r = await result(deps, { config: file, groups: ["network"] }, "network.listen");
    assert.equal(r.status, "fail");
    assert.equal(r.message, `nothing accepts connections on 127.0.0.1:${port} (ECONNREFUSED): the proxy is not running or listens elsewhere`);
    assert.equal(r.fix, `Start the proxy: \`xksctl serve --config ${file}\` (or systemctl start xksctl), and check [server] ip / port in ${file}.`);
    assert.equal((await result(deps, { config: file, groups: ["network"] }, "network.ping")).message, "needs: network.listen");
  });
});

describe("network.ping", () => {
  test("pass: /ping on both ports (plain HTTP)", async () => {
    const port = await listen(http.createServer(pong));
    const pingPort = await listen(http.createServer(pong));
    const file = settingsFile(tmpDir(), { server: { port, port_http_ping: pingPort } });
    const r = await result(fakeDeps(realNet()), { config: file, groups: ["network"] }, "network.ping");
    assert.deepEqual([r.status, r.message], ["pass", `pong on ${port} (HTTP) and ${pingPort} (port_http_ping, HTTP)`]);
  });

  test("pass over TLS: a self-signed quickstart certificate is the trust anchor, and the message says so", async () => {
    const dir = tmpDir();
    const tlsFiles = selfSigned(dir, ["localhost"], ["127.0.0.1"]);
    const port = await listen(https.createServer({ cert: fs.readFileSync(tlsFiles.cert), key: fs.readFileSync(tlsFiles.key) }, pong));
    const pingPort = await listen(http.createServer(pong));
    const file = settingsFile(dir, { server: { port, port_http_ping: pingPort } }, tlsFiles);
    const r = await result(fakeDeps(realNet()), { config: file, groups: ["network"] }, "network.ping");
    assert.equal(r.status, "pass");
    assert.match(r.message, new RegExp(`pong on ${port} \\(HTTPS\\) and ${pingPort} .*; TLS verified against the proxy's own ${tlsFiles.cert} \\(a self-signed certificate, as for a local quickstart: KMS will not trust it\\)`));
  });

  test("fail: port_http_ping does not answer, named", async () => {
    const port = await listen(http.createServer(pong));
    const gone = http.createServer();
    const pingPort = await listen(gone);
    await new Promise((r) => gone.close(r));
    servers.splice(servers.indexOf(gone), 1);
    const r = await result(fakeDeps(realNet()), { config: settingsFile(tmpDir(), { server: { port, port_http_ping: pingPort } }), groups: ["network"] }, "network.ping");
    assert.equal(r.status, "fail");
    assert.match(r.message, new RegExp(`/ping does not answer: http://127\\.0\\.0\\.1:${pingPort}/ping: .*ECONNREFUSED.* \\(it does on ${port} \\(HTTP\\)\\)`));
    assert.match(r.fix!, /\[server\] port and port_http_ping/);
  });

  test("fail: something else answers /ping", async () => {
    const port = await listen(http.createServer((_q, s) => s.writeHead(404).end("nope")));
    const r = await result(fakeDeps(realNet()), { config: settingsFile(tmpDir(), { server: { port, port_http_ping: port } }), groups: ["network"] }, "network.ping");
    assert.equal(r.status, "fail");
    assert.match(r.message, /\/ping: 404 "nope"/);
  });
});
