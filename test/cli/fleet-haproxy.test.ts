/**
 * A fleet behind a real load balancer: two `serve` instances (one process each) behind HAProxy
 * (Debian's, run as a child process with a generated config: TCP mode, TLS passed through to the
 * proxies, health checks on GET /ping on each instance's ping port). Steady signed traffic over
 * HTTP/2 (undici, trusting the test CA), one connection per client loop; one instance gets SIGTERM;
 * every request must succeed: the draining instance fails its health check, refuses new
 * connections (HAProxy retries them on the other one) and ends its open connections only after
 * their requests are answered. Phases move on events (log lines, request counts, HAProxy's view).
 *
 * What counts as failed: any request that does not end in a 200. One exception, by HTTP/2's rules
 * (RFC 9113 §8.7: a request the server did not process may be sent again): undici 7 fails a
 * request it has just sent when the server's GOAWAY crosses it on the wire (nodejs/undici#5089,
 * fixed in undici 8, which needs Node 22), so such a request is sent again, and afterwards both
 * instances' logs must show that the server never processed it (its kmsRequestId was never
 * logged). A request that was processed and whose answer was lost is a failure.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { Agent } from "undici";
import { keyPath, md } from "../helpers/proxy.js";
import { freePort, freePorts } from "../helpers/port.js";
import { servedToken, startServe, type ServeProcess } from "../helpers/serve-process.js";
import { CREDS, PREFIX } from "../helpers/settings.js";
import { smithyPost } from "../helpers/sign.js";
import { until } from "../helpers/wait.js";
import { tempDir } from "../helpers/tmp.js";

const haveHaproxy = spawnSync("haproxy", ["-v"]).status === 0;
const opts = { skip: !haveHaproxy && "haproxy is missing (scripts/deps.sh installs Debian's haproxy)" };

const shared = servedToken();
let dir: string;
/** The HAProxy process, if running: killed in the file's after hook too (a timed-out test skips its own finally). */
let lb: ChildProcess | undefined;

before(() => {
  if (!haveHaproxy) return;
  dir = tempDir("xksctl-fleet-");
});
after(() => {
  if (lb && lb.exitCode === null) lb.kill("SIGKILL");
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const main = { accessKeyId: CREDS.main.id, secret: CREDS.main.secret };
/** Each client loop waits this long between an answer and its next request: steady traffic, not a saturated connection. */
const THINK_MS = 5;

/** One command on HAProxy's admin socket. */
function haproxyCommand(sock: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    const c = net.connect(sock, () => c.end(`${command}\n`));
    c.on("data", (d) => (out += d));
    c.on("end", () => resolve(out));
    c.on("error", reject);
  });
}

