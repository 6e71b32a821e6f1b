/**
 * `npm run bench`: drives `xksctl serve` (a child process) with h2load using KMS-shaped, SigV4-signed
 * Encrypt requests, against baselines measured in the same run: GET /ping on the same server, the
 * raw PKCS#11 loop, and for a slow HSM the ceiling sessions / (latency x calls per request).
 * Figures are reported, never asserted: the exit code is non-zero only when the bench could not run.
 *
 *   node --import tsx bench/run.ts [--runs N] [--only flood|slow|plain]   (scripts/bench.sh builds dist/ and the shim first)
 *   XKSCTL_BENCH_BASELINE=/path/to/other/checkout  also runs the slow scenarios on that build (same run)
 *   XKSCTL_BENCH_BASELINE_SHORT=1  gives that build 1,500 requests per slow scenario instead of 8 s (a build with PKCS#11 calls on the event loop)
 *   XKSCTL_BENCH_KEEP_LOGS=1  keeps each h2load per-request log (build/bench/*.log.kept: start µs, status, duration µs)
 *                             and each serve process's whole output (build/bench/serve-*.out; with
 *                             XKSCTL_BENCH_NODE_ARGS=--trace-gc, its GC events)
 *   XKSCTL_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR"  node options for each serve process (not NODE_OPTIONS: --cpu-prof is refused there)
 *
 * Scenarios (see LABELS below):
 *   a    plain SoftHSM: /ping vs signed Encrypt, h2load -n 20000 -c 16 -m 8, with the server's CPU per request
 *   b    plain SoftHSM: signed Encrypt at a steady 1800 req/s (18 clients x 100 req/s, opened 1 ms apart, 10 s)
 *   b10  the same average rate as h2load sends it from 4 clients x 450 req/s: bursts every 10 ms (not a target)
 *   c5   network HSM (slowhsm shim: EVERY PKCS#11 call delayed 5 ms, nShield-like zero IV, 32
 *        sessions): Encrypt with 128 streams in flight, and /ping latency from a second h2load
 *   c2   the same with every call delayed 2 ms
 *   c5s  the 5 ms HSM at a steady 1800 req/s, with the /ping probe
 *   c5r  the 5 ms HSM with can_generate_iv = false: IVs from C_GenerateRandom (batched)
 *   flood  (issue 8) 20 connections x 100 streams against 2 sessions, 1 worker and the default:
 *        only 200/429, max latency ≤ 250 ms; and the same flood against bench/bare-server.mjs
 *        (node:http2 with serve's transport and a fixed 429: what this host allows, same run)
 * Only 127.0.0.1 traffic; every wait and every h2load run is bounded in time.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import pkcs11js from "pkcs11js";
import { Agent, request } from "undici";
import { defaultValidateDeps, loadSettings } from "../src/config/load.js";
import { OVERLOADED, OVERLOADED_HEADERS, REFUSAL_SUMMARY } from "../src/proxy/server.js";
import { CONNECTION_WINDOW_BYTES, h2Settings, transportLimits } from "../src/proxy/transport.js";
import { freePort } from "../test/helpers/port.js";
import { CREDS, PREFIX, testSettings, writeSettings } from "../test/helpers/settings.js";
import { smithySign } from "../test/helpers/sign.js";
import { SOFTHSM_LIB, addKeys, createTestToken, removeTestToken, type TestToken } from "../test/helpers/softhsm.js";
import { createTestPki } from "../test/helpers/tls.js";

const REPO = path.resolve(import.meta.dirname, "..");
const OUT_DIR = path.join(REPO, "build", "bench");
const KEY = "bench-key";
export const ENCRYPT_PATH = `${PREFIX}/kms/xks/v1/keys/${KEY}/encrypt`;
/** Upper bound for any single h2load process; a signature is valid for 5 minutes, so stay well below. */
const H2LOAD_TIMEOUT_MS = 90_000;

/** Which build serves: this checkout, or the one XKSCTL_BENCH_BASELINE names. */
export type Build = "current" | "baseline";

/** What one h2load run measured. */
export interface LoadResult {
  /** h2load's own "finished in …, N req/s" figure. */
  rps: number;
  /** Requests in the log file (finished or failed streams). */
  requests: number;
  /** Responses that were not 2xx, plus streams that failed without a response. */
  non2xx: number;
  /** Non-2xx by status, e.g. { "429": 12 }; "no response": streams reset or never answered. */
  non2xxByStatus: Record<string, number>;
  /** h2load's stderr, kept when streams failed without a response. */
  h2loadStderr?: string;
  p50: number;
  p99: number;
  max: number;
  /** The 2xx answers alone, ms (NaN without any): under the flood they are the few admitted among the 429s. */
  ok?: { p50: number; max: number };
  /** Answers over KMS's deadline (KMS_DEADLINE_MS), all and the 2xx among them. */
  late?: { all: number; ok: number };
  /** Server CPU per answered request, µs (utime + stime of every serve process over the run), where measured. */
  cpuUsPerRequest?: number;
  /** The same for the event-loop threads alone (1 worker: the worker's main thread). */
  loopCpuUsPerRequest?: number;
  /**
   * The 429s of admission control during the run, by the [server] key that refused them (the
   * `limit` of serve's WARN summary lines; how they compare with h2load's count: statusCounts).
   * Set when the server stops, once every summary line is written.
   */
  refusedBy?: Record<string, number>;
}

/** One process-wide scratch area: token, TLS files, settings, h2load logs. */
export interface Env {
  dir: string;
  token: TestToken;
  pki: ReturnType<typeof createTestPki>;
  slowhsm: string;
  bodyFile: string;
  body: string;
}

// ---------------------------------------------------------------- setup

/** A KMS-shaped Encrypt body: requestMetadata (with kmsViaService), 32-byte plaintext, 64-byte AAD, as platform-notes §5. */
export function encryptBody(): string {
  return JSON.stringify({
    requestMetadata: {
      awsPrincipalArn: "arn:aws:iam::123456789012:user/Alice",
      kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
      kmsOperation: "Encrypt",
      kmsRequestId: "4112f4d6-db54-4af4-ae30-c55a22a8dfae",
      kmsViaService: "ebs",
    },
    plaintext: Buffer.alloc(32, 7).toString("base64"),
    additionalAuthenticatedData: Buffer.alloc(64, 3).toString("base64"),
    encryptionAlgorithm: "AES_GCM",
  });
}

export function setup(): Env {
  if (!fs.existsSync(path.join(REPO, "dist", "cli.js"))) throw new Error("dist/cli.js is missing: run `npm run build` (scripts/bench.sh does)");
  const slowhsm = process.env.SLOWHSM_SO ?? execFileSync("bash", [path.join(REPO, "test/fixtures/slowhsm/build.sh")], { encoding: "utf8" }).trim();
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xksctl-bench-"));
  const token = createTestToken("xks-bench");
  addKeys(token, [{ label: KEY, bits: 256 }]);
  const body = encryptBody();
  const bodyFile = path.join(dir, "encrypt.json");
  fs.writeFileSync(bodyFile, body);
  return { dir, token, pki: createTestPki(), slowhsm, bodyFile, body };
}

export function cleanup(env: Env): void {
  removeTestToken(env.token);
  fs.rmSync(env.pki.dir, { recursive: true, force: true });
  fs.rmSync(env.dir, { recursive: true, force: true });
}

