#!/usr/bin/env node
/**
 * Refreshes src/data/aws-xks-trusted-roots.ts, the root CAs AWS KMS trusts for an external key
 * store proxy's TLS certificate, from AWS's published file `TrustedCertificateAuthorities` in the
 * GitHub repository aws/aws-kms-xksproxy-api-spec (a keytool listing: one block per root with
 * "Alias name:" and a "SHA256:" fingerprint line). `xksctl doctor` matches the SHA-256
 * fingerprint of a chain's root against it (check tls.root, docs/doctor.md).
 *
 * This script never downloads anything: fetch the file yourself, then give it the path.
 *
 *   curl -fsSL -o /tmp/TrustedCertificateAuthorities \
 *     https://raw.githubusercontent.com/aws/aws-kms-xksproxy-api-spec/main/TrustedCertificateAuthorities
 *   git ls-remote https://github.com/aws/aws-kms-xksproxy-api-spec refs/heads/main   # the commit
 *   node scripts/refresh-trusted-roots.mjs /tmp/TrustedCertificateAuthorities --commit <sha>
 *
 * Options:
 *   --list published|proposed   which list to replace (default published: the file on main).
 *                               "proposed" is an update under review (a pull request's version).
 *   --commit SHA                the commit the file was taken from (recorded)
 *   --url URL                   where it was taken from (recorded; default the main branch file)
 *   --date YYYY-MM-DD           when it was taken (recorded; default today, UTC)
 *   --note TEXT                 a one-line remark recorded with the list
 *   --check                     only parse and print the count; write nothing
 *
 * The other list is kept as it is. Each root keeps its alias and fingerprint only; fingerprints
 * are checked to be 64 hex digits and unique, and the count must be at least 50 (a truncated
 * download fails loudly instead of shipping a short list).
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const DATA = path.join(ROOT, "src/data/aws-xks-trusted-roots.ts");
const MAIN_URL = "https://github.com/aws/aws-kms-xksproxy-api-spec/blob/main/TrustedCertificateAuthorities";
const BEGIN = "// BEGIN DATA (scripts/refresh-trusted-roots.mjs rewrites what follows, up to END DATA)";
const END = "// END DATA";

function die(msg) {
  process.stderr.write(`✖ ${msg}\n`);
  process.exit(1);
}

/** Parses the keytool listing into [{alias, sha256}] (fingerprint hex, lower case, no colons). */
export function parseKeytoolListing(text) {
  const roots = [];
  let alias;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const a = /^Alias name:\s*(.+)$/.exec(line);
    if (a) {
      if (alias !== undefined) throw new Error(`root ${alias} has no SHA256 fingerprint line`);
      alias = a[1].trim();
      continue;
    }
    // The upstream file has stray text after some fingerprints; take the 32 hex pairs only.
    const f = /^SHA256:\s*((?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2})\b/.exec(line);
    if (f) {
      if (alias === undefined) throw new Error(`a SHA256 line without an alias: ${line}`);
      roots.push({ alias, sha256: f[1].replace(/:/g, "").toLowerCase() });
      alias = undefined;
    }
  }
  if (alias !== undefined) throw new Error(`root ${alias} has no SHA256 fingerprint line`);
  const seen = new Map();
  for (const r of roots) {
    if (seen.has(r.sha256)) throw new Error(`fingerprint ${r.sha256} appears twice (${seen.get(r.sha256)}, ${r.alias})`);
    seen.set(r.sha256, r.alias);
  }
  return roots;
}

function readData() {
  const text = fs.readFileSync(DATA, "utf8");
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start < 0 || end < start) die(`${DATA} has no BEGIN DATA / END DATA markers`);
  const body = text.slice(start + BEGIN.length, end).trim().replace(/^export const AWS_XKS_TRUSTED_ROOTS: TrustedRootsData = /, "").replace(/;$/, "");
  return { text, start, end, data: JSON.parse(body) };
}

function main(argv) {
  const opts = { list: "published" };
  let file;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--check") opts.check = true;
    else if (["--list", "--commit", "--url", "--date", "--note"].includes(a)) opts[a.slice(2)] = argv[++i];
    else if (a.startsWith("-")) die(`unknown option ${a} (see the comment at the top of this script)`);
    else file = a;
  }
  if (!file) die("give the path of a downloaded TrustedCertificateAuthorities file (see the comment at the top of this script)");
  if (opts.list !== "published" && opts.list !== "proposed") die("--list must be published or proposed");
  if (opts.date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(opts.date)) die("--date must be YYYY-MM-DD");
  let roots;
  try {
    roots = parseKeytoolListing(fs.readFileSync(file, "utf8"));
  } catch (err) {
    die(`${file}: ${err.message}`);
  }
  if (roots.length < 50) die(`${file}: only ${roots.length} roots; AWS's list has well over 100 (truncated download?)`);
  if (opts.check) {
    process.stdout.write(`${roots.length} roots in ${file}\n`);
    return;
  }
  const { text, start, end, data } = readData();
  roots.sort((x, y) => (x.alias < y.alias ? -1 : x.alias > y.alias ? 1 : 0));
  const old = data.lists[opts.list];
  data.lists[opts.list] = {
    url: opts.url ?? (opts.list === "published" ? MAIN_URL : old?.url ?? MAIN_URL),
    commit: opts.commit ?? null,
    retrieved: opts.date ?? new Date().toISOString().slice(0, 10),
    note: opts.note ?? old?.note ?? null,
    roots,
  };
  const json = JSON.stringify(data, null, 2);
  const out = `${text.slice(0, start)}${BEGIN}\nexport const AWS_XKS_TRUSTED_ROOTS: TrustedRootsData = ${json};\n${text.slice(end)}`;
  fs.writeFileSync(DATA, out);
  const before = new Set((old?.roots ?? []).map((r) => r.sha256));
  const after = new Set(roots.map((r) => r.sha256));
  const added = roots.filter((r) => !before.has(r.sha256)).map((r) => r.alias);
  const removed = (old?.roots ?? []).filter((r) => !after.has(r.sha256)).map((r) => r.alias);
  process.stdout.write(`✔ ${path.relative(ROOT, DATA)}: ${opts.list} list has ${roots.length} roots (${added.length} added, ${removed.length} removed)\n`);
  for (const a of added) process.stdout.write(`  + ${a}\n`);
  for (const a of removed) process.stdout.write(`  - ${a}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
