/**
 * HTTP/2 frames written by hand (RFC 9113 §4, HPACK of RFC 7541 §6.2.2), for what node:http2's
 * client will not send: frames of a stream it has reset, frames out of order, bad flags and sizes.
 */
import tls from "node:tls";

/** Frame types (RFC 9113 §6). */
export const T = { DATA: 0x0, HEADERS: 0x1, PRIORITY: 0x2, RST_STREAM: 0x3, SETTINGS: 0x4, PUSH_PROMISE: 0x5, PING: 0x6, GOAWAY: 0x7, WINDOW_UPDATE: 0x8, CONTINUATION: 0x9 } as const;
/** Frame flags. */
export const F = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;
/** The client connection preface. */
export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** One frame: the 9-byte header (length, type, flags, stream id), then the payload. */
export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream >>> 0, 5);
  return Buffer.concat([h, payload]);
}

/** A 32-bit big-endian payload (RST_STREAM's error code, WINDOW_UPDATE's increment). */
export const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

/** HPACK: a literal header field without indexing, its name static-table entry `index` (< 15), value under 127 bytes. */
export const literal = (index: number, value: string): Buffer => Buffer.concat([Buffer.from([index, value.length]), Buffer.from(value)]);

/** HPACK header block of a request: POST or GET (static 3 / 2), https (static 7), :path and :authority. */
export function requestBlock(method: "POST" | "GET", path: string, authority: string): Buffer {
  return Buffer.concat([Buffer.from([method === "POST" ? 0x83 : 0x82, 0x87]), literal(0x04, path), literal(0x01, authority)]);
}

/** Frame types in `bytes` (frames from the start; a partial frame at the end is left out). */
export function frameTypes(bytes: Buffer): number[] {
  const types: number[] = [];
  for (let o = 0; o + 9 <= bytes.length; o += 9 + bytes.readUIntBE(o, 3)) types.push(bytes[o + 3]!);
  return types;
}

/** How a connection of hand-written frames ended: the peer answered the closing PING, sent GOAWAY, closed, or none of these in time. */
export interface FrameExchange {
  outcome: "ping" | "goaway" | "closed" | "timeout";
  /** Frame types received (frameTypes). */
  received: number[];
}

/**
 * Opens a TLS connection with ALPN h2, writes `chunks` (a turn of the event loop apart), then a
 * PING: its answer says the peer has read everything before it. Resolves once the peer has
 * answered that PING, sent GOAWAY or closed the connection, or after `timeoutMs`; the connection
 * is then destroyed. Rejects if the handshake fails or h2 is not agreed.
 */
export function exchangeFrames(opts: { port: number; ca: Buffer; chunks: Buffer[]; timeoutMs: number }): Promise<FrameExchange> {
  const marker = Buffer.from("xksping!");
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port: opts.port, servername: "localhost", ca: opts.ca, ALPNProtocols: ["h2"] });
    let seen = Buffer.alloc(0);
    let connected = false;
    const end = (outcome: FrameExchange["outcome"]) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ outcome, received: frameTypes(seen) });
    };
    const timer = setTimeout(() => end("timeout"), opts.timeoutMs);
    socket.on("data", (d: Buffer) => {
      seen = Buffer.concat([seen, d]);
      if (seen.includes(marker)) end("ping");
      else if (frameTypes(seen).includes(T.GOAWAY)) end("goaway");
    });
    socket.on("error", (err) => {
      if (connected) return; // 'close' follows
      clearTimeout(timer);
      reject(err);
    });
    socket.on("close", () => end("closed"));
    socket.once("secureConnect", async () => {
      connected = true;
      if (socket.alpnProtocol !== "h2") {
        clearTimeout(timer);
        socket.destroy();
        return reject(new Error(`ALPN agreed ${String(socket.alpnProtocol)}, not h2`));
      }
      for (const c of opts.chunks) {
        if (socket.destroyed) return;
        socket.write(c);
        await new Promise((w) => setImmediate(w));
      }
      if (!socket.destroyed) socket.write(frame(T.PING, 0, 0, marker));
    });
  });
}