/**
 * WARN on stdout: no line for a 200 (the bench measures the request path; bench/profile.ts measures
 * the INFO line on its own), but the summary line of admission control's 429s, which says which
 * [server] key refused them (LoadResult.refusedBy), and a line for each other 4xx/5xx.
 */
const BENCH_LOGGING = { is_stdout_writer_enabled: true, is_file_writer_enabled: false, level: "WARN" };

/** Settings for one server: TLS and SigV4 on, WARN logs on stdout (BENCH_LOGGING) unless `tracing` says otherwise. */
export function settingsFile(
  env: Env,
  name: string,
  pkcs11: Record<string, unknown>,
  caps = { can_generate_iv: false, is_zero_iv_required: false },
  workers: number | "default" = 1,
  tracing: Record<string, unknown> = BENCH_LOGGING,
): string {
  const s = testSettings(
    { module: SOFTHSM_LIB, tokenLabel: env.token.label, pin: env.token.pin, cert: env.pki.serverCert, key: env.pki.serverKey },
    {
      tracing,
      external_key_stores: [{ uri_path_prefix: PREFIX, sigv4_access_key_id: CREDS.main.id, sigv4_secret_access_key: CREDS.main.secret, xks_key_id_set: [KEY] }],
      pkcs11,
      hsm_capabilities: caps,
    },
  );
  const server = s.server as Record<string, unknown>;
  delete server.max_event_loop_delay_milli; // serve's default admission (the tests' helper relaxes both)
  delete server.max_service_time_milli;
  if (workers === "default") delete server.workers; // serve's default: one worker per CPU
  else server.workers = workers;
  return writeSettings(env.dir, s, `${name}.toml`);
}

// ---------------------------------------------------------------- the server under test

/** A running `xksctl serve` child. */
export interface Server {
  url: string;
  port: number;
  agent: Agent;
  stop(): Promise<void>;
  /** The serve process and its worker processes, if any. */
  pids(): number[];
  /** Peak resident set (VmHWM) of each process so far, MB. */
  peakRssMb(): number[];
  /** Marks `r` as measured from t0 to t1 (Date.now()): stop() sets its refusedBy. */
  track(r: LoadResult, t0: number, t1: number): LoadResult;
}


/** One summary line: `count` refusals by `limit`, the first of them at `at` (the line's time less its window). */
interface RefusalLine {
  at: number;
  count: number;
  limit: string;
}

/** Reads serve's stdout line by line and keeps its refusal summaries. */
function refusalReader(into: RefusalLine[]): (chunk: Buffer) => void {
  let partial = "";
  return (chunk) => {
    const lines = (partial + chunk.toString()).split("\n");
    partial = lines.pop()!;
    for (const line of lines) {
      if (!line.includes(REFUSAL_SUMMARY)) continue;
      try {
        const l = JSON.parse(line) as { msg?: string; count?: number; limit?: string; time?: string; windowMs?: number };
        if (l.msg === REFUSAL_SUMMARY) into.push({ at: Date.parse(String(l.time)) - (l.windowMs ?? 1000), count: Number(l.count), limit: String(l.limit) });
      } catch {
        /* not a log line */
      }
    }
  };
}

/** The refusals whose window began within [t0, t1]. */
export function refusedBetween(refusals: RefusalLine[], t0: number, t1: number): Record<string, number> {
  const by: Record<string, number> = {};
  for (const r of refusals) if (r.at >= t0 && r.at <= t1) by[r.limit] = (by[r.limit] ?? 0) + r.count;
  return by;
}

