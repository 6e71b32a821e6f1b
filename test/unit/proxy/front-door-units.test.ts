/**
 * Admission control with a fake clock, the SIGHUP policy, and the fixed errorMessage table
 * (nothing from the HSM, the settings or the request reaches errorMessage).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import type { Settings } from "../../../src/config/types.js";
import { HsmError } from "../../../src/hsm/types.js";
import { Admission, CALM_RESET_MS, CONGESTION_MEMORY_MS, PAUSE_GAP_MS, TICK_MS, type AdmissionLimits } from "../../../src/proxy/admission.js";
import { XKS_SITUATIONS, XksError, toXksResponse } from "../../../src/proxy/errors.js";
import { caDigest, changedKeys, reloadRefusals } from "../../../src/proxy/reload-policy.js";
import { startProxy } from "../../../src/proxy/start.js";
import type { Logger } from "../../../src/proxy/log.js";
import type { Hsm } from "../../../src/hsm/types.js";
import type { XksctlError } from "../../../src/errors.js";
import { tempDir } from "../../helpers/tmp.js";

/**
 * An Admission on a fake clock, its lag timer started: `later(ms)` moves the clock with the timer
 * keeping up, `stall(ms)` moves it while the loop keeps the timer waiting; `admit()` asserts a
 * ticket.
 */
function onFakeClock(limits: AdmissionLimits) {
  let now = 1000;
  const a = new Admission(limits, () => now);
  a.start();
  a.tick();
  return {
    a,
    later,
    stall(ms: number): void {
      now += ms;
    },
    admit,
    /** Admits one request per duration, serves them all at once (the lag timer keeps up), answers each when its ms are up. */
    serve(...ms: number[]): void {
      const ts = ms.map(() => admit());
      for (const t of ts) a.serving(t);
      let at = 0;
      for (const [i, t] of ts.entries()) {
        later(ms[i]! - at);
        at = ms[i]!;
        a.release(t);
      }
    },
  };
  function admit(): number {
    const t = a.tryAdmit();
    assert.equal(typeof t, "number", `admitted, not refused (${t})`);
    return t as number;
  }
  function later(ms: number): void {
    now += ms;
    a.tick();
  }
}

test("admission: in-flight cap, event-loop delay, a cap from one per HSM session doubling back after congestion; a body still arriving is not a slow answer", () => {
  const { a, later, stall, admit } = onFakeClock({ maxInFlight: 3, maxLoopDelayMs: 40, maxServiceMs: 100, congestedInFlight: 1 });
  try {
    const tickets = [admit(), admit(), admit()];
    assert.equal(a.tryAdmit(), "in-flight");
    for (const t of tickets) a.release(t);
    assert.equal(a.inFlight, 0);
    // A flood's long turn: request after request, 1 ms of loop each, until the lag timer has been
    // kept waiting 41 ms past its tick.
    a.tick();
    for (let i = 0; i < TICK_MS + 40; i++) {
      stall(1);
      a.release(admit());
    }
    stall(1);
    assert.equal(a.tryAdmit(), "event-loop");
    a.tick(); // the loop caught up
    const one = admit();
    assert.equal(a.tryAdmit(), "congested", "one per HSM session right after");
    assert.equal(a.limitOf("congested"), "max_event_loop_delay_milli", "the metrics' limit label: the setting whose signal lowered the cap");
    assert.equal(a.limitOf("event-loop"), "max_event_loop_delay_milli");
    assert.match(a.describe("congested"), /since the event loop was more than 40 ms behind \(max_event_loop_delay_milli\)/);
    later(CONGESTION_MEMORY_MS);
    const two = admit();
    assert.equal(a.tryAdmit(), "congested", "then two");
    a.release(one);
    a.release(two);
    later(CONGESTION_MEMORY_MS);
    const slow = [admit(), admit()];
    later(10_000); // admitted, but their bodies have not arrived (serving() not called): the client's delay, not the proxy's
    assert.equal(typeof a.tryAdmit(), "number", "a slow client alone never refuses");
    for (const t of slow) a.release(t);
    assert.match(a.describe("in-flight"), /max_in_flight_requests = 3/);
    assert.equal(a.limitOf("in-flight"), "max_in_flight_requests");
  } finally {
    a.stop();
  }
});

