/**
 * Credential rotation as an admin does it, through the real binary with requests flowing:
 * `serve` takes traffic signed with the old credential → `creds rotate` → SIGHUP → the old and
 * the new credential both succeed (zero failures) → `creds retire` the old one → SIGHUP → the old
 * one gets 401 and the new one 200. Phases move on events (log lines, request counts), not time.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { describe, test } from "node:test";
import { keyPath, md } from "../helpers/proxy.js";
import { runBin, servedToken, startServe, type ServeProcess } from "../helpers/serve-process.js";
import { CREDS, PREFIX } from "../helpers/settings.js";
import { smithyPost } from "../helpers/sign.js";
import { until } from "../helpers/wait.js";

const served = servedToken();

type Cred = { accessKeyId: string; secret: string };
const OLD: Cred = { accessKeyId: CREDS.main.id, secret: CREDS.main.secret };

/** How long each phase may take to happen. */
const PHASE_MS = 30_000;

/** A loop sending signed Encrypt requests one after another until stopped; counts statuses. */
function traffic(url: string, cred: Cred) {
  const statuses = new Map<number | string, number>();
  let ok = 0;
  let running = true;
  const done = (async () => {
    while (running) {
      let status: number | string;
      try {
        const body = { requestMetadata: md(), plaintext: Buffer.from("rotate me").toString("base64"), encryptionAlgorithm: "AES_GCM" };
        status = (await smithyPost(`${url}${keyPath(PREFIX, "foo", "encrypt")}`, body, served.h2, cred)).status;
      } catch (err) {
        status = (err as Error).message;
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status === 200) ok++;
    }
  })();
  return {
    ok: () => ok,
    failures: () => [...statuses].filter(([s]) => s !== 200),
    stop: async () => {
      running = false;
      await done;
    },
  };
}

async function statusWith(url: string, cred: Cred): Promise<number> {
  const body = { requestMetadata: md(), plaintext: Buffer.from("x").toString("base64"), encryptionAlgorithm: "AES_GCM" };
  return (await smithyPost(`${url}${keyPath(PREFIX, "foo", "encrypt")}`, body, served.h2, cred)).status;
}

describe("creds rotate / retire under traffic", () => {
  test("zero failed requests from rotation to retirement; then the old credential is refused", async () => {
    const store = { uri_path_prefix: PREFIX, sigv4_access_key_id: OLD.accessKeyId, sigv4_secret_access_key: OLD.secret, xks_key_id_set: ["foo"] };
    const file = served.config({ external_key_stores: [store] });
    const s: ServeProcess = await startServe(file, served.token.env);
    const reloads = () => s.stdout().split("settings reloaded (").length - 1;
    try {
      const old = [traffic(s.url, OLD), traffic(s.url, OLD)];
      await until(() => old.every((t) => t.ok() >= 10), "traffic on the old credential", PHASE_MS);

      const rot = await runBin(["creds", "rotate", "--config", file, "--json"], served.token.env);
      assert.equal(rot.code, 0, rot.stderr);
      const r = JSON.parse(rot.stdout) as { accessKeyId: string; secretAccessKey: string; currentAccessKeyId: string };
      assert.equal(r.currentAccessKeyId, OLD.accessKeyId);
      const NEW: Cred = { accessKeyId: r.accessKeyId, secret: r.secretAccessKey };
      assert.equal(await statusWith(s.url, NEW), 401, "not accepted before the reload");

      s.proc.kill("SIGHUP");
      await until(() => reloads() === 1, "the first reload", PHASE_MS);
      const fresh = traffic(s.url, NEW);
      const oldAtReload = old.map((t) => t.ok());
      await until(() => fresh.ok() >= 20 && old.every((t, i) => t.ok() >= oldAtReload[i]! + 20), "both credentials in use", PHASE_MS);
      await Promise.all(old.map((t) => t.stop()));
      assert.deepEqual(old.flatMap((t) => t.failures()), [], "no request on the old credential failed");

      const ret = await runBin(["creds", "retire", "--access-key-id", OLD.accessKeyId, "--config", file, "--json"], served.token.env);
      assert.equal(ret.code, 0, ret.stderr);
      assert.deepEqual(JSON.parse(ret.stdout).remaining, [NEW.accessKeyId]);
      assert.equal(await statusWith(s.url, OLD), 200, "still accepted until the reload");
      s.proc.kill("SIGHUP");
      await until(() => reloads() === 2, "the second reload", PHASE_MS);
      const afterRetire = fresh.ok();
      await until(() => fresh.ok() >= afterRetire + 20, "traffic on the new credential after retirement", PHASE_MS);
      await fresh.stop();
      assert.deepEqual(fresh.failures(), [], "no request on the new credential failed");
      assert.equal(await statusWith(s.url, OLD), 401);
      assert.equal(await statusWith(s.url, NEW), 200);
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      assert.equal(fs.statSync(`${file}.bak`).mode & 0o777, 0o600);
      assert.doesNotMatch(s.stdout() + s.stderr(), new RegExp(`${OLD.secret}|${NEW.secret.replace(/[+/]/g, "\\$&")}`), "no secret in the proxy's output");
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });
});