/** The pids of `pid` and its children (cluster workers). */
function processTree(pid: number): number[] {
  const children = (() => {
    try {
      return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  })();
  return [pid, ...children];
}

function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Clock ticks per second of /proc's utime and stime (USER_HZ; 100 on Linux everywhere in practice). */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime in ms from a /proc stat line (fields 14 and 15; the name in brackets may hold spaces). */
function statCpuMs(file: string): number {
  try {
    const f = fs.readFileSync(file, "utf8");
    const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return ((Number(rest[11]) + Number(rest[12])) * 1000) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** CPU used so far by the serve processes: whole processes (all threads), and their main (event-loop) threads. */
export interface CpuSample {
  processMs: number;
  loopMs: number;
}
function cpuSample(pids: number[]): CpuSample {
  // The primary of a multi-worker server does no request work; it is counted in processMs all the same.
  return {
    processMs: pids.reduce((a, pid) => a + statCpuMs(`/proc/${pid}/stat`), 0),
    loopMs: pids.reduce((a, pid) => a + statCpuMs(`/proc/${pid}/task/${pid}/stat`), 0),
  };
}

/** Runs one measured load on `server` (its refusals are attributed to it). */
async function measured(server: Server, run: () => Promise<LoadResult>): Promise<LoadResult> {
  const t0 = Date.now();
  return server.track(await run(), t0, Date.now());
}

/** h2load, with the server's CPU per answered request over the run. */
export function h2loadCpu(server: Server, args: string[], url: string): Promise<LoadResult> {
  return measured(server, async () => {
    const pids = server.pids();
    const before = cpuSample(pids);
    const r = await h2load(args, url);
    const after = cpuSample(pids);
    const answered = r.requests;
    return { ...r, cpuUsPerRequest: ((after.processMs - before.processMs) * 1000) / answered, loopCpuUsPerRequest: ((after.loopMs - before.loopMs) * 1000) / answered };
  });
}

/** Numbers the kept serve outputs (XKSCTL_BENCH_KEEP_LOGS). */
let serveSeq = 0;

/**
 * Starts `node bin/xksctl.cjs serve` as its own process (h2load and the server must not share a
 * process), with the main port doubling as the ping port, and waits for GET /ping.
 */
export async function startServer(env: Env, config: string, extraEnv: Record<string, string> = {}, build: Build = "current"): Promise<Server> {
  const port = await freePort();
  const root = build === "baseline" ? process.env.XKSCTL_BENCH_BASELINE! : REPO;
  const mode = build;
  const nodeArgs = process.env.XKSCTL_BENCH_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, path.join(root, "bin/xksctl.cjs"), "serve", "--config", config, "--port", String(port), "--ping-port", String(port)], {
    cwd: root,
    env: { ...process.env, SOFTHSM2_CONF: env.token.conf, ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const kept = process.env.XKSCTL_BENCH_KEEP_LOGS ? fs.openSync(path.join(OUT_DIR, `serve-${process.pid}-${++serveSeq}.out`), "w") : undefined;
  const keep = (b: Buffer) => {
    if (kept !== undefined) fs.writeSync(kept, b);
    output = (output + b.toString()).slice(-4000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const refusals: RefusalLine[] = [];
  child.stdout!.on("data", refusalReader(refusals));
  const tracked: { r: LoadResult; t0: number; t1: number }[] = [];
  const track = (r: LoadResult, t0: number, t1: number) => {
    tracked.push({ r, t0, t1 });
    return r;
  };
  /** After the exit (serve writes its last summary lines on SIGTERM). */
  const attribute = () => {
    for (const { r, t0, t1 } of tracked) {
      const by = refusedBetween(refusals, t0, t1);
      if (Object.keys(by).length > 0) r.refusedBy = by;
    }
  };
  let exit: string | undefined;
  if (kept !== undefined) child.once("close", () => fs.closeSync(kept));
  const exited = new Promise<void>((r) => child.once("exit", (code, signal) => r(void (exit = `code ${code}, signal ${signal}`))));
  const agent = new Agent({ allowH2: true, connect: { ca: fs.readFileSync(env.pki.caCert) } });
  const url = `https://127.0.0.1:${port}`;
  /** SIGTERM (SIGKILL after 10 s). A server that had already exited makes the figures worthless: throw. */
  const stop = async () => {
    await agent.close().catch(() => undefined);
    if (exit !== undefined) {
      // Logging is off, so a clean exit (code 0) leaves no trace: it means a SIGTERM/SIGINT from outside.
      throw new Error(`xksctl serve (${mode}) exited during the scenario (${exit}; code 0 = stopped by a signal from elsewhere); its output:\n${output}`);
    }
    child.kill("SIGTERM");
    const done = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
    if (!done) child.kill("SIGKILL");
    attribute();
  };
  // Up to 20 s for the HSM login, session pre-opening and listen.
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) break;
    try {
      const r = await request(`${url}/ping`, { dispatcher: agent, headersTimeout: 1000, bodyTimeout: 1000 });
      await r.body.text();
      if (r.statusCode === 200) {
        const pids = () => processTree(child.pid!);
        return { url, port, agent, stop, pids, peakRssMb: () => pids().map(peakRss), track };
      }
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }
  await stop().catch(() => undefined);
  throw new Error(`xksctl serve (${mode}) did not answer /ping within 20 s (${exit ?? "still running"}); its output:\n${output}`);
}

// ---------------------------------------------------------------- signing

/**
 * Signs ONE Encrypt request with @smithy/signature-v4 (the AWS SDK's signer) dated now. h2load
 * replays the same headers and body, so the signature is valid for the ±5 minutes the proxy allows.
 */
export function signEncrypt(port: number, body: string): Promise<Record<string, string>> {
  return signRequest(port, ENCRYPT_PATH, body);
}

/** Signs one POST to `requestPath` with @smithy/signature-v4, dated now (valid for ±5 minutes). */
export async function signRequest(port: number, requestPath: string, body: string): Promise<Record<string, string>> {
  // host is signed as h2load sends it, as :authority; content-length is left unsigned.
  const signed = await smithySign(`https://127.0.0.1:${port}${requestPath}`, body, {
    accessKeyId: CREDS.main.id,
    secret: CREDS.main.secret,
    headers: { "content-type": "application/json" },
    contentHeaders: false,
    signingDate: new Date(),
  });
  const pick = ["authorization", "x-amz-date", "x-amz-content-sha256", "content-type"];
  return Object.fromEntries(pick.map((h) => [h, String(signed[h])]));
}

/** Signs, then proves the signed request gets 200 before any load (else the figures are of 401s). */
export async function signAndCheck(env: Env, server: Server): Promise<Record<string, string>> {
  const headers = await signEncrypt(server.port, env.body);
  const r = await request(`${server.url}${ENCRYPT_PATH}`, { method: "POST", headers, body: env.body, dispatcher: server.agent, headersTimeout: 5000, bodyTimeout: 5000 });
  const text = await r.body.text();
  if (r.statusCode !== 200) throw new Error(`the signed Encrypt request got ${r.statusCode}, not 200: ${text}`);
  return headers;
}

// ---------------------------------------------------------------- h2load

let logSeq = 0;

/** How long KMS waits for an answer (xks-api.md): the flood's target for every answer. */
export const KMS_DEADLINE_MS = 250;

/** Runs h2load with a per-request log and reads req/s, p50/p99 (ms) and non-2xx from it. */
export async function h2load(args: string[], url: string): Promise<LoadResult> {
  const log = path.join(OUT_DIR, `h2load-${process.pid}-${++logSeq}.log`);
  const [stdout, stderr] = await new Promise<[string, string]>((resolve, reject) => {
    execFile("h2load", [...args, `--log-file=${log}`, url], { timeout: H2LOAD_TIMEOUT_MS, maxBuffer: 1 << 20 }, (err, out, errOut) =>
      err ? reject(new Error(`h2load ${args.join(" ")} failed: ${err.message}\n${out}${errOut}`)) : resolve([out, errOut]),
    );
  });
  // Rows: start µs, status, duration µs. Status 0 means no response status: h2load's -D warm-up
  // streams (not counted as failed) or reset streams (counted as failed; "no response" below).
  // Neither is a response, so neither enters the percentiles.
  const rows = fs.readFileSync(log, "utf8").trim().split("\n").filter(Boolean).map((l) => l.split("\t")).filter((r) => r[1] !== "0");
  if (process.env.XKSCTL_BENCH_KEEP_LOGS) fs.copyFileSync(log, `${log}.kept`);
  fs.rmSync(log, { force: true });
  const is2xx = (r: string[]) => /^2\d\d$/.test(r[1] ?? "");
  const sortedMs = (rs: string[][]) => rs.map((r) => Number(r[2]) / 1000).sort((a, b) => a - b); // µs -> ms
  const at = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN;
  const durations = sortedMs(rows);
  const ok = sortedMs(rows.filter(is2xx));
  const rps = Number(/finished in [^,]+, ([\d.]+) req\/s/.exec(stdout)?.[1] ?? NaN);
  // h2load's "failed" counts 4xx/5xx responses and streams that ended without a response;
  // it counts 3xx as succeeded. So non-2xx = failed + 3xx.
  const redirects = /status codes: \d+ 2xx, (\d+) 3xx/.exec(stdout);
  const failed = /requests: .*?, (\d+) failed/.exec(stdout);
  if (!redirects || !failed) throw new Error(`cannot read h2load's summary:\n${stdout}`);
  const non2xx = Number(failed[1]) + Number(redirects[1]);
  const non2xxByStatus: Record<string, number> = {};
  for (const r of rows) if (!is2xx(r)) non2xxByStatus[r[1]!] = (non2xxByStatus[r[1]!] ?? 0) + 1;
  // Failed streams that got no status at all (connection or stream reset): keep h2load's words for them.
  const noResponse = non2xx - Object.values(non2xxByStatus).reduce((a, b) => a + b, 0);
  if (noResponse > 0) non2xxByStatus["no response"] = noResponse;
  const result: LoadResult = {
    rps,
    requests: rows.length,
    non2xx,
    non2xxByStatus,
    p50: at(durations, 0.5),
    p99: at(durations, 0.99),
    max: durations.at(-1) ?? NaN,
    ok: { p50: at(ok, 0.5), max: ok.at(-1) ?? NaN },
    late: { all: durations.filter((d) => d > KMS_DEADLINE_MS).length, ok: ok.filter((d) => d > KMS_DEADLINE_MS).length },
  };
  if (noResponse > 0) result.h2loadStderr = stderr.trim().slice(-2000);
  return result;
}

export function encryptArgs(env: Env, headers: Record<string, string>): string[] {
  return ["-d", env.bodyFile, ...Object.entries(headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`])];
}

// ---------------------------------------------------------------- scenarios

/** Scenario ids, in table order. */
export type ScenarioId =
  | "ping"
  | "encrypt"
  | "steady"
  | "bursts"
  | "mix"
  | "pingW"
  | "encryptW"
  | "steadyW"
  | "burstsW"
  | "mixW"
  | "c5"
  | "c5Ping"
  | "c2"
  | "c2Ping"
  | "c5s"
  | "c5sPing"
  | "c5r"
  | "c5rPing";

/** Resources of one server: peak RSS per process, and start-up to the first answered signed Encrypt. */
export interface Resources {
  workers: number;
  peakRssMb: number[];
  readyMs: number;
}

/** One run's figures (a scenario is absent where it does not apply). */
export type RunFigures = Partial<Record<ScenarioId, LoadResult>> & { resources?: Resources; resourcesW?: Resources };

/** Sessions of the slow scenarios, and PKCS#11 calls per Encrypt with a cached key handle (EncryptInit + Encrypt). */
const SLOW_SESSIONS = 32;
const CALLS_PER_ENCRYPT = 2;
/** The ceiling of a slow HSM: every session busy all the time, each request `CALLS_PER_ENCRYPT` round trips. */
export const slowCeiling = (delayMs: number) => SLOW_SESSIONS / ((delayMs / 1000) * CALLS_PER_ENCRYPT);

/** The slowhsm shim in front of SoftHSM, EVERY call delayed as a network HSM answers it. */
const SLOW_ENV = (env: Env, delayMs: number, ivMode: "zero" | "none") => ({
  PKCS11_HSM_MODULE: env.slowhsm, // the variable overrides the TOML's module
  SLOWHSM_TARGET: SOFTHSM_LIB,
  SLOWHSM_DELAY_MS: String(delayMs),
  SLOWHSM_DELAY_CALLS: "*",
  SLOWHSM_IV_MODE: ivMode,
});

/**
 * A steady 1800 req/s for 10 s: 18 connections x 100 req/s, opened 1 ms apart. h2load's --rps
 * timer ticks at most every 10 ms (h2load.cc: `rps_watcher.repeat = std::max(0.01, 1. / rps)`), so
 * a client at 100 req/s or less sends one request a tick, and connections opened at different
 * moments tick at different moments: in the logs, 1-3 requests in most 0.5 ms windows and never
 * more than 11. All clients of one h2load that connect together tick together, so -c 4 --rps 450
 * (the shape before) sent 4-5 per client per tick, 12-20 requests within 0.5 ms every 10 ms
 * (build/bench logs, 2026-12-02).
 */
const STEADY_SHAPE = ["-c", "18", "-m", "8", "--rps", "100", "-r", "1", "--rate-period", "1ms"];
const STEADY_1800 = ["-n", "18000", ...STEADY_SHAPE];
/** The shape b used before: 1800 req/s on average, in bursts every 10 ms (reported, not a target). */
const BURSTS_1800 = ["-n", "18000", "-c", "4", "-m", "8", "--rps", "450"];

/**
 * Runs an Encrypt load and, from 2 s into it, a second h2load on its own connection asking /ping
 * 100 times a second for 4 s: its latency shows whether the event loop stays free under the load.
 * The load must last well over 6 s.
 */
async function withPingProbe(server: Server, loadArgs: string[]): Promise<[LoadResult, LoadResult]> {
  const load = measured(server, () => h2load(loadArgs, `${server.url}${ENCRYPT_PATH}`));
  load.catch(() => undefined); // awaited below; avoid an unhandled rejection while the probe runs
  await sleep(2000);
  const probe = await h2load(["-D", "4", "-c", "1", "-m", "1", "--rps", "100"], `${server.url}/ping`);
  return [await load, probe];
}

/**
 * a, b and the mix: plain SoftHSM, 8 sessions, IV from C_GenerateRandom (SoftHSM's
 * [hsm_capabilities]), for one worker process and for serve's default (one per CPU), each with
 * /ping on the same server, its peak RSS per process and its start-up time.
 */
async function plain(env: Env, workers: 1 | "default"): Promise<RunFigures> {
  const started = performance.now();
  const server = await startServer(env, settingsFile(env, `plain-${workers}`, { session_pool_max_size: 8 }, undefined, workers));
  try {
    const enc = encryptArgs(env, await signAndCheck(env, server));
    const readyMs = performance.now() - started;
    const url = `${server.url}${ENCRYPT_PATH}`;
    await h2load(["-n", "4000", "-c", "16", "-m", "8", ...enc], url); // warm-up (JIT, session pool), discarded
    const ping = await h2loadCpu(server, ["-n", "20000", "-c", "16", "-m", "8"], `${server.url}/ping`);
    const encrypt = await h2loadCpu(server, ["-n", "20000", "-c", "16", "-m", "8", ...enc], url);
    // 5 s of the steady load first, discarded: the full GC that a's 40,000 requests left owing
    // (every HTTP/2 header value is an old-space string, freed only by a full GC) falls here, not
    // into the measured 10 s (docs/performance-history.md, "A steady 1800 req/s").
    await h2load(["-n", "9000", ...STEADY_SHAPE, ...enc], url);
    const steady = await measured(server, () => h2load([...STEADY_1800, ...enc], url));
    const bursts = await measured(server, () => h2load([...BURSTS_1800, ...enc], url));
    const mix = await measured(server, () => kmsMix(env, server));
    const resources: Resources = { workers: server.pids().length - (server.pids().length > 1 ? 1 : 0), peakRssMb: server.peakRssMb(), readyMs };
    return workers === 1
      ? { ping, encrypt, steady, bursts, mix, resources }
      : { pingW: ping, encryptW: encrypt, steadyW: steady, burstsW: bursts, mixW: mix, resourcesW: resources };
  } finally {
    await server.stop();
  }
}

/**
 * The KMS-shaped mix for 8 s, as KMS's fleet sends it over many HTTP/2 connections: Encrypt with
 * CDIV (the proxy also decrypts to prove it) and Decrypt on 8 connections each, GetKeyMetadata on
 * 2, GetHealthStatus on 1 at 10/s. One h2load per operation (each replays its own signed request),
 * run at once; the figure is their sum.
 */
async function kmsMix(env: Env, server: Server): Promise<LoadResult> {
  const md = (op: string) => ({ awsPrincipalArn: "arn:aws:iam::123456789012:user/Alice", kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", kmsOperation: op, kmsRequestId: "4112f4d6-db54-4af4-ae30-c55a22a8dfae", kmsViaService: "ebs" });
  const aad = Buffer.alloc(64, 3).toString("base64");
  const encBody = JSON.stringify({ requestMetadata: md("Encrypt"), plaintext: Buffer.alloc(32, 7).toString("base64"), additionalAuthenticatedData: aad, encryptionAlgorithm: "AES_GCM", ciphertextDataIntegrityValueAlgorithm: "SHA_256" });
  const encPath = ENCRYPT_PATH;
  const encHeaders = await signRequest(server.port, encPath, encBody);
  const made = await request(`${server.url}${encPath}`, { method: "POST", headers: encHeaders, body: encBody, dispatcher: server.agent });
  const c = (await made.body.json()) as Record<string, string>;
  if (made.statusCode !== 200) throw new Error(`mix: Encrypt with CDIV got ${made.statusCode}: ${JSON.stringify(c)}`);
  const decBody = JSON.stringify({ requestMetadata: md("Decrypt"), ciphertext: c.ciphertext, initializationVector: c.initializationVector, authenticationTag: c.authenticationTag, additionalAuthenticatedData: aad, ciphertextMetadata: c.ciphertextMetadata, encryptionAlgorithm: "AES_GCM" });
  const metaBody = JSON.stringify({ requestMetadata: md("DescribeKey") });
  const healthBody = JSON.stringify({ requestMetadata: { kmsRequestId: "4112f4d6-db54-4af4-ae30-c55a22a8dfae", kmsOperation: "KmsHealthCheck" } });
  const decPath = `${PREFIX}/kms/xks/v1/keys/${KEY}/decrypt`;
  const metaPath = `${PREFIX}/kms/xks/v1/keys/${KEY}/metadata`;
  const healthPath = `${PREFIX}/kms/xks/v1/health`;
  const part = async (p: string, body: string, shape: string[]) => {
    const file = path.join(env.dir, `mix-${path.basename(p)}.json`);
    fs.writeFileSync(file, body);
    const headers = await signRequest(server.port, p, body);
    return h2load(["-D", "8", ...shape, "-d", file, ...Object.entries(headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`])], `${server.url}${p}`);
  };
  const rs = await Promise.all([
    part(encPath, encBody, ["-c", "8", "-m", "8"]),
    part(decPath, decBody, ["-c", "8", "-m", "8"]),
    part(metaPath, metaBody, ["-c", "2", "-m", "4"]),
    part(healthPath, healthBody, ["-c", "1", "-m", "1", "--rps", "10"]),
  ]);
  const sum = (k: "rps" | "requests" | "non2xx") => rs.reduce((a, r) => a + r[k], 0);
  const non2xxByStatus: Record<string, number> = {};
  for (const r of rs) for (const [code, n] of Object.entries(r.non2xxByStatus)) non2xxByStatus[code] = (non2xxByStatus[code] ?? 0) + n;
  return { rps: sum("rps"), requests: sum("requests"), non2xx: sum("non2xx"), non2xxByStatus, p50: Math.max(...rs.map((r) => r.p50)), p99: Math.max(...rs.map((r) => r.p99)), max: Math.max(...rs.map((r) => r.max)) };
}

/**
 * c5, c2, c5s: every PKCS#11 call delayed (5 ms, then 2 ms), zero-IV mode (nShield: the HSM makes the
 * IV, no C_GenerateRandom per request), 32 sessions, 128 streams in flight for 8 s with the /ping
 * probe; then at 5 ms a steady 1800 req/s. The baseline build gets the same load (8 s, with its
 * warm-up), so that both rows measure the same thing; with XKSCTL_BENCH_BASELINE_SHORT=1 it gets
 * 1,500 requests instead (-n), for a build that makes PKCS#11 calls on the event loop (decision
 * 0002's table). Such a short load ends before the /ping probe starts at 2 s, so that probe then
 * measures an idle server, and the rate includes the ramp-up: a baseline run that way looked
 * better on /ping and worse on throughput than the same code run as "current" (docs/performance.md).
 */
async function slow(env: Env, build: Build): Promise<RunFigures> {
  const out: RunFigures = {};
  for (const delay of [5, 2] as const) {
    const config = settingsFile(env, `slow-${delay}`, { session_pool_max_size: SLOW_SESSIONS }, { can_generate_iv: true, is_zero_iv_required: true });
    const server = await startServer(env, config, SLOW_ENV(env, delay, "zero"), build);
    try {
      const enc = encryptArgs(env, await signAndCheck(env, server));
      const short = build === "baseline" && process.env.XKSCTL_BENCH_BASELINE_SHORT === "1";
      const load = short ? ["-n", "1500", "-c", "8", "-m", "16", ...enc] : ["-D", "8", "--warm-up-time", "1", "-c", "8", "-m", "16", ...enc];
      const [r, ping] = await withPingProbe(server, load);
      if (delay === 5) Object.assign(out, { c5: r, c5Ping: ping });
      else Object.assign(out, { c2: r, c2Ping: ping });
      if (delay === 5 && build === "current") {
        const [c5s, c5sPing] = await withPingProbe(server, [...STEADY_1800, ...enc]);
        Object.assign(out, { c5s, c5sPing });
      }
    } finally {
      await server.stop();
    }
  }
  return out;
}

/**
 * c5r: the 5 ms HSM with SoftHSM's capabilities (can_generate_iv = false), so IVs come from
 * C_GenerateRandom, 256 per call, each call delayed as a network HSM would. Bounded by -n.
 */
async function slowRandomIv(env: Env): Promise<RunFigures> {
  const config = settingsFile(env, "slow-random-iv", { session_pool_max_size: SLOW_SESSIONS });
  const server = await startServer(env, config, SLOW_ENV(env, 5, "none"));
  try {
    const enc = encryptArgs(env, await signAndCheck(env, server));
    const [c5r, c5rPing] = await withPingProbe(server, ["-D", "8", "-c", "8", "-m", "16", ...enc]);
    return { c5r, c5rPing };
  } finally {
    await server.stop();
  }
}

// ---------------------------------------------------------------- flood (issue 8)

/** What one flood measured: the load (status counts, latencies) and /ping on its own connection during it. */
export interface FloodRun {
  /** serve's worker processes: 1, or its default (one per CPU, at most one per session). */
  workers: 1 | "default";
  load: LoadResult;
  ping: LoadResult;
}

/**
 * The pause between the warm-up flood and the measured one, ms: longer than the 1.6 s in which a
 * cap that doubled with time alone would have gone from 1 back to 256.
 */
const FLOOD_PAUSE_MS = 2000;

/** The flood against one worker, then serve's default worker count, then the bare server. */
export interface FloodFigures {
  serve: FloodRun[];
  /** The same flood against bench/bare-server.mjs: node:http2 alone, in the same run. */
  bare: LoadResult;
}

/** The flood's load; before it, a discarded warm-up of the same shape (JIT) and FLOOD_PAUSE_MS. */
const FLOOD = ["-c", "20", "-m", "100"];
async function floodWarmUp(url: string, enc: string[]): Promise<void> {
  await h2load(["-n", "20000", ...FLOOD, ...enc], url); // warm-up (JIT), discarded
  await sleep(FLOOD_PAUSE_MS); // the measured flood is a second wave, as a pulsed attack sends
}

/**
 * flood: far beyond capacity, as issue 8 measured it: 20 connections x 100 streams of signed
 * Encrypt (2000 in flight) against plain SoftHSM with a pool of 2 sessions, for 8 s after a
 * discarded warm-up of the same shape and a 2 s pause (a second wave), and /ping from a second
 * h2load while it runs; against one worker, then serve's default (one per CPU: 2 here, with one
 * session each). Every answer must be 200 or 429 within KMS's 250 ms. Then the same flood against
 * the bare server (bareFlood): how fast node:http2 alone answers it on this host today.
 */
async function flood(env: Env): Promise<FloodFigures> {
  const runs: FloodRun[] = [];
  let enc: string[] = [];
  let config = "";
  for (const workers of [1, "default"] as const) {
    config = settingsFile(env, `flood-${workers}`, { session_pool_max_size: 2 }, undefined, workers);
    const server = await startServer(env, config);
    try {
      enc = encryptArgs(env, await signAndCheck(env, server));
      await floodWarmUp(`${server.url}${ENCRYPT_PATH}`, enc);
      const [load, ping] = await withPingProbe(server, ["-D", "8", ...FLOOD, ...enc]);
      runs.push({ workers, load, ping });
    } finally {
      await server.stop();
    }
  }
  return { serve: runs, bare: await bareFlood(env, enc, config) };
}

/**
 * The flood against bench/bare-server.mjs: the serve requests' headers and body (the signature is
 * not checked there), the HTTP/2 settings serve advertises for `config` (the flood's settings) and
 * its connection window, the proxy's 429 for everything.
 */
async function bareFlood(env: Env, enc: string[], config: string): Promise<LoadResult> {
  const { settings } = loadSettings(config, defaultValidateDeps({}));
  const options = {
    cert: env.pki.serverCert,
    key: env.pki.serverKey,
    settings: h2Settings(transportLimits(settings)),
    windowBytes: CONNECTION_WINDOW_BYTES,
    body: OVERLOADED.body,
    headers: OVERLOADED_HEADERS,
  };
  const child = spawn(process.execPath, [path.join(REPO, "bench/bare-server.mjs")], { env: { ...process.env, BARE_SERVER: JSON.stringify(options) }, stdio: ["ignore", "pipe", "inherit"] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("bench/bare-server.mjs did not listen within 10 s")), 10_000);
      child.once("exit", (code) => reject(new Error(`bench/bare-server.mjs exited (code ${code})`)));
      child.stdout!.once("data", (d: Buffer) => (clearTimeout(timer), resolve(Number(/listening (\d+)/.exec(d.toString())?.[1]))));
    });
    const url = `https://127.0.0.1:${port}${ENCRYPT_PATH}`;
    await floodWarmUp(url, enc);
    const load = await h2load(["-D", "8", ...FLOOD, ...enc], url);
    // As for serve (Server.stop): a server that exited during the flood makes the figures worthless.
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`bench/bare-server.mjs exited during the flood (code ${child.exitCode}, signal ${child.signalCode})`);
    return load;
  } finally {
    child.kill("SIGTERM");
  }
}

