/**
 * Where the CPU of a signed Encrypt goes, stage by stage, against GET /ping on the same server
 * (issue 9: "profile each stage, report each stage's share"). One `xksctl serve` with 1 worker on
 * plain SoftHSM; `perf record` samples every thread of it (the event loop, the native driver's
 * threads, V8's helpers) during `h2load -n 40000 -c 16 -m 8` of each load, and the samples are
 * put into stages by their call stacks. Node runs with --perf-basic-prof so JIT frames have names.
 *
 *   npm run build && node --import tsx bench/profile.ts     (needs perf: apt-get install linux-perf)
 *
 * Figures are shares of the server's samples and µs per request from /proc; noisy on a shared VM,
 * so compare the two loads of one run. Writes build/bench/profile.json.
 */
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ENCRYPT_PATH, cleanup, encryptArgs, h2load, h2loadCpu, settingsFile, setup, signAndCheck, startServer, type LoadResult } from "./run.js";

const OUT = path.resolve(import.meta.dirname, "..", "build", "bench");
const REQUESTS = "40000";

/** Stages of the event-loop thread, matched from the leaf of a stack upward: the first frame that matches decides. */
/** Logging is a stage wherever it is in the stack (its socket write is logging, not the answer's). */
const LOGGING_STAGE = "logging: the request's line (finish(), our logger, pino, the write to stdout)";
const LOGGING = /node_modules\/pino|\blog file|\bredact file|\bfinish file/;
const LOOP_STAGES: [string, RegExp][] = [
  ["SigV4 (parse the header, hash the body and the canonical request, HMAC)", /verifySigV4|parseAuthorization|canonicalRequest|stringToSign|sha256Hex/],
  ["JSON and field checks (parse, validate, decode, build the answer)", /parseJsonBody|JsonParser|checkEncrypt|checkMetadata|checkDecrypt|JSON\.|JsonStringify|limitAndDecode|buildHsmAad|JS:\*?encrypt file|\bhandle file/],
  ["HSM hand-over (pool, submit to the driver, completion callback)", /gcmEncrypt|encryptGcm|operate file|xkshsm|ThreadSafeFunction|acquire file|release file|timed file/],
  ["answer: compatibility layer writeHead/end, respond, trailers", /\bsend file|writeHead node|end node:internal\/http2\/compat|respond node|sendTrailers|answerPing/],
  ["request intake: stream and compat objects, routing, admission", /sessionOnStream|onServerStream|onSessionHeaders|onRequest file|requestContext|tryAdmit/],
  ["request body: DATA frames to one Buffer", /readBody|settle file|onStreamRead node|Readable\.push|addChunk|HandleDataFrame|OnDataChunk/],
  ["stream close and clean-up", /onStreamClose|closeStream|_destroy node|endReadableNT/],
  ["garbage collection on the event loop", /Scavenger|MarkCompact|Heap::|ArrayBufferSweeper|GCTracer/],
  ["nghttp2 send, TLS encrypt, socket write", /SendPendingData|nghttp2_session_mem_send|ssl3_write|tls_write|__libc_write|writev|DoTryWrite|uv__write/],
  ["nghttp2 receive, TLS decrypt, socket read", /nghttp2_session_mem_recv|ConsumeHTTP2Data|ssl3_read|tls_get_more|ClearOut|uv__read|OnStreamRead/],
  ["promise and nextTick machinery", /processTicksAndRejections|runMicrotasks|RunMicrotasks|Promise/],
  ["event loop: epoll, timers", /uv__io_poll|epoll|uv__run_timers|processTimers|listOnTimeout|uv_run/],
];
/** Frames that stand for their caller's stage (an allocation belongs to whoever allocates). */
const TRANSPARENT = /^(malloc|_int_malloc|_int_free|cfree|free|malloc_consolidate|unlink_chunk|__mem(move|set|cpy)|operator new|operator delete)/;
/** What the driver's threads spend their time on, matched anywhere in the stack, first match wins. */
const DRIVER_STAGES: [string, RegExp][] = [
  ["driver: SoftHSM's object-file checks (openat, fstat, fcntl locks, read, close, getpid)", /openat|newfstatat|ksys_read|sys_close|fcntl|getpid|path_openat|vfs_read|__fput/],
  ["driver: futex sleep and wake-up, scheduling", /futex|finish_task_switch|schedule|sched_yield/],
  ["driver: malloc/free and C++ strings (SoftHSM's allocations)", /malloc|_int_free|cfree|operator new|operator delete|basic_string|unlink_chunk/],
  ["driver: AES-GCM and other crypto", /aes|gcm|AES|GCM|EVP_|CRYPTO_|ossl_|libcrypto/],
  ["driver: SoftHSM's own code", /libsofthsm2/],
];

interface Sample {
  tid: number;
  frames: string[];
}

function samples(data: string): Sample[] {
  const out = execFileSync("perf", ["script", "-i", data, "-F", "tid,ip,sym,dso"], { encoding: "utf8", maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "ignore"] });
  return out
    .split("\n\n")
    .map((block) => block.split("\n").filter((l) => l.trim() !== ""))
    .filter((lines) => lines.length > 1)
    .map((lines) => ({ tid: Number(lines[0]!.trim()), frames: lines.slice(1).map((l) => l.trim().replace(/^[0-9a-f]+ /, "")) }));
}