test("admission: a turn made long by a pause (a full GC, the host), not by requests, refuses nothing and leaves no cap; a flood arriving in it still does", () => {
  const limits = { maxInFlight: 256, maxLoopDelayMs: 40, maxServiceMs: 100, congestedInFlight: 2 };
  const { a, later, stall, admit } = onFakeClock(limits);
  try {
    a.release(admit());
    a.release(admit());
    stall(TICK_MS + 60); // a 70 ms pause with 2 requests in the turn (measured at 1800 req/s: Mark-Compact pauses of 3-48 ms in --trace-gc, stalls up to 87 ms in the latencies)
    const after = Array.from({ length: 20 }, () => admit()); // the backlog of the pause, read in the same turn
    later(1);
    const more = Array.from({ length: 20 }, () => admit()); // the cap was not lowered to 2 per the pause
    for (const t of [...after, ...more]) a.release(t);
    later(1);
    // The same pause, then a flood in that turn, each request 1 ms of loop: the pause is left out,
    // and the rule refuses once the requests' own work has kept the lag timer 40 ms past its tick.
    stall(TICK_MS + 60);
    const seen: (number | string)[] = [];
    for (let i = 0; i < 100; i++) {
      seen.push(a.tryAdmit());
      stall(1);
    }
    const firstRefusal = seen.findIndex((t) => typeof t === "string");
    assert.equal(seen[firstRefusal], "event-loop");
    assert.equal(firstRefusal, TICK_MS + 41, "refused at the first request over 40 ms of work past the tick, the 70 ms pause not counted");
  } finally {
    a.stop();
  }
});

test("admission: a pause shorter than max_event_loop_delay_milli (a 30 ms Mark-Compact) and its backlog refuse nothing and leave no cap", () => {
  const { a, later, stall, admit } = onFakeClock({ maxInFlight: 256, maxLoopDelayMs: 40, maxServiceMs: 100, congestedInFlight: 2 });
  try {
    later(3);
    a.release(admit());
    stall(PAUSE_GAP_MS + 10); // the loop stopped: no tick, no request, no answer
    // Its backlog, read in the turn after it, 1 ms of loop each: 30 ms of work, under the 40 ms limit
    // by itself, over it with the pause.
    const backlog: number[] = [];
    for (let i = 0; i < 30; i++) {
      backlog.push(admit());
      stall(1);
    }
    later(1);
    const more = Array.from({ length: 20 }, () => admit()); // the cap was not lowered to 2
    for (const t of [...backlog, ...more]) a.release(t);
  } finally {
    a.stop();
  }
});

test("admission: an answer late only by a pause of the loop (a full GC, the host) leaves no cap; an answer late while the loop ran does", () => {
  const { a, later, stall, admit } = onFakeClock({ maxInFlight: 64, maxLoopDelayMs: 40, maxServiceMs: 100, congestedInFlight: 2 });
  try {
    const t = admit();
    a.serving(t);
    later(5);
    stall(150); // the loop stopped for 150 ms: no tick, no request, no answer
    a.release(t); // 155 ms after its body, 5 of them the proxy's
    const after = Array.from({ length: 10 }, () => admit());
    for (const x of after) a.release(x);
    const slow = admit();
    a.serving(slow);
    for (let i = 0; i < 11; i++) later(10); // the loop ran (the lag timer kept up): 110 ms waiting for the HSM
    a.release(slow);
    admit();
    admit();
    assert.equal(a.tryAdmit(), "congested", "one per HSM session (2) after a slow answer of a running loop");
  } finally {
    a.stop();
  }
});

test("admission: without the lag timer no gap is taken for a pause: a 150 ms answer lowers the cap", () => {
  let now = 1000;
  const a = new Admission({ maxInFlight: 64, maxLoopDelayMs: 40, maxServiceMs: 100, congestedInFlight: 1 }, () => now);
  const t = a.tryAdmit() as number;
  a.serving(t);
  now += 150; // idle, or a slow HSM: with no timer running, nothing tells it from a pause
  a.release(t);
  assert.equal(typeof a.tryAdmit(), "number");
  assert.equal(a.tryAdmit(), "congested");
});

