/**
 * Group `live`: the proxy called as KMS calls it. Requests go over HTTP/2 (undici, ALPN h2 with
 * HTTP/1.1 fallback), signed with SigV4 as KMS signs (service kms-xks-proxy, the store's region
 * and credential, SignedHeaders host;x-amz-date), with requestMetadata shaped like KMS's:
 * GetHealthStatus per store, GetKeyMetadata per key, Encrypt with AAD and a CDIV then Decrypt,
 * a request signed with a wrong secret (must be 401 AuthenticationFailedException), and the
 * local clock against the proxy's Date header (KMS's ±5 minutes). With --url, the same checks
 * run against any XKS proxy, without local settings. A store's [[external_key_stores.allow]]
 * rules may refuse doctor's made-up principal (403 AccessDeniedException): a warning, not a failure.
 */
import { cdiv } from "../../proxy/aad.js";
import { MAX_SKEW_MS } from "../../proxy/sigv4/verify.js";
import { isValidUriPrefix } from "../../rules.js";
import { describeHttpError, type HttpResponse } from "./http.js";
import { localProxyFacts, requireSettings } from "./facts.js";
import { KMS_SIGV4_SERVICE, signKmsRequest } from "./sigv4.js";
import type { CheckOutcome, DoctorCheck, DoctorRun } from "./types.js";

/** Above this the clocks are worth fixing before they drift out of KMS's window (MAX_SKEW_MS). */
const WARN_SKEW_MS = 60_000;
/** The example account of AWS's documentation, in the ARNs of doctor's requestMetadata. */
const ACCOUNT = "111122223333";
/** The awsPrincipalArn of doctor's GetKeyMetadata, Encrypt and Decrypt. */
const PRINCIPAL = `arn:aws:iam::${ACCOUNT}:role/xksctl-doctor`;

/** One key store as KMS sees it. */
interface LiveTarget {
  /** "store \"/prefix\"" (local) or the URL (--url). */
  label: string;
  baseUrl: string;
  prefix: string;
  region: string;
  accessKeyId: string;
  secret: string;
  keyIds: string[];
  ca?: string;
  servername?: string;
  trustNote: string;
  /** [server] service when it is not kms-xks-proxy (local settings only). */
  serviceSetting?: string;
  /** How many [[external_key_stores.allow]] rules the store has (local settings only). */
  allowRules?: number;
}

/** The stores of the local settings, or the --url target. */
function targets(run: DoctorRun): Promise<LiveTarget[]> {
  return run.once("live-targets", async () => {
    const u = run.opts.url;
    if (u) {
      const url = new URL(u.url);
      const prefix = url.pathname.replace(/\/+$/, "");
      return [
        {
          label: u.url,
          baseUrl: url.origin,
          prefix,
          region: u.region,
          accessKeyId: u.accessKeyId,
          secret: u.secret,
          keyIds: u.keyIds,
          ...(u.caPem ? { ca: u.caPem } : {}),
          trustNote: u.caPem ? `TLS verified against ${u.caFile}` : "TLS verified against Node.js's root store",
        },
      ];
    }
    const settings = await requireSettings(run);
    const p = await localProxyFacts(run);
    return settings.external_key_stores.map((s) => ({
      label: `store ${JSON.stringify(s.uri_path_prefix)}`,
      baseUrl: p.baseUrl,
      prefix: s.uri_path_prefix,
      region: settings.server.region,
      accessKeyId: s.credentials[0]?.accessKeyId ?? s.sigv4_access_key_id,
      secret: s.credentials[0]?.secretAccessKey ?? "",
      keyIds: s.xks_key_id_set,
      ...(p.ca ? { ca: p.ca } : {}),
      ...(p.servername ? { servername: p.servername } : {}),
      trustNote: p.trustNote,
      ...(settings.server.service !== KMS_SIGV4_SERVICE ? { serviceSetting: settings.server.service } : {}),
      allowRules: s.allow.length,
    }));
  });
}

