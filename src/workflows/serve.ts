/**
 * `serve`: the XKS proxy in one process, or in worker processes (node:cluster, one per CPU by
 * default, `[server] workers`). Each process opens the HSM from the settings (library, token,
 * login, its share of the session pool — before it listens), then the proxy on that HSM.
 *
 * With workers, the primary opens no HSM and serves nothing: it starts the workers, shares the
 * listening sockets with them, forwards SIGHUP (after checking the file parses, so a reload happens
 * everywhere or nowhere) and SIGTERM/SIGINT (every worker drains), replaces a worker that dies,
 * and turns a worker's start-up failure into the same one-line error a single process gives.
 * The primary holds the running settings (as last accepted by the reload policy) and hands them
 * to every worker it starts: a worker never starts from the file, which may hold a refused reload.
 */
import cluster, { type Worker } from "node:cluster";
import os from "node:os";
import v8 from "node:v8";
import type { Settings } from "../config/types.js";
import { XksctlError, isXksctlError, type ErrorCode } from "../errors.js";
import { createLogger, hsmEventLogger, type Logger } from "../proxy/log.js";
import { caDigest, reloadRefusals } from "../proxy/reload-policy.js";
import { clusterText, createMetrics, listenMetrics, localText, shareWithPrimary } from "../proxy/metrics.js";
import fs from "node:fs";
import { parseChain } from "../platform/x509.js";
import { startProxy } from "../proxy/start.js";
import type { EkmModule } from "../proxy/health.js";
import { readEnquiry } from "../hsm/nfast/enquiry.js";
import { createExec, findTool } from "../platform/exec.js";
import { openHsm } from "./open-hsm.js";

/** What `serve` takes besides the settings. */
export interface ServeOptions {
  port?: number;
  pingPort?: number;
  /** Re-reads and validates the settings file (SIGHUP). */
  reloadSettings: () => Settings;
  stdout: { write(s: string): void };
  now: () => number;
  /** Where the nShield tools are looked up (PATH, NFAST_HOME). */
  env: NodeJS.ProcessEnv;
  /** A worker: the digest of the mTLS client CA the service started with (from the primary). */
  startCaDigest?: string;
}

/** A running proxy: `stopped` resolves when it has ended, after a signal or on its own. */
export interface Serving {
  /**
   * Resolves to the exit code once serving has ended: 0 after SIGTERM/SIGINT; 1 when no worker is
   * left, or when the HSM could not be re-initialised in this process ([pkcs11] reset_wait_milli).
   */
  stopped: Promise<number>;
  port: number;
}

/** Messages from a worker to the primary. */
type WorkerMessage =
  | { xksctl: "settings?" }
  | { xksctl: "hsm-open" }
  | { xksctl: "ready"; port: number }
  | { xksctl: "startup-error"; code?: ErrorCode; message: string; remedy?: string; details?: string[] };
/**
 * The primary's answer to "settings?": what it runs (resolved secrets included: never log it) and
 * the digest of the mTLS client CA it started with (the file is read again by the worker).
 */
type PrimaryMessage = { xksctl: "settings"; settings: Settings; caDigest?: string } | { xksctl: "modules"; modules: EkmModule[] };

const WORKER_INDEX = "XKSCTL_WORKER_INDEX";
const WORKER_SESSIONS = "XKSCTL_WORKER_SESSIONS";

/** How many worker processes: the setting, or one per CPU; never more than the pool has sessions. */
export function workerCount(settings: Settings, cpus = os.availableParallelism()): number {
  const wanted = settings.server.workers ?? cpus;
  return Math.max(1, Math.min(wanted, settings.pkcs11.session_pool_max_size));
}

/**
 * Whether the host has a CPU beyond the workers' event loops (one worker on a 2-CPU host, say):
 * only then do the HSM driver's threads watch for the next call (docs/decisions/0008; with every
 * CPU running an event loop, the watching cost the default workers 25% of their Encrypts).
 */
export function cpuToSpare(settings: Settings, cpus = os.availableParallelism()): boolean {
  return cpus > workerCount(settings, cpus);
}