/** Sample counts per stage, over every thread of the server (main thread = the pid). */
function stages(all: Sample[], pid: number): Map<string, number> {
  const driverTids = new Set(all.filter((s) => s.frames.some((f) => /xkshsm\.node|libsofthsm2/.test(f))).map((s) => s.tid));
  const counts = new Map<string, number>();
  const add = (k: string) => counts.set(k, (counts.get(k) ?? 0) + 1);
  for (const s of all) {
    if (s.tid === pid && s.frames.some((f) => LOGGING.test(f))) add(LOGGING_STAGE);
    else if (s.tid === pid) {
      const frame = s.frames.find((f) => !TRANSPARENT.test(f) && LOOP_STAGES.some(([, re]) => re.test(f)));
      add(frame ? LOOP_STAGES.find(([, re]) => re.test(frame))![0] : "other V8 and Node internals");
    } else if (driverTids.has(s.tid)) {
      const stack = s.frames.join("\n");
      add(DRIVER_STAGES.find(([, re]) => re.test(stack))?.[0] ?? "driver: other");
    } else add("V8's helper threads (compiler, GC)");
  }
  return counts;
}

async function main(): Promise<void> {
  execFileSync("perf", ["--version"], { stdio: "ignore" });
  fs.mkdirSync(OUT, { recursive: true });
  const env = setup();
  process.env.XKSCTL_BENCH_NODE_ARGS = `--perf-basic-prof ${process.env.XKSCTL_BENCH_NODE_ARGS ?? ""}`.trim();
  const results: Record<string, { load: LoadResult; stages: Record<string, number> }> = {};
  /** Runs `loads` on one server, each under perf. */
  const profile = async (config: string, loads: readonly (readonly [string, "ping" | "encrypt"])[]) => {
    const server = await startServer(env, config);
    try {
      const pid = server.pids()[0]!;
      const enc = encryptArgs(env, await signAndCheck(env, server));
      await h2load(["-n", "4000", "-c", "16", "-m", "8", ...enc], `${server.url}${ENCRYPT_PATH}`); // warm-up, discarded
      for (const [name, what] of loads) {
        const data = path.join(OUT, `profile-${name}.perf.data`);
        const perf = spawn("perf", ["record", "-F", "1999", "-g", "-o", data, "-p", String(pid)], { stdio: "ignore" });
        await sleep(500);
        const load = await h2loadCpu(server, ["-n", REQUESTS, "-c", "16", "-m", "8", ...(what === "encrypt" ? enc : [])], what === "encrypt" ? `${server.url}${ENCRYPT_PATH}` : `${server.url}/ping`);
        perf.kill("SIGINT");
        await new Promise((r) => perf.once("exit", r));
        results[name] = { load, stages: Object.fromEntries(stages(samples(data), pid)) };
      }
    } finally {
      await server.stop();
    }
  };
  try {
    await profile(settingsFile(env, "profile", { session_pool_max_size: 8 }, undefined, 1), [["ping", "ping"], ["encrypt", "encrypt"]]);
    // serve's default logging: one INFO line per request on stdout (journald under systemd).
    await profile(settingsFile(env, "profile-logging", { session_pool_max_size: 8 }, undefined, 1, { is_stdout_writer_enabled: true, is_file_writer_enabled: false, level: "INFO" }), [["encryptLogged", "encrypt"]]);
  } finally {
    cleanup(env);
  }
  // µs per answered request of each stage: its share of the run's samples times the run's CPU per request.
  const perRequest = (name: string) => {
    const r = results[name]!;
    const total = Object.values(r.stages).reduce((a, b) => a + b, 0);
    return new Map(Object.entries(r.stages).map(([k, v]) => [k, (v / total) * r.load.cpuUsPerRequest!]));
  };
  const ping = perRequest("ping");
  const encrypt = perRequest("encrypt");
  const extra = (k: string) => encrypt.get(k)! - (ping.get(k) ?? 0);
  const names = [...encrypt.keys()].sort((a, b) => extra(b) - extra(a));
  const encTotal = results.encrypt!.load.cpuUsPerRequest!;
  const pingTotal = results.ping!.load.cpuUsPerRequest!;
  const fmt = (n: number | undefined) => (n ?? 0).toFixed(1);
  const logged = results.encryptLogged!.load;
  const withLog = perRequest("encryptLogged");
  const logging = withLog.get(LOGGING_STAGE);
  const lines = [
    `Server CPU per request (utime + stime over the run): /ping ${fmt(pingTotal)} µs, signed Encrypt ${fmt(encTotal)} µs = ${(encTotal / pingTotal).toFixed(2)}× (${results.encrypt!.load.requests} Encrypt answers, ${results.encrypt!.load.non2xx} of them not 2xx: a 429 costs less, so the Encrypt figures are a little low)`,
    `With serve's default logging (one INFO line per request on stdout), on a server of its own: signed Encrypt ${fmt(logged.cpuUsPerRequest)} µs (${logged.non2xx} not 2xx), of which the logging stage ${fmt(logging)} µs`,
    "",
    "| stage | /ping µs | Encrypt µs | Encrypt − /ping µs | share of Encrypt | Encrypt with logging µs |",
    "|---|---|---|---|---|---|",
    ...names.map((k) => `| ${k} | ${fmt(ping.get(k))} | ${fmt(encrypt.get(k))} | ${fmt(extra(k))} | ${((100 * encrypt.get(k)!) / encTotal).toFixed(0)}% | ${fmt(withLog.get(k))} |`),
    `| ${LOGGING_STAGE} | | | | | ${fmt(logging)} |`,
  ];
  console.log(lines.join("\n"));
  fs.writeFileSync(path.join(OUT, "profile.json"), `${JSON.stringify({ date: new Date().toISOString(), results }, null, 2)}\n`);
}

await main();
