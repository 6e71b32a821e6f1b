/** TLS material init makes after the summary is confirmed, first in a private temp folder. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Exec } from "../../platform/exec.js";
import { createSelfSignedTls } from "../tls-selfsigned.js";

/** A self-signed pair (the tls-selfsigned workflow) read back from a temp folder, which is removed. */
export async function selfSignedPair(exec: Exec, dnsNames: string[], ips: string[]): Promise<{ cert: string; key: string }> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "xksctl-tls-"));
  try {
    const r = await createSelfSignedTls(exec, tmp, dnsNames, ips);
    return { cert: fs.readFileSync(r.cert, "utf8"), key: fs.readFileSync(r.key, "utf8") };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