/**
 * Non-2xx counts by status, e.g. "12× 429 (admission's log: 10 max_service_time_milli)": what
 * serve's summary lines counted during the run, by the [server] key that refused. The log counts
 * the whole run, so under a flood it also has the streams still in flight when h2load's -D timer
 * ended (h2load leaves those out); a 429 count above the log's is the session pool's.
 */
export function statusCounts(r: Pick<LoadResult, "non2xxByStatus" | "refusedBy">): string {
  const by = Object.entries(r.refusedBy ?? {});
  const admission = by.length > 0 ? ` (admission's log: ${by.map(([limit, n]) => `${n} ${limit}`).join(", ")})` : "";
  return Object.entries(r.non2xxByStatus)
    .map(([c, n]) => `${n}× ${c}${c === "429" ? admission : ""}`)
    .join(", ");
}

/** The flood's table: status counts, p50/p99/max; the bare server's row last, as the host's bound. */
export function floodReport(f: FloodFigures): string {
  const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "n/a");
  const counts = (r: LoadResult) => [`${r.requests - r.non2xx}× 2xx`, statusCounts(r)].filter(Boolean).join(", ");
  const okCell = (r: LoadResult) => (r.ok && Number.isFinite(r.ok.p50) ? `${fmt(r.ok.p50)} / ${fmt(r.ok.max)}` : "n/a");
  const lateCell = (r: LoadResult) => (r.late ? `${r.late.all} (${r.late.ok}× 2xx)` : "n/a");
  const row = (what: string, r: LoadResult) => `| ${what} | ${r.requests} | ${counts(r)} | ${fmt(r.p50)} | ${fmt(r.p99)} | **${fmt(r.max)}** | ${lateCell(r)} | ${okCell(r)} |`;
  const who = (w: FloodRun["workers"]) => (w === 1 ? "1 worker" : "default workers");
  return [
    `| flood (issue 8) | answers | statuses | p50 ms | p99 ms | max ms | answers over ${KMS_DEADLINE_MS} ms | 2xx alone: p50 / max ms |`,
    "|---|---|---|---|---|---|---|---|",
    ...f.serve.flatMap((r) => [
      row(`signed Encrypt, 20 connections x 100 streams, 2 sessions, 8 s, ${who(r.workers)}`, r.load),
      row(`GET /ping during the flood (-c 1 -m 1 --rps 100, 4 s), ${who(r.workers)}`, r.ping),
    ]),
    row("baseline, not a target: the same flood against a bare node:http2 server (bench/bare-server.mjs: serve's TLS and HTTP/2 settings, a fixed 429, no admission, SigV4 or HSM), 1 process", f.bare),
  ].join("\n");
}

