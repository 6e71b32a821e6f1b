// The flood's baseline (bench/run.ts): a bare node:http2 server with the proxy's transport, and nothing
// of the proxy behind it. TLS with the bench's certificate, the compatibility API (as serve), serve's
// HTTP/2 settings, and for every request the body resumed and the proxy's 429 answer sent: no
// admission control, no SigV4, no HSM, no logging. What the bench's flood measures against it is
// what node:http2 itself can answer on this host, in the same run as serve.
//
//   BARE_SERVER='{"cert":"...","key":"...","settings":{...},"windowBytes":N,"body":"...","headers":{...}}' node bench/bare-server.mjs
//
// Prints "listening <port>" on stdout once it listens on 127.0.0.1 (an ephemeral port).
import fs from "node:fs";
import http2 from "node:http2";

const o = JSON.parse(process.env.BARE_SERVER ?? "{}");
const server = http2.createSecureServer(
  { cert: fs.readFileSync(o.cert), key: fs.readFileSync(o.key), allowHTTP1: true, settings: o.settings },
  (req, res) => {
    req.resume();
    res.writeHead(429, o.headers);
    res.end(o.body);
  },
);
server.on("session", (session) => session.setLocalWindowSize(o.windowBytes));
server.on("sessionError", () => undefined);
server.listen(0, "127.0.0.1", () => process.stdout.write(`listening ${server.address().port}\n`));
process.on("SIGTERM", () => process.exit(0));
