/** Free ports for tests and the bench (kept apart from serve-process.ts, which registers test hooks). */
import net from "node:net";

/**
 * `n` different ports that were free a moment ago on 127.0.0.1. They are held open together and
 * then let go: two calls of freePort() in a row may return the same port (the kernel hands out a
 * port it has just been given back).
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const s = net.createServer();
          s.once("error", reject);
          s.listen(0, "127.0.0.1", () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}