test("admission: an answer over max_service_time_milli drops the cap to one per HSM session; it doubles only while services stay within half the limit and the cap is in use", () => {
  const { a, later, admit, serve: serveEach } = onFakeClock({ maxInFlight: 64, maxLoopDelayMs: 40, maxServiceMs: 100, congestedInFlight: 2 });
  /** Admits n, serves them for `ms`, answers them. */
  const serve = (n: number, ms: number) => serveEach(...Array.from({ length: n }, () => ms));
  try {
    serve(10, 100); // at the limit: not over it
    serve(10, 99);
    const many = Array.from({ length: 10 }, admit);
    assert.equal(a.inFlight, 10, "nothing refused while answers are in time");
    for (const t of many) a.release(t);

    serve(1, 101); // one answer over the limit
    const two = [admit(), admit()];
    assert.equal(a.tryAdmit(), "congested", "then one per HSM session (2)");
    assert.match(a.describe("congested"), /max_service_time_milli/);
    assert.equal(a.limitOf("congested"), "max_service_time_milli");
    // The log line, written up to a second later, describes each refusal by the key taken when it was refused.
    assert.match(a.describe("congested", "max_event_loop_delay_milli"), /since the event loop was more than 40 ms behind \(max_event_loop_delay_milli\)/);
    for (const t of two) a.serving(t);

    later(200); // a period on, but those two are still being served after 200 ms: over the limit, the cap stays 2
    assert.equal(a.tryAdmit(), "congested", "no doubling while an answer in flight is late");
    for (const t of two) a.release(t); // answered late: again congested
    serve(2, 60); // over half the limit: the cap holds at 2
    later(200);
    const held = [admit(), admit()];
    assert.equal(a.tryAdmit(), "congested", "holds at 2 after services over half the limit");
    for (const t of held) a.release(t); // never served (bodies still arriving): no sample
    serve(2, 50); // within half: the next period doubles
    later(200);
    const four = [admit(), admit(), admit(), admit()];
    assert.equal(a.tryAdmit(), "congested", "then 4");
    for (const t of four) a.release(t);
    later(10 * 200); // a quiet spell: one doubling for the period that was in use, none for the idle ones
    const eight = Array.from({ length: 8 }, admit);
    assert.equal(a.tryAdmit(), "congested", "8 after the quiet spell, not back to no cap");
    for (const t of eight) a.release(t);
    later(200);
    serve(3, 10); // its first admission doubles (to 16) for the period just past, in use; then at most 3 in flight
    later(200);
    const held16 = Array.from({ length: 16 }, admit);
    assert.equal(a.tryAdmit(), "congested", "holds at 16 after a period with under half of it in use");
    for (const t of held16) a.release(t);
    for (let cap = 16; cap < 64; cap *= 2) {
      // in use (it refused one above) and fast: doubles, once per period
      later(200);
      const ts = Array.from({ length: cap * 2 >= 64 ? 64 : cap * 2 }, admit);
      assert.equal(a.tryAdmit(), cap * 2 >= 64 ? "in-flight" : "congested", `${cap} -> ${cap * 2}`);
      for (const t of ts) a.release(t);
    }
  } finally {
    a.stop();
  }
});

test("admission: the lowered cap doubles on the period's mean service, so one slow answer among fast ones does not hold it (a saturated closed loop recovers)", () => {
  const { a, later, admit, serve } = onFakeClock({ maxInFlight: 64, maxLoopDelayMs: 40, maxServiceMs: 100, congestedInFlight: 2 });
  try {
    serve(101); // lowers the cap to 2
    later(200);
    serve(10, 90); // mean 50: within half the limit, though one took 90 ms
    later(200);
    const four = [admit(), admit(), admit(), admit()];
    assert.equal(a.tryAdmit(), "congested", "doubled to 4");
    for (const t of four) a.serving(t);
    later(60);
    for (const t of four) a.release(t); // mean 60: over half the limit
    later(200);
    const held = [admit(), admit(), admit(), admit()];
    assert.equal(a.tryAdmit(), "congested", "holds at 4 after a mean over half the limit");
    for (const t of held) a.serving(t);
    later(200);
    assert.equal(a.tryAdmit(), "congested", "and an answer in flight over the limit lowers it again");
    for (const t of held) a.release(t);
    const two = [admit(), admit()];
    assert.equal(a.tryAdmit(), "congested", "to 2");
    for (const t of two) a.release(t);
  } finally {
    a.stop();
  }
});