/** Worker `i`'s share of `total` sessions (shares differ by at most one and add up to `total`). */
export function sessionShare(total: number, workers: number, i: number): number {
  return Math.floor(total / workers) + (i < total % workers ? 1 : 0);
}

const isServeWorker = () => cluster.isWorker && process.env[WORKER_INDEX] !== undefined;

/**
 * In a worker of `serve`: the settings the primary runs, asked for over the IPC channel (asked,
 * not awaited: a message sent before this process listens would be lost). Elsewhere undefined:
 * the caller loads the file.
 */
export async function settingsFromPrimary(): Promise<{ settings: Settings; caDigest?: string } | undefined> {
  if (!isServeWorker()) return undefined;
  return new Promise((resolve, reject) => {
    const gone = () => reject(new Error("the primary process exited before sending the settings"));
    const onMessage = (m: PrimaryMessage) => {
      if (m?.xksctl !== "settings") return;
      process.off("message", onMessage);
      process.off("disconnect", gone);
      resolve({ settings: m.settings, caDigest: m.caDigest });
    };
    process.on("message", onMessage);
    process.once("disconnect", gone);
    process.send!({ xksctl: "settings?" } satisfies WorkerMessage);
  });
}

/**
 * How far V8 lets the old generation grow past what survived its last full GC, in percent. On a
 * host with gigabytes of memory V8's own factor is up to 4×, and under load a worker's RSS climbed
 * to 175–190 MB and stayed there; at 50% it peaked at 121–127 MB with the same throughput
 * (docs/decisions/0009-heap-growth.md). Unlike --max-old-space-size this sets no ceiling, so a
 * larger live heap is never an out-of-memory crash.
 */
export const HEAP_GROWING_PERCENT = 50;