// ---------------------------------------------------------------- calibration

/** How fast this machine is, in figures comparable with platform-notes.md §4 and across machines. */
export interface Calibration {
  /** Sync GenerateRandom + EncryptInit + Encrypt (AES-GCM, 32 bytes) in a tight loop, one session. */
  rawSoftHsmEncryptPerSec: number;
  /** Speed-up of two CPU-bound processes over one (2.0 = two real cores). */
  twoProcessSpeedup: number;
}

function rawSoftHsm(env: Env, n = 20000): number {
  const p = new pkcs11js.PKCS11();
  p.load(SOFTHSM_LIB);
  p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  try {
    const slot = p.C_GetSlotList(true).find((x) => p.C_GetTokenInfo(x).label.trim() === env.token.label)!;
    const s = p.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    p.C_Login(s, pkcs11js.CKU_USER, env.token.pin);
    p.C_FindObjectsInit(s, [{ type: pkcs11js.CKA_LABEL, value: KEY }]);
    const [key] = p.C_FindObjects(s, 1);
    p.C_FindObjectsFinal(s);
    const plaintext = Buffer.alloc(32);
    const out = Buffer.alloc(48);
    const aad = Buffer.alloc(67);
    const once = () => {
      const iv = p.C_GenerateRandom(s, Buffer.alloc(12));
      p.C_EncryptInit(s, { mechanism: pkcs11js.CKM_AES_GCM, parameter: { type: pkcs11js.CK_PARAMS_GCM, iv, ivBits: 96, aad, tagBits: 128 } as pkcs11js.IParams }, key!);
      p.C_Encrypt(s, plaintext, out);
    };
    for (let i = 0; i < 2000; i++) once(); // warm-up
    const t = performance.now();
    for (let i = 0; i < n; i++) once();
    return n / ((performance.now() - t) / 1000);
  } finally {
    p.C_Finalize();
  }
}