test("admission: a cap not in use is lifted CALM_RESET_MS after the last congestion, not before", () => {
  const { a, later, admit } = onFakeClock({ maxInFlight: 64, maxLoopDelayMs: 40, maxServiceMs: 100, congestedInFlight: 2 });
  try {
    const slow = admit();
    a.serving(slow);
    later(101);
    a.release(slow); // congested at t = 1101: the cap is 2
    const probe = (n: number): string => {
      const ts: number[] = [];
      let last: number | string = 0;
      for (let i = 0; i <= n && typeof last === "number"; i++) {
        last = a.tryAdmit();
        if (typeof last === "number") ts.push(last);
      }
      for (const t of ts) a.release(t);
      return `${ts.length} admitted, then ${typeof last === "number" ? "none refused" : last}`;
    };
    later(CALM_RESET_MS - 300); // quiet, but not for long enough
    assert.equal(probe(64), "2 admitted, then congested", "no doubling after a period not in use, and no lift yet");
    later(200);
    a.release(admit()); // doubles to 4 for the probe's period (in use); then 1 in flight, under half of 4
    later(300); // CALM_RESET_MS since the congestion, and this period was not in use
    assert.equal(probe(64), "64 admitted, then in-flight", "the cap is lifted: max_in_flight_requests alone");
  } finally {
    a.stop();
  }
});

function settings(over: (s: Settings) => void = () => undefined): Settings {
  const s = {
    file: "/x/settings.toml",
    server: { ip: "0.0.0.0", port: 443, port_http_ping: 80, region: "us-east-1", service: "kms-xks-proxy", fleet_size: 1, max_in_flight_requests: 256, tcp_keepalive: {} },
    tracing: { is_stdout_writer_enabled: true, is_file_writer_enabled: false, level: "INFO", retention_max_files: 24, retention_max_age_hours: 0 },
    security: { is_sigv4_auth_enabled: true, is_tls_enabled: true, is_mtls_enabled: false },
    tls: { tls_cert_pem: "/x/cert.pem", tls_key_pem: "/x/key.pem" },
    external_key_stores: [{ uri_path_prefix: "", sigv4_access_key_id: "A", credentials: [{ accessKeyId: "A", secretAccessKey: "s" }], xks_key_id_set: ["k"], disabled_xks_key_ids: [], allow: [] }],
    pkcs11: { session_pool_max_size: 8, user_pin: "1234", PKCS11_HSM_MODULE: "/lib.so", token_label: "t" },
    limits: { max_plaintext_in_base64: 8192, max_aad_in_base64: 16384 },
    hsm_capabilities: { can_generate_iv: false, is_zero_iv_required: false },
  } as unknown as Settings;
  over(s);
  return s;
}

test("SIGHUP policy: security and start-up keys are refused, each named; everything else is applied", () => {
  const running = settings();
  assert.deepEqual(reloadRefusals(running, settings()), []);
  const weakened = settings((s) => {
    s.security.is_sigv4_auth_enabled = false;
    s.pkcs11.user_pin = "9999";
    s.server.port = 8443;
  });
  assert.deepEqual(
    reloadRefusals(running, weakened).map((r) => r.key),
    ["[security] is_sigv4_auth_enabled", "[server] port", "[pkcs11] user_pin"],
  );
  assert.ok(reloadRefusals(running, weakened).every((r) => /restart/.test(r.reason)));
  const applied = settings((s) => {
    s.external_key_stores[0]!.xks_key_id_set = ["k", "k2"];
    s.server.max_in_flight_requests = 64;
    s.tls!.tls_cert_pem = "/x/new-cert.pem";
  });
  assert.deepEqual(reloadRefusals(running, applied), []);
  assert.deepEqual(changedKeys(running, applied), ["server.max_in_flight_requests", "tls.tls_cert_pem", "external_key_stores"]);
  assert.doesNotMatch(JSON.stringify(reloadRefusals(running, weakened)), /9999|1234/, "secrets are compared, never shown");
  // Read only when the server is created or the workers are forked: a reload cannot apply them.
  const startOnly = settings((s) => {
    s.server.tls_handshake_timeout_milli = 5000;
    s.server.workers = 3;
  });
  assert.deepEqual(reloadRefusals(running, startOnly).map((r) => r.key), ["[server] tls_handshake_timeout_milli", "[server] workers"]);
});