/** Applies HEAP_GROWING_PERCENT to this process, unless node was started with the flag. */
function limitHeapGrowth(): void {
  if (process.execArgv.some((a) => a.startsWith("--heap-growing-percent"))) return;
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

/** Starts the proxy: in this process, or as the primary of worker processes. */
export async function serve(settings: Settings, opts: ServeOptions): Promise<Serving> {
  limitHeapGrowth();
  if (isServeWorker()) return serveWorker(settings, opts);
  const n = workerCount(settings);
  if (n === 1) return serveOne(settings, opts);
  return servePrimary(settings, opts, n);
}

/** Where GetHealthStatus's per-module details come from: `enquiry` here, or the primary. */
type ModuleSource = { get: () => EkmModule[] | undefined; stop(): void };

/** What a worker does differently from a single process. */
interface AsWorker {
  /** Told once the HSM is open (the primary then starts the next worker). */
  onHsmOpen(): void;
  /** The modules the primary reads with `enquiry` (one reader per host, not one per worker). */
  modules: ModuleSource;
  /** cpuToSpare of the primary's settings: a worker's own share of the sessions would make it count fewer workers. */
  cpuToSpare: boolean;
}

/**
 * One process: the logger, the metrics (only when [metrics] is on: counting costs CPU on every
 * request), the HSM, the proxy. In a worker the primary serves the metrics and reads `enquiry`.
 */
async function serveOne(settings: Settings, opts: ServeOptions, worker?: AsWorker): Promise<Serving> {
  const logger = createLogger(settings.tracing, opts.stdout);
  // A worker's signals are its primary's to handle until it listens; a single process handles its own.
  const early = worker ? undefined : startupSignals(logger);
  try {
    const serving = await startOne(settings, opts, logger, early, worker);
    if (!early?.stopping) {
      // No turn of the event loop since startProxy installed its own handlers: no signal in between.
      early?.listening();
      return serving;
    }
  } catch (err) {
    if (!early?.stopping) {
      early?.release();
      throw err;
    }
  }
  // Stopped during the start, whether it then listened or failed: the stop is what happened.
  return endedBySignal();
}

/**
 * A start that a SIGTERM or SIGINT stopped: the signal's re-raise (startupSignals) ends the process,
 * past any handler the start installed meanwhile, so this never settles.
 */
const endedBySignal = (): Promise<never> => new Promise<never>(() => undefined);

/** serveOne's start: the metrics, the HSM, the proxy; each failure cleans up what it had opened. */
async function startOne(settings: Settings, opts: ServeOptions, logger: Logger, early: StartupSignals | undefined, worker?: AsWorker): Promise<Serving> {
  const m = settings.metrics?.is_enabled ? settings.metrics : undefined;
  const metrics = m ? createMetrics() : undefined;
  // Set once the HSM cannot be re-initialised in this process (a call hung after a device error):
  // drain and exit 1, so that systemd (or the primary, for a worker) starts a fresh process.
  let unrecoverable: string | undefined;
  let stopServing: ((reason: string) => void) | undefined;
  const onUnrecoverable = (message: string) => {
    if (unrecoverable !== undefined) return;
    unrecoverable = message;
    logger.log("ERROR", `${message}: exiting with code 1 so that a new process loads the library afresh`, { exitCode: 1 });
    stopServing?.("the PKCS#11 library cannot be re-initialised");
  };
  let hsm;
  try {
    hsm = await openHsm(settings, { onEvent: hsmEventLogger(logger), onUnrecoverable, cpuToSpare: worker ? worker.cpuToSpare : cpuToSpare(settings), ...(metrics ? { onOperation: (op, s, ok) => metrics.hsmOperation(op, s, ok) } : {}) });
  } catch (err) {
    await logger.close();
    throw err;
  }
  const h = hsm;
  worker?.onHsmOpen();
  let metricsListener: { port: number; close(): Promise<void> } | undefined;
  if (m && metrics) {
    metrics.setSources({
      sessions: () => {
        const s = h.stats();
        return { open: s.sessions, inUse: s.inUse, waiting: s.waiting };
      },
      certificateNotAfter: certificateNotAfterOf(settings),
    });
    if (!worker) {
      metricsListener = await listenMetrics(m.ip, m.port, localText(metrics)).catch(async (err) => {
        await h.close();
        await logger.close();
        throw err;
      });
      logger.log("INFO", "metrics listening", { address: `${m.ip}:${metricsListener.port}` });
    } else shareWithPrimary(metrics);
  }
  // A reload may list keys that were deleted and made again under the same label: drop cached handles.
  const reloadSettings = () => {
    const next = opts.reloadSettings();
    h.forgetKeyHandles();
    return next;
  };
  const modules = worker ? worker.modules : nshieldModules(opts.env);
  const listener = metricsListener;
  if (early?.stopping) {
    // Stopped while the HSM opened: never listen; the signal's own action ends the process once the log is closed.
    await listener?.close().catch(() => undefined);
    await h.close().catch(() => undefined);
    return endedBySignal();
  }
  let serving;
  try {
    serving = await startProxy(settings, { hsm: h, logger, metrics, ekmModules: modules?.get, port: opts.port, pingPort: opts.pingPort, reloadSettings, now: opts.now, startCaDigest: opts.startCaDigest });
  } catch (err) {
    // startProxy has closed the HSM; an open metrics listener would keep the process alive.
    modules?.stop();
    await listener?.close();
    await logger.close();
    throw err;
  }
  void serving.stopped.then(() => {
    modules?.stop();
    return listener?.close();
  });
  stopServing = serving.stop;
  if (unrecoverable !== undefined) serving.stop("the PKCS#11 library cannot be re-initialised");
  return { port: serving.port, stopped: serving.stopped.then(() => (unrecoverable === undefined ? 0 : 1)) };
}

/** How long a stop during start-up waits for the log to close before the signal ends the process. */
const STARTUP_STOP_LOG_MS = 1000;

/**
 * A single process's signals until the proxy listens and handles its own (as the primary handles
 * them from its first moment). The HSM open may be inside a call that never returns, so a SIGTERM
 * or SIGINT is logged ("stopped") and then takes its default action: it ends the process, as
 * systemd expects of a stop. A SIGHUP is kept and raised again once the proxy listens (its default
 * action would end the process: `systemctl reload` during a slow login must not stop the service).
 */
interface StartupSignals {
  /** A SIGTERM or SIGINT came: it ends the process once the log is closed. */
  readonly stopping: boolean;
  /** The start failed: the handlers go, the error is the command's. */
  release(): void;
  /** The proxy listens with handlers of its own: these go, and a SIGHUP that came is raised again. */
  listening(): void;
}

function startupSignals(logger: Logger): StartupSignals {
  let stopping = false;
  let hup = false;
  const onHup = () => {
    if (!hup && !stopping) logger.log("INFO", "SIGHUP during start-up: the settings file is read again once the proxy listens");
    hup = true;
  };
  const onStop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.log("INFO", "shutting down during start-up: the proxy was not listening yet", { signal });
    logger.log("INFO", "stopped");
    const closed = Promise.race([logger.close(), new Promise<void>((r) => setTimeout(r, STARTUP_STOP_LOG_MS).unref())]);
    void closed.finally(() => {
      release();
      // Any handler installed meanwhile (a start that reached the listen) would catch the signal
      // and drain a second time, logging "stopped" twice: the signal's default action ends the process.
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    });
  };
  const onTerm = () => onStop("SIGTERM");
  const onInt = () => onStop("SIGINT");
  const release = () => {
    process.off("SIGHUP", onHup);
    process.off("SIGTERM", onTerm);
    process.off("SIGINT", onInt);
  };
  process.on("SIGHUP", onHup);
  process.on("SIGTERM", onTerm);
  process.on("SIGINT", onInt);
  return {
    get stopping() {
      return stopping;
    },
    release,
    listening() {
      release();
      if (hup) process.kill(process.pid, "SIGHUP");
    },
  };
}

