/**
 * Fakes for the doctor unit tests: DoctorDeps where every effect is a test double unless
 * replaced, a settings file in a temp dir, a fake Hsm with switchable behaviour, and a helper
 * that runs some checks and returns their results by id.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import tls from "node:tls";
import { AWS_XKS_TRUSTED_ROOTS } from "../../../src/data/aws-xks-trusted-roots.js";
import { XksctlError } from "../../../src/errors.js";
import { HsmError, type GcmResult, type Hsm, type KeyInfo } from "../../../src/hsm/types.js";
import type { DoctorDeps } from "../../../src/workflows/doctor/deps.js";
import type { HttpClient } from "../../../src/workflows/doctor/http.js";
import { runDoctor, type CheckResult, type DoctorGroup, type DoctorOptions } from "../../../src/workflows/doctor/index.js";
import { testSettings, writeSettings } from "../../helpers/settings.js";
import { tempDir } from "../../helpers/tmp.js";

export const ME = process.getuid?.() ?? 0;

/** An HTTP client that must not be used. */
export const NO_HTTP: HttpClient = {
  request: async (r) => {
    throw new Error(`no HTTP in this test (${r.url})`);
  },
  close: async () => undefined,
};

/** Deps with real files and fakes for everything else. */
export function fakeDeps(over: Partial<DoctorDeps> = {}): DoctorDeps {
  return {
    env: {},
    cwd: process.cwd(),
    now: () => Date.now(),
    monotonicMs: () => 0,
    exec: {
      run: async (r) => {
        throw new XksctlError("XKS_TOOL_MISSING", `The nShield tool \`${r.tool}\` was not found (test).`);
      },
    },
    findTool: () => undefined,
    openHsm: async () => {
      throw new Error("no HSM in this test");
    },
    randomBytes: (n) => crypto.randomBytes(n),
    readFile: (f) => fs.readFileSync(f, "utf8"),
    stat: (f) => {
      const s = fs.statSync(f);
      return { mode: s.mode, uid: s.uid };
    },
    exists: (f) => fs.existsSync(f),
    currentUid: () => ME,
    userName: (uid) => (uid === ME ? "me" : uid === 4242 ? "xksctl" : undefined),
    uidOf: (name) => (name === "me" ? ME : name === "xksctl" ? 4242 : undefined),
    tcpConnect: async () => {
      throw Object.assign(new Error("connection refused"), { code: "ECONNREFUSED" });
    },
    lookup: async () => ["127.0.0.1"],
    http: NO_HTTP,
    trustedRoots: AWS_XKS_TRUSTED_ROOTS,
    systemRoots: () => tls.rootCertificates,
    ...over,
  };
}

/** A temp dir, removed when the test file's process exits (test/helpers/tmp.ts). */
export function tmpDir(prefix = "xksctl-doctor-"): string {
  return tempDir(prefix);
}

/** Writes the standard test settings (test/helpers/settings.ts) with a patch; returns the file. */
export function settingsFile(dir: string, patch: Record<string, unknown> = {}, opts: { cert?: string; key?: string } = {}): string {
  return writeSettings(dir, testSettings({ module: "/usr/lib/softhsm/libsofthsm2.so", tokenLabel: "doctor-test", pin: "1234", ...opts }, patch));
}

/** Runs doctor with these options and returns every result by id. */
export async function runChecks(deps: DoctorDeps, opts: DoctorOptions): Promise<Map<string, CheckResult>> {
  const report = await runDoctor(deps, opts);
  return new Map(report.checks.map((c) => [c.id, c]));
}

/** Runs the groups and returns one result (fails the test when the check did not run). */
export async function result(deps: DoctorDeps, opts: DoctorOptions & { groups: DoctorGroup[] }, id: string): Promise<CheckResult> {
  const r = (await runChecks(deps, opts)).get(id);
  if (!r) throw new Error(`check ${id} did not run`);
  return r;
}

/** Behaviour switches of the fake HSM. */
export interface FakeHsmOptions {
  keys?: KeyInfo[];
  /** The IV each encrypt returns (default: random 12 bytes). */
  iv?: () => Buffer;
  encryptError?: Error;
  decryptError?: Error;
  /** Decrypt returns other bytes. */
  corrupt?: boolean;
}

/** An Hsm that keeps plaintexts in memory (XOR "encryption": the tests judge doctor, not AES). */
export function fakeHsm(o: FakeHsmOptions = {}): Hsm & { closed: boolean } {
  const keys = o.keys ?? [{ label: "foo", keySpec: "AES_256", keyUsage: ["ENCRYPT", "DECRYPT"] }];
  const byLabel = (label: string) => {
    const k = keys.filter((x) => x.label === label);
    if (k.length === 0) throw new HsmError("key-not-found", `no key ${label}`);
    return k[0]!;
  };
  const h = {
    closed: false,
    async keyMetadata(label: string) {
      return byLabel(label);
    },
    async encrypt(label: string, plaintext: Buffer): Promise<GcmResult> {
      byLabel(label);
      if (o.encryptError) throw o.encryptError;
      return { ciphertext: Buffer.from(plaintext.map((b) => b ^ 0x5a)), iv: o.iv ? o.iv() : crypto.randomBytes(12), tag: crypto.randomBytes(16) };
    },
    async decrypt(label: string, ciphertext: Buffer): Promise<Buffer> {
      const k = byLabel(label);
      if (!k.keyUsage.includes("DECRYPT")) throw new HsmError("key-usage", "CKR_KEY_FUNCTION_NOT_PERMITTED");
      if (o.decryptError) throw o.decryptError;
      const back = Buffer.from(ciphertext.map((b) => b ^ 0x5a));
      if (o.corrupt) back[0] = back[0]! ^ 1;
      return back;
    },
    async listKeys() {
      return keys;
    },
    token: () => ({ label: "doctor-test", manufacturerId: "Fake", model: "HSM", serialNumber: "42", hardwareVersion: "1", firmwareVersion: "1" }),
    async selfTest() {},
    forgetKeyHandles() {},
    settleFinished() {},
    stats: () => ({ sessions: 1, inUse: 0, waiting: 0, inFlight: 0, resetting: false }),
    async close() {
      h.closed = true;
    },
  };
  return h;
}