/** Server name → status (UP, DOWN, ...) from `show stat`. */
async function serverStates(sock: string): Promise<Record<string, string>> {
  const csv = await haproxyCommand(sock, "show stat");
  const [head, ...rows] = csv.replace(/^# /, "").trim().split("\n").map((l) => l.split(","));
  const pxname = head!.indexOf("pxname");
  const svname = head!.indexOf("svname");
  const status = head!.indexOf("status");
  return Object.fromEntries(rows.filter((r) => r[pxname] === "xks_proxies" && !["BACKEND", "FRONTEND"].includes(r[svname]!)).map((r) => [r[svname]!, r[status]!]));
}

/** How many requests an instance logged (one JSON line each). */
const served = (s: ServeProcess) => s.stdout().split('"msg":"request"').length - 1;

/** One client loop: its own HTTP/2 connection (as each of KMS's connections), one signed request at a time. */
function clientLoop(url: string) {
  const agent = new Agent({ allowH2: true, connect: { ca: shared.ca } });
  const failures: string[] = [];
  /** kmsRequestIds of requests that met a GOAWAY and were sent again. */
  const resent: string[] = [];
  let ok = 0;
  let running = true;
  const once = async (): Promise<void> => {
    const metadata = md();
    const body = { requestMetadata: metadata, plaintext: Buffer.from("fleet").toString("base64"), encryptionAlgorithm: "AES_GCM" };
    try {
      const r = await smithyPost(`${url}${keyPath(PREFIX, "foo", "encrypt")}`, body, agent, main);
      if (r.status === 200) ok++;
      else failures.push(`HTTP ${r.status} ${r.text}`);
    } catch (err) {
      const message = `${(err as Error).message} ${(err as { cause?: Error }).cause?.message ?? ""}`.trim();
      if (/"GOAWAY" frame received with code 0/.test(message) && resent.length < 20) {
        resent.push(metadata.kmsRequestId as string);
        return once();
      }
      failures.push(message);
    }
  };
  const done = (async () => {
    while (running) {
      await once();
      await new Promise((res) => setTimeout(res, THINK_MS));
    }
    await agent.close();
  })();
  return { ok: () => ok, failures, resent, stop: async () => ((running = false), await done) };
}

describe("two instances behind HAProxy", () => {
  test("SIGTERM to one instance under steady traffic: zero failed requests", opts, async () => {
    // Every port chosen at once: with --port 0 an instance could be given the other's /ping port.
    const [main0, main1, ...ping] = (await freePorts(4)) as [number, number, number, number];
    const files = ping.map((p, i) => shared.config({ server: { port_http_ping: p, workers: 1 } }, `instance-${i}.toml`));
    const start = (file: string, port: number) => startServe(["serve", "--config", file, "--port", String(port)], shared.token.env);
    const [a, b] = [await start(files[0]!, main0), await start(files[1]!, main1)] as [ServeProcess, ServeProcess];
    const front = await freePort();
    const sock = path.join(dir, "haproxy.sock");
    const cfg = path.join(dir, "haproxy.cfg");
    fs.writeFileSync(
      cfg,
      [
        "global",
        `  stats socket ${sock} mode 600 level admin`,
        "  maxconn 200",
        "defaults",
        "  mode tcp",
        "  timeout connect 2s",
        "  timeout client 30s",
        "  timeout server 30s",
        // A refused connection is tried again, on the other server.
        "  retries 3",
        "  option redispatch 1",
        "frontend xks",
        `  bind 127.0.0.1:${front}`,
        "  default_backend xks_proxies",
        "backend xks_proxies",
        "  balance roundrobin",
        "  option httpchk GET /ping",
        "  http-check expect status 200",
        "  default-server inter 200ms fall 2 rise 2",
        `  server a 127.0.0.1:${a.port} check port ${ping[0]}`,
        `  server b 127.0.0.1:${b.port} check port ${ping[1]}`,
        "",
      ].join("\n"),
    );
    let lbOut = "";
    const loops: ReturnType<typeof clientLoop>[] = [];
    try {
      assert.equal(spawnSync("haproxy", ["-c", "-q", "-f", cfg], { encoding: "utf8" }).status, 0, "the generated config is valid");
      lb = spawn("haproxy", ["-db", "-q", "-f", cfg], { stdio: ["ignore", "pipe", "pipe"] });
      lb.stdout!.on("data", (d) => (lbOut += d));
      lb.stderr!.on("data", (d) => (lbOut += d));
      await until(async () => fs.existsSync(sock) && JSON.stringify(await serverStates(sock)) === JSON.stringify({ a: "UP", b: "UP" }), "HAProxy to see both instances UP", 30_000);

      const url = `https://localhost:${front}`;
      for (let i = 0; i < 4; i++) loops.push(clientLoop(url));
      await until(() => served(a) >= 50 && served(b) >= 50, "traffic on both instances", 30_000);

      const beforeStop = served(b);
      const exited = a.stop("SIGTERM");
      await until(async () => (await serverStates(sock)).a?.startsWith("DOWN") ?? false, "HAProxy to mark the stopped instance DOWN", 30_000);
      assert.equal(await exited, 0, `the drained instance exits 0\n${a.stderr()}`);
      await until(() => served(b) >= beforeStop + 200, "traffic moving to the remaining instance", 30_000);
      await Promise.all(loops.map((l) => l.stop()));

      const failures = loops.flatMap((l) => l.failures);
      const total = loops.reduce((n, l) => n + l.ok(), 0) + failures.length;
      assert.deepEqual(failures, [], `${failures.length} of ${total} requests failed`);
      assert.ok(total >= 300, `${total} requests`);
      // A request sent again after a GOAWAY was never processed by either instance.
      const logged = a.stdout() + b.stdout();
      const processedAnyway = loops.flatMap((l) => l.resent).filter((id) => logged.includes(`"kmsRequestId":"${id}"`));
      assert.deepEqual(processedAnyway, [], "requests processed by an instance whose answer the client lost");
      assert.ok(logged.includes(`"kmsRequestId":"`), "the instances log kmsRequestId (the check above relies on it)");
      assert.match(a.stdout(), /"msg":"stopped"/);
    } finally {
      await Promise.all(loops.map((l) => l.stop()));
      if (lb && lb.exitCode === null) {
        const gone = new Promise((r) => lb!.once("exit", r));
        lb.kill("SIGTERM");
        await gone;
      }
      if (a.proc.exitCode === null) await a.stop();
      await b.stop();
      if (lbOut.trim() !== "") console.log(`haproxy:\n${lbOut}`);
    }
  });
});