/** Wall time of `k` processes each running the same fixed CPU-bound loop. */
async function burn(k: number): Promise<number> {
  const t = performance.now();
  const loop = "let x = 0; for (let i = 0; i < 2e8; i++) x += i % 7; if (x < 0) console.log(x);";
  await Promise.all(Array.from({ length: k }, () => new Promise((r) => execFile(process.execPath, ["-e", loop], { timeout: 60_000 }, r))));
  return performance.now() - t;
}

async function calibrate(env: Env): Promise<Calibration> {
  const one = await burn(1);
  const two = await burn(2);
  return { rawSoftHsmEncryptPerSec: rawSoftHsm(env), twoProcessSpeedup: (2 * one) / two };
}

// ---------------------------------------------------------------- report

/**
 * Answers a second that were 2xx: h2load's req/s counts every finished stream, and a 429 is not
 * throughput (admission control answers them cheaply, so counting them would flatter a ratio).
 */
export function okRps(r: LoadResult): number {
  const noResponse = r.non2xxByStatus["no response"] ?? 0;
  const statusedNon2xx = Object.entries(r.non2xxByStatus).reduce((a, [code, n]) => (code === "no response" ? a : a + n), 0);
  const all = r.requests + noResponse;
  return all === 0 ? 0 : (r.rps * (r.requests - statusedNon2xx)) / all;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Medians over runs, with the req/s range; non-2xx is the sum, so one bad run shows. */
export interface Summary extends LoadResult {
  rpsMin: number;
  rpsMax: number;
}

export function summarize(results: LoadResult[]): Summary {
  const f = (k: "rps" | "requests" | "p50" | "p99" | "max") => median(results.map((r) => r[k]));
  const non2xxByStatus: Record<string, number> = {};
  for (const r of results) for (const [code, n] of Object.entries(r.non2xxByStatus)) non2xxByStatus[code] = (non2xxByStatus[code] ?? 0) + n;
  const refused: Record<string, number> = {};
  for (const r of results) for (const [limit, n] of Object.entries(r.refusedBy ?? {})) refused[limit] = (refused[limit] ?? 0) + n;
  return {
    ...(Object.keys(refused).length > 0 ? { refusedBy: refused } : {}),
    rps: f("rps"),
    requests: f("requests"),
    non2xx: results.reduce((n, r) => n + r.non2xx, 0),
    non2xxByStatus,
    p50: f("p50"),
    p99: f("p99"),
    max: f("max"),
    rpsMin: Math.min(...results.map((r) => r.rps)),
    rpsMax: Math.max(...results.map((r) => r.rps)),
  };
}

const LABELS: Record<ScenarioId, string> = {
  ping: "a. GET /ping, plain SoftHSM, 1 worker (-n 20000 -c 16 -m 8)",
  encrypt: "a. signed Encrypt, plain SoftHSM, 1 worker (-n 20000 -c 16 -m 8)",
  steady: "b. signed Encrypt at a steady 1800 req/s, plain SoftHSM, 1 worker (-c 18 -m 8 --rps 100, connections 1 ms apart, 10 s)",
  bursts: "b10. signed Encrypt at 1800 req/s in bursts every 10 ms, 1 worker (-c 4 -m 8 --rps 450, 10 s; not a target)",
  mix: "m. KMS mix (Encrypt+CDIV, Decrypt, GetKeyMetadata, health; 19 connections, 8 s), 1 worker",
  pingW: "a. GET /ping, plain SoftHSM, default workers",
  encryptW: "a. signed Encrypt, plain SoftHSM, default workers",
  steadyW: "b. signed Encrypt at a steady 1800 req/s, plain SoftHSM, default workers",
  burstsW: "b10. signed Encrypt at 1800 req/s in bursts every 10 ms, default workers",
  mixW: "m. KMS mix, default workers",
  c5: "c5. signed Encrypt, every call 5 ms, zero IV, 32 sessions (-c 8 -m 16, 8 s)",
  c5Ping: "c5. GET /ping during c5 (-c 1 -m 1 --rps 100, 4 s)",
  c2: "c2. signed Encrypt, every call 2 ms, zero IV, 32 sessions (-c 8 -m 16, 8 s)",
  c2Ping: "c2. GET /ping during c2",
  c5s: "c5s. signed Encrypt at 1800 req/s, every call 5 ms",
  c5sPing: "c5s. GET /ping during c5s",
  c5r: "c5r. signed Encrypt, every call 5 ms, IVs from C_GenerateRandom (-c 8 -m 16, 8 s)",
  c5rPing: "c5r. GET /ping during c5r",
};

/** The markdown tables and the JSON document of all runs. */
export function report(all: Partial<Record<Build, RunFigures[]>>, runs: number, cal: Calibration, source: SourceState): { markdown: string; json: unknown } {
  const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : "n/a");
  const rows: string[] = [];
  const targets: { build: Build; target: string; measured: string; met: boolean }[] = [];
  const scenarios: Record<string, unknown> = {};
  for (const build of ["current", "baseline"] as Build[]) {
    const figs = all[build];
    if (!figs || figs.length === 0) continue;
    const m: Partial<Record<ScenarioId, Summary>> = {};
    for (const id of Object.keys(LABELS) as ScenarioId[]) {
      const results = figs.map((f) => f[id]).filter((r): r is LoadResult => r !== undefined);
      if (results.length === 0) continue;
      const s = (m[id] = summarize(results));
      const rps = runs > 1 ? `${fmt(s.rps)} (${fmt(s.rpsMin)}–${fmt(s.rpsMax)})` : fmt(s.rps);
      const codes = statusCounts(s);
      const ceiling = id === "c5" || id === "c2" ? ` (${(s.rps / slowCeiling(id === "c5" ? 5 : 2)).toFixed(2)} × ceiling ${fmt(slowCeiling(id === "c5" ? 5 : 2))})` : "";
      rows.push(`| ${LABELS[id]} | ${build} | ${rps}${ceiling} | ${fmt(s.p50, 2)} | ${fmt(s.p99, 2)} | ${s.non2xx}${codes ? ` (${codes})` : ""} |`);
    }
    const { steady, steadyW, c5, c5Ping } = m as Record<ScenarioId, Summary | undefined>;
    // Throughput ratios count 2xx answers only (okRps).
    const per = (a: ScenarioId, b: ScenarioId) => (figs.every((f) => f[a] && f[b]) ? median(figs.map((f) => okRps(f[a]!) / okRps(f[b]!))) : undefined);
    if (build === "current") {
      for (const [enc, ping, who] of [["encrypt", "ping", "1 worker"], ["encryptW", "pingW", "default workers"]] as const) {
        const r = per(enc, ping);
        if (r !== undefined) targets.push({ build, target: `plain SoftHSM, ${who}: Encrypt ≥ 0.3 × /ping req/s (stretch 0.5; issue 9)`, measured: `${r.toFixed(3)} (2xx only, median of per-run ratios)`, met: r >= 0.3 });
      }
      for (const [s, who] of [[steady, "1 worker"], [steadyW, "default workers"]] as const) {
        if (s) targets.push({ build, target: `plain SoftHSM, ${who}: p99 ≤ 5 ms at a steady 1800 req/s (issue 9)`, measured: `p99 ${fmt(s.p99, 2)} ms at ${fmt(s.rps)} req/s`, met: s.p99 <= 5 && s.rps >= 1800 * 0.95 && s.non2xx === 0 });
      }
      for (const [mix, ping, who] of [["mix", "ping", "1 worker"], ["mixW", "pingW", "default workers"]] as const) {
        const r = per(mix, ping);
        if (r !== undefined) targets.push({ build, target: `KMS mix, ${who}: ≥ 0.25 × /ping req/s (issue 9)`, measured: `${r.toFixed(3)} (2xx only)`, met: r >= 0.25 });
      }
      for (const [enc, ping, who] of [["encrypt", "ping", "1 worker"], ["encryptW", "pingW", "default workers"]] as const) {
        const ok = figs.filter((f) => f[enc]?.cpuUsPerRequest !== undefined && f[ping]?.cpuUsPerRequest !== undefined);
        if (ok.length === 0) continue;
        const ratio = (k: "cpuUsPerRequest" | "loopCpuUsPerRequest") => median(ok.map((f) => f[enc]![k]! / f[ping]![k]!));
        const us = (id: ScenarioId, k: "cpuUsPerRequest" | "loopCpuUsPerRequest") => fmt(median(ok.map((f) => f[id]![k]!)), 1);
        const r = ratio("cpuUsPerRequest");
        targets.push({
          build,
          target: `plain SoftHSM, ${who}: server CPU per signed Encrypt ≤ 2.5 × /ping's (issue 9)`,
          measured: `${r.toFixed(2)}× (${us(enc, "cpuUsPerRequest")} against ${us(ping, "cpuUsPerRequest")} µs; event-loop threads ${ratio("loopCpuUsPerRequest").toFixed(2)}×, ${us(enc, "loopCpuUsPerRequest")} against ${us(ping, "loopCpuUsPerRequest")} µs)`,
          met: r <= 2.5,
        });
      }
      const scale = per("encryptW", "encrypt");
      if (scale !== undefined) targets.push({ build, target: "default workers ≥ 1.3 × one worker's Encrypt req/s (issue 9)", measured: `${scale.toFixed(3)}× (2xx only)`, met: scale >= 1.3 });
      const res = figs.flatMap((f) => [f.resources, f.resourcesW]).filter((r): r is Resources => r !== undefined);
      if (res.length > 0) {
        const rss = Math.max(...res.flatMap((r) => r.peakRssMb));
        const ready = median(res.map((r) => r.readyMs));
        targets.push({ build, target: "peak RSS ≤ 150 MB per process under load (issue 9)", measured: `max ${fmt(rss)} MB (${res.map((r) => r.peakRssMb.map((x) => fmt(x)).join("+")).join("; ")})`, met: rss <= 150 });
        targets.push({ build, target: "ready to serve ≤ 1 s after start (first signed Encrypt answered; issue 9)", measured: `median ${fmt(ready)} ms (${res.map((r) => fmt(r.readyMs)).join(", ")})`, met: ready <= 1000 });
      }
    }
    if (c5) targets.push({ build, target: `every call 5 ms, 32 sessions: Encrypt ≥ 0.8 × ${fmt(slowCeiling(5))} req/s (issue 7)`, measured: `${fmt(c5.rps)} req/s = ${(c5.rps / slowCeiling(5)).toFixed(2)} × ceiling`, met: c5.rps >= 0.8 * slowCeiling(5) && c5.non2xx === 0 });
    if (c5Ping) targets.push({ build, target: "every call 5 ms: /ping p99 ≤ 10 ms during that load (issue 7)", measured: `p50 ${fmt(c5Ping.p50, 2)} ms, p99 ${fmt(c5Ping.p99, 2)} ms`, met: c5Ping.p99 <= 10 });
    scenarios[build] = { median: m, runs: figs };
  }
  const markdown = [
    `Medians of ${runs} run(s). req/s as h2load reports it (range over runs in brackets); p50/p99 in ms from h2load --log-file; ` +
      "non-2xx summed over runs. The slow scenarios' ceiling is sessions / (delay × PKCS#11 calls per Encrypt).",
    "",
    "| scenario | build | req/s | p50 ms | p99 ms | non-2xx |",
    "|---|---|---|---|---|---|",
    ...rows,
    "",
    "| target | build | measured | met |",
    "|---|---|---|---|",
    ...targets.map((t) => `| ${t.target} | ${t.build} | ${t.measured} | ${t.met ? "yes" : "no"} |`),
    "",
    `Machine: ${os.cpus().length} CPUs; two CPU-bound processes run ${cal.twoProcessSpeedup.toFixed(2)}× as fast as one; ` +
      `raw SoftHSM sync encrypt (GenerateRandom + EncryptInit + Encrypt, one session, pkcs11js): ${fmt(cal.rawSoftHsmEncryptPerSec)}/s.`,
  ].join("\n");
  const json = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version, h2load: execFileSync("h2load", ["--version"], { encoding: "utf8" }).trim() },
    source,
    baseline: process.env.XKSCTL_BENCH_BASELINE,
    calibration: cal,
    runs,
    scenarios,
    targets,
  };
  return { markdown, json };
}

