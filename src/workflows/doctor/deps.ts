/**
 * The effects doctor uses, in one object so tests can replace each: tools, the HSM, the clock,
 * files and accounts, DNS, TCP and HTTP. `doctorDeps(ctx)` gives the real ones, with the
 * context's test replacements (`ctx.operator` for exec / HSM, `ctx.doctor` for the rest).
 */
import dns from "node:dns/promises";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import tls from "node:tls";
import type { Context } from "../../context.js";
import type { Settings } from "../../config/types.js";
import { AWS_XKS_TRUSTED_ROOTS, type TrustedRootsData } from "../../data/aws-xks-trusted-roots.js";
import type { Hsm } from "../../hsm/types.js";
import { findTool, type Exec } from "../../platform/exec.js";
import { operatorDeps } from "../deps.js";
import { createHttpClient, type HttpClient } from "./http.js";

/** File facts doctor needs (mode, owner). */
export interface FileStat {
  mode: number;
  uid: number;
}

/** Every effect of a doctor run. */
export interface DoctorDeps {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Wall clock, ms since the epoch (certificate dates, SigV4 X-Amz-Date, clock skew). */
  now(): number;
  /** A monotonic clock in ms, for durations only. */
  monotonicMs(): number;
  /** Runs the nShield tools. */
  exec: Exec;
  /** Where a tool is found (PATH, $NFAST_HOME/bin, /opt/nfast/bin), or undefined. */
  findTool(name: string): string | undefined;
  openHsm(settings: Settings): Promise<Hsm>;
  randomBytes(n: number): Buffer;
  /** Reads a text file; throws the fs error (code ENOENT, EACCES, ...). */
  readFile(file: string): string;
  stat(file: string): FileStat;
  exists(file: string): boolean;
  /** The uid of the user running doctor. */
  currentUid(): number;
  /** Account name for a uid, and uid for a name (the passwd database). */
  userName(uid: number): string | undefined;
  uidOf(name: string): number | undefined;
  /** Opens and closes a TCP connection; rejects with the error (code ECONNREFUSED, ETIMEDOUT, ...). */
  tcpConnect(host: string, port: number, timeoutMs: number): Promise<void>;
  /** The addresses a name resolves to. */
  lookup(host: string): Promise<string[]>;
  http: HttpClient;
  /** AWS's list of roots KMS trusts (src/data/aws-xks-trusted-roots.ts). */
  trustedRoots: TrustedRootsData;
  /** Root certificates (PEM) of Node.js's store, to find the root above a chain's last intermediate. */
  systemRoots(): readonly string[];
}

/** A Context that may carry replacements for some doctor effects (tests). */
export interface DoctorContext extends Context {
  doctor?: Partial<DoctorDeps>;
}

/** Reads /etc/passwd (name → uid) once; tolerant of a missing file. */
function passwd(): Map<string, number> {
  const m = new Map<string, number>();
  try {
    for (const line of fs.readFileSync("/etc/passwd", "utf8").split("\n")) {
      const f = line.split(":");
      if (f.length >= 3 && f[0] && /^\d+$/.test(f[2]!)) m.set(f[0], Number(f[2]));
    }
  } catch {
    /* no passwd file: names cannot be resolved */
  }
  return m;
}

/** The real effects for a command, with the context's replacements. */
export function doctorDeps(ctx: Context): DoctorDeps {
  const given = (ctx as DoctorContext).doctor ?? {};
  const op = operatorDeps(ctx);
  let users: Map<string, number> | undefined;
  const table = (): Map<string, number> => (users ??= passwd());
  const real: DoctorDeps = {
    env: ctx.env,
    cwd: ctx.cwd,
    now: () => ctx.now(),
    monotonicMs: () => performance.now(),
    exec: op.exec,
    findTool: (name) => findTool(name, ctx.env),
    openHsm: op.openHsm,
    randomBytes: op.randomBytes,
    readFile: (f) => fs.readFileSync(f, "utf8"),
    stat: (f) => {
      const s = fs.statSync(f);
      return { mode: s.mode, uid: s.uid };
    },
    exists: (f) => fs.existsSync(f),
    currentUid: () => (typeof process.getuid === "function" ? process.getuid() : os.userInfo().uid),
    userName: (uid) => [...table()].find(([, id]) => id === uid)?.[0],
    uidOf: (name) => table().get(name),
    tcpConnect: (host, port, timeoutMs) =>
      new Promise<void>((resolve, reject) => {
        const socket = net.connect({ host, port });
        const timer = setTimeout(() => {
          socket.destroy();
          reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: "ETIMEDOUT" }));
        }, timeoutMs);
        socket.once("connect", () => {
          clearTimeout(timer);
          socket.end();
          socket.destroy();
          resolve();
        });
        socket.once("error", (err) => {
          clearTimeout(timer);
          reject(err);
        });
      }),
    lookup: async (host) => (await dns.lookup(host, { all: true })).map((a) => a.address),
    http: createHttpClient(),
    trustedRoots: AWS_XKS_TRUSTED_ROOTS,
    systemRoots: () => tls.rootCertificates,
  };
  return { ...real, ...given } as DoctorDeps;
}