test("SIGHUP policy: an edited mTLS CA file is refused even under the same name", () => {
  const dir = tempDir("xksctl-ca-");
  const ca = path.join(dir, "ca.pem");
  fs.writeFileSync(ca, "one");
  const mtls = (s: Settings) => {
    s.security.is_mtls_enabled = true;
    s.tls!.mtls_client_ca_pem = ca;
    s.tls!.mtls_client_dns_name = "cks.kms.us-east-1.amazonaws.com";
  };
  const running = settings(mtls);
  assert.deepEqual(reloadRefusals(running, settings(mtls)), []);
  const before = caDigest(running); // taken at start-up
  fs.writeFileSync(ca, "two");
  assert.deepEqual(reloadRefusals(running, settings(mtls), before).map((r) => r.key), ["[tls] mtls_client_ca_pem"]);
});

test("a worker started later refuses an mTLS CA file changed since the service started (and closes its HSM)", async () => {
  const dir = tempDir("xksctl-ca-");
  const ca = path.join(dir, "ca.pem");
  fs.writeFileSync(ca, "one");
  const s = settings((x) => {
    x.security.is_mtls_enabled = true;
    x.tls!.mtls_client_ca_pem = ca;
    x.tls!.mtls_client_dns_name = "cks.kms.us-east-1.amazonaws.com";
  });
  const started = caDigest(s);
  fs.writeFileSync(ca, "two");
  let closed = 0;
  const hsm = { close: async () => void closed++ } as unknown as Hsm;
  const logger = { log: () => undefined, enabled: () => false, close: async () => undefined } as unknown as Logger;
  await assert.rejects(
    startProxy(s, { hsm, logger, reloadSettings: () => s, now: Date.now, startCaDigest: started }),
    (err: XksctlError) => err.code === "XKS_TLS_FILES" && /has changed since the service started/.test(err.message) && /restart the service/.test(err.remedy ?? ""),
  );
  assert.equal(closed, 1);
});

test("errorMessage is a fixed, safe string: no CKR name, pool size, limit or request text", () => {
  for (const [name, entry] of Object.entries(XKS_SITUATIONS)) {
    const e = new XksError(name as keyof typeof XKS_SITUATIONS, { field: "plaintext", detail: "CKR_DEVICE_ERROR pool of 8 sessions" });
    const body = JSON.parse(toXksResponse(e).body) as { errorName: string; errorMessage: string };
    assert.equal(body.errorName, entry.errorName);
    // The table's own text is safe (not only what safeMessage makes of it), and is sent unchanged.
    assert.match(e.message, /^[\x20-\x7e]{1,511}$/, name);
    assert.equal(body.errorMessage, e.message);
    assert.doesNotMatch(body.errorMessage.replace(/Base64|SHA_256|12 or 16 bytes|16 bytes|20 bytes/g, ""), /CKR_|\d/, `${name}: ${body.errorMessage}`);
  }
  const hsm = [
    new HsmError("validation", "C_EncryptInit: CKR_ARGUMENTS_BAD"),
    new HsmError("throttled", "no session free within 200 ms (pool of 2)"),
    new HsmError("internal", "C_Encrypt: CKR_DEVICE_ERROR"),
    new HsmError("invalid-state", "CKR_KEY_HANDLE_INVALID"),
  ];
  for (const err of hsm) {
    const r = toXksResponse(err);
    assert.doesNotMatch(r.body, /CKR_|pool|200 ms/, r.body);
    assert.match(r.logDetail ?? "", /CKR_|pool/, "the detail goes to the log");
  }
  const internal = toXksResponse(new TypeError("boom"));
  assert.equal(internal.status, 500);
  assert.doesNotMatch(internal.body, /boom/);
});