/** A random UUID from the run's CSPRNG (kmsRequestId, as KMS's are). */
function uuid(run: DoctorRun): string {
  const b = run.deps.randomBytes(16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** What one XKS call returned. */
interface XksCall {
  res?: HttpResponse;
  json?: Record<string, unknown>;
  /** Network or TLS failure. */
  error?: string;
}

/** The proxy's Date header and the local time it was received at (for live.clock). */
interface DateSample {
  proxyMs: number;
  localMs: number;
}

/** Signs and sends one XKS API call. */
async function call(run: DoctorRun, t: LiveTarget, route: string, body: Record<string, unknown>, opts: { secret?: string; unsigned?: boolean } = {}): Promise<XksCall> {
  const url = `${t.baseUrl}${t.prefix}/kms/xks/v1/${route}`;
  const payload = JSON.stringify(body);
  const signed = opts.unsigned
    ? {}
    : signKmsRequest({ method: "POST", url, body: payload, accessKeyId: t.accessKeyId, secret: opts.secret ?? t.secret, region: t.region, now: run.deps.now() });
  try {
    const res = await run.deps.http.request({
      url,
      method: "POST",
      headers: { "content-type": "application/json", ...signed },
      body: payload,
      timeoutMs: 5000,
      ...(t.ca ? { ca: t.ca } : {}),
      ...(t.servername ? { servername: t.servername } : {}),
    });
    const date = res.headers.date;
    const proxyMs = typeof date === "string" ? Date.parse(date) : NaN;
    if (!Number.isNaN(proxyMs)) {
      const samples = await run.once("live-dates", async () => [] as DateSample[]);
      samples.push({ proxyMs, localMs: run.deps.now() });
    }
    let json: Record<string, unknown> | undefined;
    try {
      const v = JSON.parse(res.body) as unknown;
      if (v && typeof v === "object" && !Array.isArray(v)) json = v as Record<string, unknown>;
    } catch {
      /* not JSON */
    }
    return { res, ...(json ? { json } : {}) };
  } catch (err) {
    return { error: describeHttpError(err) };
  }
}

/** "401 AuthenticationFailedException (message)" for an error response. */
function errorOf(c: XksCall): string {
  if (c.error) return `no answer: ${c.error}`;
  const name = typeof c.json?.errorName === "string" ? c.json.errorName : "(no errorName)";
  const msg = typeof c.json?.errorMessage === "string" ? `: ${c.json.errorMessage}` : c.json ? "" : ` ${JSON.stringify(c.res!.body.slice(0, 80))}`;
  return `${c.res!.status} ${name}${msg}`;
}

/** The proxy's authorization refused the call (the store's allow rules), after SigV4 and routing passed. */
const isDenied = (c: XksCall): boolean => c.res?.status === 403 && c.json?.errorName === "AccessDeniedException";

/** Who refused doctor's principal, for the messages of live.metadata and live.crypto. */
function refusal(t: LiveTarget): string {
  const who = t.allowRules === undefined ? "the proxy's authorization" : `the store's [[external_key_stores.allow]] rules (${t.allowRules} in the settings)`;
  return `${who} refused doctor's made-up principal ${PRINCIPAL}`;
}

const protocolName = (p: string): string => (p === "h2" ? "HTTP/2" : p === "http/1.1" ? "HTTP/1.1" : p);

/** The clock difference seen so far (local − proxy), if any response carried a Date header. */
async function skewMs(run: DoctorRun): Promise<number | undefined> {
  const samples = await run.once("live-dates", async () => [] as DateSample[]);
  const s = samples[0];
  return s ? s.localMs - s.proxyMs : undefined;
}

function minutes(ms: number): string {
  const m = Math.abs(ms) / 60_000;
  return m >= 1 ? `${m.toFixed(1)} min` : `${Math.round(Math.abs(ms) / 1000)} s`;
}

/** Why a correctly signed request could fail authentication, for the message. */
async function authHints(run: DoctorRun, t: LiveTarget): Promise<string> {
  const hints: string[] = [];
  const skew = await skewMs(run);
  if (skew !== undefined && Math.abs(skew) > MAX_SKEW_MS - 1000) hints.push(`the clocks differ by ${minutes(skew)} (see live.clock)`);
  if (t.serviceSetting) hints.push(`[server] service is ${JSON.stringify(t.serviceSetting)} but KMS signs with ${KMS_SIGV4_SERVICE}`);
  return hints.length > 0 ? ` (${hints.join("; ")})` : "";
}

/** GetHealthStatus of each store, once per run. */
function health(run: DoctorRun, t: LiveTarget): Promise<XksCall> {
  return run.once(`live-health:${t.label}`, () => call(run, t, "health", { requestMetadata: { kmsRequestId: uuid(run), kmsOperation: "KmsHealthCheck" } }));
}

/** Combines per-store outcomes: the worst status wins; messages joined. */
function combine(parts: CheckOutcome[]): CheckOutcome {
  const rank = { pass: 0, skip: 1, warn: 2, fail: 3 } as const;
  const worst = parts.reduce((a, b) => (rank[b.status] > rank[a.status] ? b : a));
  const message = parts.map((p) => p.message).join("; ");
  return { status: worst.status, message, ...(worst.fix ? { fix: worst.fix } : {}) };
}

/** Runs `check` for each target; one outcome. */
async function perTarget(run: DoctorRun, check: (t: LiveTarget) => Promise<CheckOutcome>): Promise<CheckOutcome> {
  const parts: CheckOutcome[] = [];
  for (const t of await targets(run)) parts.push(await check(t));
  return combine(parts);
}

const localFix = (run: DoctorRun, what: string): string =>
  run.mode === "url" ? `Check ${what} on the proxy at ${run.opts.url!.url} (its vendor's settings and logs).` : `Check ${what} in the settings the proxy runs with (after a change: restart it or send SIGHUP), and the proxy's log.`;

const healthCheck: DoctorCheck = {
  id: "live.health",
  group: "live",
  title: "a SigV4-signed GetHealthStatus per store answers 200 with a valid body over HTTP/2; the EKM is ACTIVE",
  needs: ["network.listen"],
  run: (run) =>
    perTarget(run, async (t) => {
      const c = await health(run, t);
      if (!c.res || c.res.status !== 200) {
        const auth = c.res?.status === 401;
        return {
          status: "fail",
          message: `${t.label}: ${errorOf(c)}${auth ? await authHints(run, t) : ""}`,
          fix: c.error
            ? run.mode === "url"
              ? `Check the URL and that the proxy answers HTTPS there (${t.trustNote}; --ca-file adds a CA).`
              : "Check the proxy runs (see network.listen and network.ping)."
            : auth
              ? localFix(run, "the access key id and secret of the store (and the clock)")
              : c.res?.status === 404
                ? localFix(run, "that the proxy serves this uri_path_prefix")
                : localFix(run, "the HSM"),
        };
      }
      const b = c.json ?? {};
      const fleet = Array.isArray(b.ekmFleetDetails) ? (b.ekmFleetDetails as Record<string, unknown>[]) : null;
      const shape: string[] = [];
      if (!(Number.isInteger(b.xksProxyFleetSize) && (b.xksProxyFleetSize as number) > 0)) shape.push("xksProxyFleetSize is not an integer > 0");
      for (const k of ["xksProxyVendor", "xksProxyModel", "ekmVendor"]) if (typeof b[k] !== "string") shape.push(`${k} is missing`);
      if (!fleet || fleet.length < 1 || fleet.length > 10) shape.push("ekmFleetDetails is not an array of 1-10 entries");
      const statuses = (fleet ?? []).map((e) => e?.healthStatus);
      if (statuses.some((s) => s !== "ACTIVE" && s !== "DEGRADED" && s !== "UNAVAILABLE")) shape.push("an ekmFleetDetails entry has no valid healthStatus");
      const via = protocolName(c.res.protocol);
      if (shape.length > 0) return { status: "fail", message: `${t.label}: 200 over ${via}, but the body is not what KMS expects: ${shape.join("; ")}`, fix: localFix(run, "the proxy's GetHealthStatus (XKS API §5.4)") };
      const ekm = `${b.ekmVendor as string}: ${statuses.join(", ")}`;
      const msg = `${t.label}: 200 over ${via}, fleet size ${b.xksProxyFleetSize as number}, EKM ${ekm}`;
      if (statuses.includes("UNAVAILABLE")) return { status: "fail", message: msg, fix: run.mode === "url" ? localFix(run, "the EKM") : "Check the HSM: `xksctl doctor --group pkcs11` and the proxy's log (health check failed)." };
      if (statuses.includes("DEGRADED")) return { status: "warn", message: `${msg} (slow or busy)`, fix: run.mode === "url" ? localFix(run, "the EKM's load") : "Check the HSM's load and [pkcs11] session_pool_max_size; the proxy's log says why." };
      return { status: "pass", message: `${msg}; ${t.trustNote}` };
    }),
};

/** GetKeyMetadata per key of a store, once per run. */
function metadata(run: DoctorRun, t: LiveTarget): Promise<{ id: string; call: XksCall }[]> {
  return run.once(`live-metadata:${t.label}`, async () => {
    const out: { id: string; call: XksCall }[] = [];
    for (const id of t.keyIds) {
      const c = await call(run, t, `keys/${id}/metadata`, {
        requestMetadata: { awsPrincipalArn: PRINCIPAL, kmsOperation: "CreateKey", kmsRequestId: uuid(run) },
      });
      out.push({ id, call: c });
    }
    return out;
  });
}

/** Why KMS CreateKey would refuse this GetKeyMetadata answer, or null; "disabled" for keyStatus DISABLED, "denied" for the allow rules' 403. */
function metadataProblem(c: XksCall): string | null | "disabled" | "denied" {
  if (isDenied(c)) return "denied";
  if (!c.res || c.res.status !== 200) return errorOf(c);
  const b = c.json ?? {};
  const usage = Array.isArray(b.keyUsage) ? (b.keyUsage as unknown[]) : [];
  if (b.keySpec !== "AES_256") return `keySpec ${JSON.stringify(b.keySpec)}, KMS needs AES_256`;
  if (!usage.includes("ENCRYPT") || !usage.includes("DECRYPT")) return `keyUsage ${JSON.stringify(usage)} lacks ${usage.includes("ENCRYPT") ? "DECRYPT" : "ENCRYPT"}`;
  if (usage.length > 10) return `keyUsage has ${usage.length} entries (at most 10)`;
  if (b.keyStatus === "DISABLED") return "disabled";
  if (b.keyStatus !== "ENABLED") return `keyStatus ${JSON.stringify(b.keyStatus)}`;
  return null;
}

/** Runs `check` for each target that names keys (the others are skipped with why), with GetKeyMetadata's rows; one outcome. */
function perKeyedTarget(run: DoctorRun, check: (t: LiveTarget, rows: Awaited<ReturnType<typeof metadata>>) => Promise<CheckOutcome>): Promise<CheckOutcome> {
  return perTarget(run, async (t) =>
    t.keyIds.length === 0 ? { status: "skip", message: run.mode === "url" ? "no key id given: pass --key-id" : `${t.label}: no key id in xks_key_id_set` } : check(t, await metadata(run, t)),
  );
}

const metadataCheck: DoctorCheck = {
  id: "live.metadata",
  group: "live",
  title: "GetKeyMetadata for every key answers AES_256, ENCRYPT and DECRYPT, ENABLED (what KMS CreateKey requires)",
  needs: ["live.health"],
  run: (run) =>
    perKeyedTarget(run, async (t, rows) => {
      const bad = rows.map((r) => ({ id: r.id, why: metadataProblem(r.call) })).filter((r) => r.why !== null);
      const failed = bad.filter((r) => r.why !== "disabled" && r.why !== "denied");
      const denied = bad.filter((r) => r.why === "denied");
      const disabled = bad.filter((r) => r.why === "disabled");
      if (failed.length > 0) {
        return {
          status: "fail",
          message: `${t.label}: ${failed.map((r) => `key ${JSON.stringify(r.id)}: ${r.why}`).join("; ")}`,
          fix: run.mode === "url" ? localFix(run, "the keys named") : "Run `xksctl doctor --group pkcs11` for what the HSM says about the keys named; create or fix them, or remove them from xks_key_id_set.",
        };
      }
      if (denied.length > 0) {
        return {
          status: "warn",
          message: `${t.label}: ${refusal(t)} (403 AccessDeniedException for ${denied.map((r) => JSON.stringify(r.id)).join(", ")}): SigV4 and routing work, the keys are not checked`,
          fix:
            run.mode === "url"
              ? localFix(run, "the proxy's authorization")
              : `For doctor to check the keys, add a [[external_key_stores.allow]] rule with principal = "${PRINCIPAL}" to the store (then restart the proxy or send it SIGHUP); or accept this warning.`,
        };
      }
      if (disabled.length > 0) {
        return { status: "warn", message: `${t.label}: ${disabled.map((r) => JSON.stringify(r.id)).join(", ")} reported DISABLED (KMS CreateKey refuses a disabled key)`, fix: run.mode === "url" ? localFix(run, "why the keys are disabled") : "Remove them from disabled_xks_key_ids when they should serve KMS." };
      }
      return { status: "pass", message: `${t.label}: ${rows.map((r) => r.id).join(", ")} AES_256 ENABLED` };
    }),
};

const b64 = (v: unknown): Buffer | undefined => (typeof v === "string" && /^[A-Za-z0-9+/]*={0,2}$/.test(v) && v.length % 4 === 0 ? Buffer.from(v, "base64") : undefined);

/** Encrypt with AAD and CDIV, check the answer, Decrypt it back: the first problem, or null; "denied" for the allow rules' 403. */
async function roundTrip(run: DoctorRun, t: LiveTarget, id: string): Promise<string | null | "denied"> {
  const plaintext = run.deps.randomBytes(32);
  const aad = run.deps.randomBytes(24);
  const md = (op: string) => ({ awsPrincipalArn: PRINCIPAL, kmsKeyArn: `arn:aws:kms:${t.region}:${ACCOUNT}:key/${uuid(run)}`, kmsOperation: op, kmsRequestId: uuid(run) });
  const enc = await call(run, t, `keys/${id}/encrypt`, {
    requestMetadata: md("Encrypt"),
    plaintext: plaintext.toString("base64"),
    encryptionAlgorithm: "AES_GCM",
    additionalAuthenticatedData: aad.toString("base64"),
    ciphertextDataIntegrityValueAlgorithm: "SHA_256",
  });
  if (isDenied(enc)) return "denied";
  if (!enc.res || enc.res.status !== 200) return `Encrypt: ${errorOf(enc)}`;
  const e = enc.json ?? {};
  const ct = b64(e.ciphertext);
  const iv = b64(e.initializationVector);
  const tag = b64(e.authenticationTag);
  const cm = e.ciphertextMetadata === undefined ? Buffer.alloc(0) : b64(e.ciphertextMetadata);
  if (!ct || ct.length !== plaintext.length) return `Encrypt: ciphertext is ${ct ? `${ct.length} bytes` : "not Base64"}, expected ${plaintext.length} (the plaintext's length)`;
  if (!iv || (iv.length !== 12 && iv.length !== 16)) return `Encrypt: initializationVector is ${iv ? `${iv.length} bytes` : "not Base64"} (12 or 16)`;
  if (!tag || tag.length !== 16) return `Encrypt: authenticationTag is ${tag ? `${tag.length} bytes` : "not Base64"} (16)`;
  if (!cm || cm.length > 20) return `Encrypt: ciphertextMetadata is ${cm ? `${cm.length} bytes (at most 20)` : "not Base64"}`;
  if (typeof e.ciphertextDataIntegrityValue !== "string") return "Encrypt: no ciphertextDataIntegrityValue although SHA_256 was requested";
  if (e.ciphertextDataIntegrityValue !== cdiv(aad, cm, iv, ct, tag)) return "Encrypt: ciphertextDataIntegrityValue is not SHA-256(AAD ‖ metadata ‖ IV ‖ ciphertext ‖ tag): KMS would reject it";
  const dec = await call(run, t, `keys/${id}/decrypt`, {
    requestMetadata: md("Decrypt"),
    ciphertext: e.ciphertext,
    encryptionAlgorithm: "AES_GCM",
    initializationVector: e.initializationVector,
    authenticationTag: e.authenticationTag,
    additionalAuthenticatedData: aad.toString("base64"),
    ...(e.ciphertextMetadata !== undefined ? { ciphertextMetadata: e.ciphertextMetadata } : {}),
  });
  if (isDenied(dec)) return "denied";
  if (!dec.res || dec.res.status !== 200) return `Decrypt: ${errorOf(dec)}`;
  const back = b64(dec.json?.plaintext);
  if (!back || !back.equals(plaintext)) return "Decrypt: the plaintext differs from what was encrypted";
  return null;
}

const cryptoCheck: DoctorCheck = {
  id: "live.crypto",
  group: "live",
  title: "Encrypt with AAD and a CDIV (SHA_256), checked as KMS checks it, then Decrypt, per enabled key",
  needs: ["live.health"],
  run: (run) =>
    perKeyedTarget(run, async (t, rows) => {
      const usable = rows.filter((r) => metadataProblem(r.call) === null).map((r) => r.id);
      if (usable.length === 0) {
        const denied = rows.some((r) => metadataProblem(r.call) === "denied");
        return { status: "skip", message: denied ? `${t.label}: not checked: ${refusal(t)} (see live.metadata)` : `${t.label}: no enabled AES-256 key to encrypt with (see live.metadata)` };
      }
      const failed: string[] = [];
      const denied: string[] = [];
      for (const id of usable) {
        const why = await roundTrip(run, t, id);
        if (why === "denied") denied.push(JSON.stringify(id));
        else if (why) failed.push(`key ${JSON.stringify(id)}: ${why}`);
      }
      if (failed.length > 0) return { status: "fail", message: `${t.label}: ${failed.join("; ")}`, fix: run.mode === "url" ? localFix(run, "the keys named") : "Run `xksctl doctor --group pkcs11` (round trip and IV checks in the HSM) and read the proxy's log for the key named." };
      if (denied.length > 0) return { status: "skip", message: `${t.label}: ${refusal(t)} (403 AccessDeniedException to Encrypt or Decrypt with ${denied.join(", ")})` };
      return { status: "pass", message: `${t.label}: Encrypt (AAD, CDIV) and Decrypt with ${usable.join(", ")}` };
    }),
};

const authCheck: DoctorCheck = {
  id: "live.auth",
  group: "live",
  title: "a request signed with a wrong secret gets 401 AuthenticationFailedException",
  needs: ["live.health"],
  run: (run) =>
    perTarget(run, async (t) => {
      let wrong = run.deps.randomBytes(33).toString("base64").replace(/[^A-Za-z0-9]/g, "A").slice(0, 43);
      if (wrong === t.secret) wrong = `${wrong.slice(0, 42)}${wrong.endsWith("A") ? "B" : "A"}`;
      const c = await call(run, t, "health", { requestMetadata: { kmsRequestId: uuid(run), kmsOperation: "KmsHealthCheck" } }, { secret: wrong });
      if (c.res?.status === 401 && c.json?.errorName === "AuthenticationFailedException") return { status: "pass", message: `${t.label}: 401 AuthenticationFailedException` };
      if (c.res?.status === 200) return { status: "fail", message: `${t.label}: a request signed with a wrong secret was answered 200: the proxy does not check signatures`, fix: run.mode === "url" ? localFix(run, "SigV4 verification") : "Set [security] is_sigv4_auth_enabled = true in the settings and restart the proxy." };
      return { status: "fail", message: `${t.label}: a wrong secret got ${errorOf(c)}, not 401 AuthenticationFailedException`, fix: localFix(run, "the proxy's SigV4 errors (KMS maps only 401 AuthenticationFailedException to a credential problem)") };
    }),
};

const clockCheck: DoctorCheck = {
  id: "live.clock",
  group: "live",
  title: "the local clock is within KMS's 5 minutes of the proxy's Date header",
  needs: ["network.listen"],
  async run(run) {
    let skew = await skewMs(run);
    if (skew === undefined) {
      // No signed call answered yet (e.g. live.health was skipped): any answer carries a Date.
      const [t] = await targets(run);
      if (t) await call(run, t, "health", { requestMetadata: { kmsRequestId: uuid(run), kmsOperation: "KmsHealthCheck" } }, { unsigned: true });
      skew = await skewMs(run);
    }
    if (skew === undefined) return { status: "warn", message: "the proxy sent no Date header (or did not answer): the clocks cannot be compared", fix: "Compare the clocks by hand (`date -u` on both hosts); KMS rejects requests more than 5 minutes off." };
    const dir = skew > 0 ? "ahead of" : "behind";
    // The Date header has whole seconds: a difference under a second is no difference.
    const beyond = Math.abs(skew) - 1000;
    const fix = "Synchronise the clocks with NTP on both hosts (`timedatectl set-ntp true`, chrony); KMS signs with AWS's time.";
    if (beyond > MAX_SKEW_MS) return { status: "fail", message: `the local clock is ${minutes(skew)} ${dir} the proxy's Date header: outside KMS's 5 minutes, every signed request is refused`, fix };
    if (beyond > WARN_SKEW_MS) return { status: "warn", message: `the local clock is ${minutes(skew)} ${dir} the proxy's Date header (KMS allows 5 minutes)`, fix };
    return { status: "pass", message: `within ${Math.max(1, Math.round(Math.abs(skew) / 1000))} s of the proxy's Date header` };
  },
};

/** Checks a --url value: https://host[:port][/prefix]; the reason it is not, or null. */
export function urlProblem(raw: string): string | null {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return "it is not a URL";
  }
  if (u.protocol !== "https:") return "it must start with https:// (KMS only calls proxies over HTTPS)";
  if (u.search || u.hash || u.username || u.password) return "it must be https://host[:port][/prefix] and nothing more";
  const prefix = u.pathname.replace(/\/+$/, "");
  if (prefix.endsWith("/kms/xks/v1")) return "give the prefix only: doctor adds /kms/xks/v1";
  if (!isValidUriPrefix(prefix)) return `the path ${JSON.stringify(prefix)} is not a valid uri_path_prefix`;
  return null;
}

export const LIVE_CHECKS: readonly DoctorCheck[] = [healthCheck, metadataCheck, cryptoCheck, authCheck, clockCheck];