/** HEAD and the files of src/ and bin/ that differ from it, when git is available. */
export interface SourceState {
  commit?: string;
  modified?: string[];
}

/** Read-only git: the tree changes under other engineers' hands, so record what was built. */
function sourceState(): SourceState {
  try {
    const git = (...args: string[]) => execFileSync("git", args, { cwd: REPO, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return { commit: git("rev-parse", "HEAD"), modified: git("status", "--porcelain", "--", "src", "bin", "native").split("\n").filter(Boolean) };
  } catch {
    return {};
  }
}

// ---------------------------------------------------------------- main

/** Runs every scenario `--runs` times (default 3); the baseline build's slow scenarios, when named, next to the current one's, in turns. */
export async function main(argv = process.argv.slice(2)): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { runs: { type: "string", default: "3" }, only: { type: "string" } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 10) throw new Error(`--runs must be 1-10, got ${values.runs}`);
  if (values.only !== undefined && !["flood", "slow", "plain"].includes(values.only)) throw new Error(`--only takes: flood, slow, plain (got ${values.only})`);
  const baseline = process.env.XKSCTL_BENCH_BASELINE;
  if (baseline && !fs.existsSync(path.join(baseline, "bin/xksctl.cjs"))) throw new Error(`XKSCTL_BENCH_BASELINE=${baseline} has no bin/xksctl.cjs (a built checkout)`);
  const env = setup();
  try {
    if (values.only === "flood") {
      process.stderr.write("bench: flood (20 connections x 100 streams, 2 sessions)\n");
      const figs = await flood(env);
      const file = path.join(OUT_DIR, "flood.json");
      fs.writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), source: sourceState(), flood: figs }, null, 2)}\n`);
      process.stdout.write(`${floodReport(figs)}\n\nJSON: ${path.relative(process.cwd(), file)}\n`);
      return 0;
    }
    const all: Partial<Record<Build, RunFigures[]>> = { current: [], ...(baseline ? { baseline: [] } : {}) };
    const step = (what: string) => process.stderr.write(`bench: ${what}\n`);
    const source = sourceState(); // scripts/bench.sh built dist/ from this just before
    step("calibrating (CPU scaling, raw SoftHSM)");
    const cal = await calibrate(env);
    for (let i = 1; i <= runs; i++) {
      const figs: RunFigures = {};
      if (values.only !== "slow") {
        step(`run ${i}/${runs}: plain SoftHSM, 1 worker (a, b, mix)`);
        Object.assign(figs, await plain(env, 1));
        step(`run ${i}/${runs}: plain SoftHSM, default workers (a, b, mix)`);
        Object.assign(figs, await plain(env, "default"));
      }
      // The two builds' slow scenarios run back to back, in turns: whichever runs second finds the
      // host warmer (page cache, CPU frequency), so the baseline goes first in every even run.
      const baselineSlow = async () => {
        step(`run ${i}/${runs}: baseline build ${baseline} (c5, c2)`);
        all.baseline!.push(await slow(env, "baseline"));
      };
      const withBaseline = baseline !== undefined && values.only !== "plain";
      if (withBaseline && i % 2 === 0) await baselineSlow();
      if (values.only !== "plain") {
        step(`run ${i}/${runs}: every call 5 ms and 2 ms (c5, c2, c5s)`);
        Object.assign(figs, await slow(env, "current"));
      }
      if (withBaseline && i % 2 === 1) await baselineSlow();
      if (values.only === undefined) {
        step(`run ${i}/${runs}: every call 5 ms, IVs from C_GenerateRandom (c5r)`);
        Object.assign(figs, await slowRandomIv(env));
      }
      all.current!.push(figs);
    }
    const floodFigs = values.only !== undefined ? undefined : (step("flood (20 connections x 100 streams, 2 sessions)"), await flood(env));
    const { markdown, json } = report(all, runs, cal, source);
    const file = path.join(OUT_DIR, "results.json");
    fs.writeFileSync(file, `${JSON.stringify({ ...(json as object), ...(floodFigs ? { flood: floodFigs } : {}) }, null, 2)}\n`);
    process.stdout.write(`${markdown}\n\n${floodFigs ? `${floodReport(floodFigs)}\n\n` : ""}JSON: ${path.relative(process.cwd(), file)}\n`);
    return 0;
  } finally {
    cleanup(env);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      process.stderr.write(`bench could not run: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