/** How often `enquiry` is read for GetHealthStatus's per-module ekmFleetDetails. */
const ENQUIRY_REFRESH_MS = 60_000;

/**
 * On an nShield client (the `enquiry` tool is found): the modules behind the token, read in the
 * background every minute, one ekmFleetDetails entry each (load sharing puts several behind one
 * PKCS#11 slot, which PKCS#11 alone does not show). Elsewhere undefined: one entry for the token.
 */
function nshieldModules(env: NodeJS.ProcessEnv, onRead?: (modules: EkmModule[]) => void): ModuleSource | undefined {
  if (!findTool("enquiry", env)) return undefined;
  const exec = createExec(env);
  let modules: EkmModule[] | undefined;
  let timer: NodeJS.Timeout | undefined;
  const read = () => {
    readEnquiry(exec).then(
      (r) => {
        modules = r.modules.map((m) => ({ id: `module #${m.index}${m.serial ? ` (ESN ${m.serial})` : ""}`, model: `nShield${m.version ? ` firmware ${m.version}` : ""} (mode ${m.mode}${m.hardwareStatus ? `, hardware ${m.hardwareStatus}` : ""})`, usable: m.usable }));
        onRead?.(modules);
      },
      () => undefined, // keep the last answer; the deep check still tells whether the HSM works
    ).finally(() => (timer = setTimeout(read, ENQUIRY_REFRESH_MS).unref()));
  };
  read();
  return { get: () => modules, stop: () => clearTimeout(timer) };
}

/** When the served certificate expires, read at scrape time (the file may be replaced and reloaded). */
function certificateNotAfterOf(settings: Settings): (() => number | undefined) | undefined {
  const file = settings.security.is_tls_enabled ? settings.tls?.tls_cert_pem : undefined;
  if (!file) return undefined;
  return () => {
    try {
      const leaf = parseChain(fs.readFileSync(file, "utf8"))[0];
      return leaf?.notAfter.getTime();
    } catch {
      return undefined;
    }
  };
}

/**
 * A worker, on the primary's settings (settingsFromPrimary): its share of the sessions; tells the
 * primary when it listens or why it could not start.
 */
async function serveWorker(settings: Settings, opts: ServeOptions): Promise<Serving> {
  const sessions = Number(process.env[WORKER_SESSIONS]);
  const share = (s: Settings): Settings => (Number.isInteger(sessions) && sessions > 0 ? { ...s, pkcs11: { ...s.pkcs11, session_pool_max_size: sessions } } : s);
  try {
    // Reloaded settings get the same share, so a reload compares like with like.
    let modules: EkmModule[] | undefined;
    const onModules = (m: PrimaryMessage) => {
      if (m?.xksctl === "modules") modules = m.modules;
    };
    process.on("message", onModules);
    const serving = await serveOne(share(settings), { ...opts, reloadSettings: () => share(opts.reloadSettings()) }, {
      onHsmOpen: () => process.send?.({ xksctl: "hsm-open" } satisfies WorkerMessage),
      modules: { get: () => modules, stop: () => process.off("message", onModules) },
      cpuToSpare: cpuToSpare(settings),
    });
    process.send?.({ xksctl: "ready", port: serving.port } satisfies WorkerMessage);
    // The primary is gone (killed hard): drain and exit rather than serve unsupervised.
    const orphaned = () => process.kill(process.pid, "SIGTERM");
    process.once("disconnect", orphaned);
    // Drained: close the IPC channel, which would otherwise keep this process alive.
    void serving.stopped.then(() => {
      process.off("disconnect", orphaned);
      cluster.worker?.disconnect();
    });
    return serving;
  } catch (err) {
    const message: WorkerMessage = isXksctlError(err)
      ? { xksctl: "startup-error", code: err.code, message: err.message, remedy: err.remedy, details: [...err.details] }
      : { xksctl: "startup-error", message: (err as Error)?.message ?? String(err) };
    await new Promise<void>((resolve) => (process.send ? process.send(message, undefined, undefined, () => resolve()) : resolve()));
    // The IPC channel would keep this process alive: a replacement that cannot start must exit
    // (with the CLI's code 1) for the primary to count it and try again.
    cluster.worker?.disconnect();
    throw err;
  }
}

/** Restarts of a worker that dies right after starting, before the primary gives up on it. */
const MAX_QUICK_RESTARTS = 5;
/** A worker that lived this long is healthy: its crash counter starts again. */
const HEALTHY_AFTER_MS = 30_000;

/** How long a new worker has the HSM to itself before the next replacement starts anyway. */
const REPLACEMENT_TURN_MS = 5_000;

/** The primary: starts `n` workers, waits until each listens, forwards signals, replaces the dead. */
async function servePrimary(settings: Settings, opts: ServeOptions, n: number): Promise<Serving> {
  const logger = createLogger(settings.tracing, opts.stdout);
  const total = settings.pkcs11.session_pool_max_size;
  const args = process.argv.slice(2);
  cluster.setupPrimary({ exec: process.argv[1]!, args, silent: false });
  /** `sent`: the settings it was given at its start. */
  type WorkerEntry = { worker: Worker; startedAt: number; quickRestarts: number; ready: boolean; sent?: Settings };
  const workers = new Map<number, WorkerEntry>();
  // What the workers run: the settings at start, then each reload the policy accepts. A worker
  // started later gets these, never the file as it is now (docs/operations.md, "Signals").
  let running = settings;
  const runningCa = caDigest(settings);
  let stopping = false;
  let resolveStopped!: (code: number) => void;
  const stopped = new Promise<number>((r) => (resolveStopped = r));

  // One `enquiry` reader for the host; every listening worker gets each answer.
  const modules = nshieldModules(opts.env, (known) => {
    for (const { worker, ready } of workers.values()) if (ready && worker.isConnected()) worker.send({ xksctl: "modules", modules: known } satisfies PrimaryMessage);
  });
  void stopped.then(() => modules?.stop());

  const fork = (i: number, quickRestarts: number): Worker => {
    const worker = cluster.fork({ [WORKER_INDEX]: String(i), [WORKER_SESSIONS]: String(sessionShare(total, n, i)) });
    const entry: WorkerEntry = { worker, startedAt: opts.now(), quickRestarts, ready: false };
    workers.set(i, entry);
    // A message to a worker that has just exited fails with EPIPE. Node's cluster does this itself
    // when a worker that could not start disconnects and exits at once (its reply to the
    // disconnect), and without a listener that error ended the primary with a stack trace. The
    // worker's exit is handled by the 'exit' event.
    worker.on("error", (err: NodeJS.ErrnoException) => {
      if (logger.enabled("DEBUG")) logger.log("DEBUG", "message to a worker failed", { worker: i, reason: err.code ?? err.message });
    });
    worker.on("message", (m: WorkerMessage) => {
      if (m?.xksctl === "settings?") {
        entry.sent = running;
        worker.send({ xksctl: "settings", settings: running, caDigest: runningCa } satisfies PrimaryMessage);
      } else if (m?.xksctl === "ready") {
        entry.ready = true;
        const known = modules?.get();
        if (known) worker.send({ xksctl: "modules", modules: known } satisfies PrimaryMessage);
        // A reload was accepted while it started (it had no SIGHUP handler then): it reloads now.
        if (entry.sent !== running) worker.process.kill("SIGHUP");
      }
    });
    return worker;
  };

  /** Replacements waiting for their back-off. */
  const replacing = new Set<NodeJS.Timeout>();
  /** Until the start has succeeded or failed. */
  let starting = true;
  /**
   * The end of the primary's work (a signal, a start that cannot complete, no worker left): no
   * more replacements, every worker stopped (SIGTERM: each drains), `last` logged, the log closed.
   */
  const halt = async (last?: () => void) => {
    stopping = true;
    for (const t of replacing) clearTimeout(t);
    replacing.clear();
    await stopWorkers(workers, "SIGTERM");
    last?.();
    await logger.close();
    process.off("SIGHUP", hup);
  };
  // Signals are handled from the first moment: a SIGTERM during start-up stops the workers
  // (never the primary's default action, which would orphan them).
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    logger.log("INFO", "shutting down: every worker drains its in-flight requests", { signal });
    void halt(() => logger.log("INFO", "stopped")).then(() => resolveStopped(0));
  };
  const hup = () => {
    // Stopping (a signal, or a start that failed): nothing to reload. The handler stays until the
    // end, because without one a SIGHUP would kill the primary while its workers stop.
    if (stopping) return;
    // Each worker applies the same file with the same rules, so checking it here first makes a
    // reload happen in every worker or in none.
    let next;
    try {
      next = opts.reloadSettings();
    } catch (err) {
      const detail = isXksctlError(err) ? [err.message, ...err.details].join("; ") : (err as Error).message;
      logger.log("ERROR", "settings reload failed; every worker keeps the running settings", { detail });
      return;
    }
    // The same policy as the workers' (reload-policy.ts): a refused file never becomes what a new
    // worker starts from. The workers still get the SIGHUP, and refuse it, logging and counting why.
    if (reloadRefusals(running, next, runningCa).length === 0) running = next;
    // Only workers that listen have their SIGHUP handler; one still starting reloads once it listens.
    for (const { worker, ready } of workers.values()) if (ready) worker.process.kill("SIGHUP");
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
  process.on("SIGHUP", hup);

  // Replacements open the HSM one at a time too, as at start-up: workers that died together
  // would otherwise log in together (SoftHSM can then fail one of them: CKR_GENERAL_ERROR). A new
  // worker has the HSM to itself until it has opened it, exits, or REPLACEMENT_TURN_MS passes (an
  // HSM that hangs one login must not keep every other worker from being replaced).
  // The first turn is the start's own (set below): a worker that died after it listened, while the
  // ones after it were still starting, is replaced once the start is over.
  let turn: Promise<unknown> = Promise.resolve();
  const replace = (i: number, quick: number) => {
    turn = turn.then(
      () =>
        new Promise<void>((resolve) => {
          if (stopping) return resolve();
          const timer = setTimeout(() => done(), REPLACEMENT_TURN_MS).unref();
          const done = () => {
            clearTimeout(timer);
            resolve();
          };
          const next = fork(i, quick);
          next.on("message", (m: WorkerMessage) => {
            if (m?.xksctl === "hsm-open") done();
            else if (m?.xksctl === "ready") logger.log("INFO", "worker replaced", { worker: i, pid: next.process.pid });
            else if (m?.xksctl === "startup-error") logger.log("ERROR", "a new worker could not start", { worker: i, pid: next.process.pid, code: m.code, detail: m.message });
          });
          next.once("exit", done);
        }),
    );
  };

  cluster.on("exit", (worker, code, signal) => {
    const entry = [...workers.entries()].find(([, w]) => w.worker === worker);
    if (!entry || stopping) return;
    const [i, w] = entry;
    if (starting && !w.ready) return; // it never listened: the start's own rule fails the start
    const quick = opts.now() - w.startedAt < HEALTHY_AFTER_MS ? w.quickRestarts + 1 : 0;
    if (quick > MAX_QUICK_RESTARTS) {
      logger.log("ERROR", "worker keeps dying right after start; not starting it again", { worker: i, code, signal, restarts: w.quickRestarts });
      workers.delete(i);
      if (workers.size === 0) {
        // Nothing listens any more: a primary that stayed up would never be restarted by systemd.
        logger.log("ERROR", "no worker left: exiting with code 1 so that the service manager restarts xksctl", { workers: n });
        void halt().then(() => resolveStopped(1));
      }
      return;
    }
    logger.log("ERROR", "worker exited; starting a new one", { worker: i, pid: worker.process.pid, code, signal });
    // Not unref'd: with every worker dead, this timer is what keeps the primary alive until it
    // forks again (an empty event loop would end the primary with code 0, which systemd's
    // Restart=on-failure ignores). A stop clears it.
    const timer = setTimeout(() => {
      replacing.delete(timer);
      replace(i, quick);
    }, Math.min(200 * 2 ** quick, 5000));
    replacing.add(timer);
  });
  // Start the workers and wait until each listens (or one cannot start: then stop the others).
  // Each opens the HSM (login, its sessions) only after the one before has: logins and session
  // opens do not pile up on the HSM at boot, and file-backed tokens (SoftHSM) see one login at a time.
  const start = new Promise<{ port: number } | { error: WorkerMessage & { xksctl: "startup-error" } }>((resolve) => {
    let ready = 0;
    let port = 0;
    const startFrom = (i: number) => {
      if (i >= n || stopping) return;
      const w = fork(i, 0);
      w.on("message", (m: WorkerMessage) => {
        if (m?.xksctl === "hsm-open") startFrom(i + 1);
        else if (m?.xksctl === "ready") {
          port = m.port;
          if (++ready === n) resolve({ port });
        } else if (m?.xksctl === "startup-error") resolve({ error: m });
      });
      // A worker that exits before it listens fails the start. One that exits after it listened
      // (while a later one still starts) is a worker that died: replaced (the 'exit' handler above),
      // unless the workers are being stopped (a signal during start-up: then no later one may come).
      w.once("exit", (code, signal) => {
        if (ready < n && (!workers.get(i)?.ready || stopping)) resolve({ error: { xksctl: "startup-error", message: `worker ${i} exited during start-up (${signal ?? `code ${code}`})` } });
      });
    };
    startFrom(0);
  });
  turn = start;
  const started = await start;
  starting = false;
  if (stopping) return { stopped, port: "port" in started ? started.port : 0 }; // a signal during start-up
  /** A start that cannot complete: the workers stop and the primary lets go of everything it holds. */
  const abortStart = async () => {
    modules?.stop();
    await halt();
  };
  if ("error" in started) {
    await abortStart();
    const e = started.error;
    throw e.code ? new XksctlError(e.code, e.message, { ...(e.remedy ? { remedy: e.remedy } : {}), details: e.details ?? [] }) : new Error(e.message);
  }
  const m = settings.metrics;
  if (m?.is_enabled) {
    const listener = await listenMetrics(m.ip, m.port, clusterText()).catch(async (err) => {
      await abortStart();
      throw err;
    });
    logger.log("INFO", "metrics listening", { address: `${m.ip}:${listener.port}` });
    void stopped.then(() => listener.close());
  }
  logger.log("INFO", "xksctl workers listening", {
    workers: n,
    pids: [...workers.values()].filter((w) => !w.worker.isDead()).map((w) => w.worker.process.pid),
    sessionsPerWorker: Array.from({ length: n }, (_, i) => sessionShare(total, n, i)),
    port: started.port,
  });

  return { stopped, port: started.port };
}

/** Sends `signal` to every worker and waits until all have exited (SIGKILL after 30 s). */
async function stopWorkers(workers: Map<number, { worker: Worker }>, signal: NodeJS.Signals): Promise<void> {
  await Promise.all(
    [...workers.values()].map(
      ({ worker }) =>
        new Promise<void>((resolve) => {
          if (worker.isDead()) return resolve();
          const kill = setTimeout(() => worker.process.kill("SIGKILL"), 30_000);
          worker.once("exit", () => {
            clearTimeout(kill);
            resolve();
          });
          worker.process.kill(signal);
        }),
    ),
  );
}

