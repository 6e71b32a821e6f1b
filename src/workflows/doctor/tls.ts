/**
 * Group `tls`: the proxy's certificate and key ([tls] tls_cert_pem / tls_key_pem) checked with
 * src/platform/x509.ts: key matches certificate, chain complete and in order, dates (a warning
 * inside 30 days, as KMS's XksProxyCertificateDaysToExpire alarm suggests), the names cover the
 * endpoint, and the chain ends at a root AWS KMS trusts for external key stores (AWS's
 * TrustedCertificateAuthorities, shipped in src/data/aws-xks-trusted-roots.ts).
 * What matters only for AWS in production (a public root, the endpoint's name) is a warning on
 * a local setup (no --endpoint, or a localhost one).
 */
import { chainRoot, checkChain, leafCovers, type ChainCheck, type TlsProblem } from "../../platform/x509.js";
import { endpointFacts, settingsFacts, tlsFacts, type TlsFacts } from "./facts.js";
import { notApplicable, type CheckOutcome, type DoctorCheck, type DoctorRun } from "./types.js";

const short = (fp: string): string => `${fp.slice(0, 16)}...`;

/** The TLS facts once tls.files passed: both files read and checked. */
type ReadTls = TlsFacts & { certPem: string; check: ChainCheck };

/** A check of the TLS files (it needs tls.files); not applicable when TLS is off, which tls.files warns about. */
function tlsCheck(c: Omit<DoctorCheck, "group" | "run"> & { run(run: DoctorRun, t: ReadTls): Promise<CheckOutcome> }): DoctorCheck {
  return {
    ...c,
    group: "tls",
    async run(run) {
      const t = await tlsFacts(run);
      if (!t.enabled) return notApplicable("TLS is off (see tls.files)");
      // tls.files failed, so this check did not run, unless both files were read and checked.
      return c.run(run, t as ReadTls);
    },
  };
}

function problems(t: TlsFacts, codes: readonly TlsProblem["code"][]): TlsProblem[] {
  return (t.check?.problems ?? []).filter((p) => codes.includes(p.code));
}

const filesCheck: DoctorCheck = {
  id: "tls.files",
  group: "tls",
  title: "TLS is on and [tls] tls_cert_pem / tls_key_pem are readable PEM files",
  needs: ["settings.valid"],
  async run(run) {
    const t = await tlsFacts(run);
    const f = await settingsFacts(run);
    if (!t.enabled) {
      return { status: "warn", message: "TLS is off ([security] is_tls_enabled = false): KMS only connects over HTTPS", fix: `Set is_tls_enabled = true and [tls] tls_cert_pem / tls_key_pem in ${f.file}, unless a load balancer in front terminates TLS.` };
    }
    if (t.readError) return { status: "fail", message: `[tls] ${t.readError.key} = ${t.readError.file}: ${t.readError.code}`, fix: `Point [tls] ${t.readError.key} in ${f.file} at a file the service user can read.` };
    const bad = problems(t, ["unparsable", "no-certificate"]);
    if (bad.length > 0) return { status: "fail", message: `${t.certFile} / ${t.keyFile}: ${bad.map((p) => p.message).join(" ")}`, fix: `Replace ${bad.some((p) => /private key/.test(p.message)) ? t.keyFile : t.certFile} with a PEM file (certificate chain, leaf first; an unencrypted private key).` };
    const leaf = t.check!.leaf!;
    return { status: "pass", message: `${t.certFile}: ${t.check!.chain.length} certificate${t.check!.chain.length === 1 ? "" : "s"}, server ${leaf.subject}; key ${t.keyFile}` };
  },
};

const keyMatchCheck = tlsCheck({
  id: "tls.key-match",
  title: "the private key belongs to the server certificate",
  needs: ["tls.files"],
  async run(run, t) {
    const bad = problems(t, ["key-mismatch"]);
    if (bad.length > 0) return { status: "fail", message: bad[0]!.message, fix: `Install the certificate issued for ${t.keyFile} (or the key the certificate ${t.certFile} was made for).` };
    return { status: "pass", message: `${t.keyFile} is the key of the server certificate` };
  },
});

const chainCheck = tlsCheck({
  id: "tls.chain",
  title: "the chain in tls_cert_pem is complete and in order: leaf first, each certificate followed by its issuer",
  needs: ["tls.files"],
  async run(run, t) {
    const bad = problems(t, ["chain-order", "chain-incomplete"]);
    if (bad.length > 0) return { status: "fail", message: bad.map((p) => p.message).join(" "), fix: `Write ${t.certFile} as the server certificate followed by the CA's intermediate certificates, each followed by its issuer.` };
    const chain = t.check.chain;
    const names = chain.map((c) => /CN=([^,]*)/.exec(c.subject)?.[1] ?? c.subject);
    return { status: "pass", message: chain.length === 1 ? `one self-signed certificate (${names[0]})` : names.join(" → ") };
  },
});

const validityCheck = tlsCheck({
  id: "tls.validity",
  title: "no certificate of the chain is expired or not yet valid; a warning inside 30 days (KMS's XksProxyCertificateDaysToExpire)",
  needs: ["tls.files"],
  async run(run, t) {
    const fix = `Renew the certificate and replace ${t.certFile} (SIGHUP makes the proxy reload it).`;
    const bad = problems(t, ["expired", "not-yet-valid"]);
    if (bad.length > 0) return { status: "fail", message: bad.map((p) => p.message).join(" "), fix };
    const soon = problems(t, ["expires-soon"]);
    if (soon.length > 0) return { status: "warn", message: soon.map((p) => p.message).join(" "), fix };
    const leaf = t.check.leaf!;
    const days = Math.floor((leaf.notAfter.getTime() - run.deps.now()) / 86_400_000);
    return { status: "pass", message: `valid until ${leaf.notAfter.toISOString().slice(0, 10)} (${days} days)` };
  },
});

const namesCheck = tlsCheck({
  id: "tls.names",
  title: "the server certificate's DNS names cover the endpoint KMS connects to",
  needs: ["tls.files"],
  async run(run, t) {
    const e = await endpointFacts(run);
    const leaf = t.check.leaf!;
    const has = `DNS names ${leaf.dnsNames.join(", ") || "(none)"}${leaf.ipAddresses.length > 0 ? `, IPs ${leaf.ipAddresses.join(", ")}` : ""}`;
    if (e.explicit) {
      if (e.problem) return { status: "skip", message: `the endpoint ${e.url} is not one KMS accepts (see endpoint.url)` };
      const check = checkChain(t.certPem, { now: new Date(run.deps.now()), endpoint: e.host });
      const bad = check.problems.filter((p) => p.code === "name-mismatch" || p.code === "not-a-dns-name");
      if (bad.length > 0) return { status: "fail", message: `${bad[0]!.message} (endpoint from ${e.source})`, fix: `Get a certificate whose subjectAltName has ${e.host} and install it as ${t.certFile}.` };
      return { status: "pass", message: `covers ${e.host} (${has})` };
    }
    if (!leafCovers(t.certPem, e.host)) {
      return { status: "warn", message: `no endpoint given and the certificate does not cover ${e.host} (derived from [server]): ${has}`, fix: "Pass --endpoint https://<name> (the XksProxyUriEndpoint KMS uses) to check the name that matters." };
    }
    return { status: "pass", message: `covers ${e.host}, derived from [server] (${has}); pass --endpoint for the name KMS uses` };
  },
});

const rootCheck = tlsCheck({
  id: "tls.root",
  title: "the chain ends at a root AWS KMS trusts for external key stores (SHA-256 in AWS's TrustedCertificateAuthorities)",
  needs: ["tls.chain"],
  async run(run, t) {
    const e = await endpointFacts(run);
    const production = e.explicit && !e.local;
    const data = run.deps.trustedRoots;
    const published = data.lists.published;
    const proposed = data.lists.proposed;
    const sourceNote = `AWS's TrustedCertificateAuthorities of ${published.retrieved}`;
    const publicCaFix = `For AWS, install a certificate from a public CA on AWS's list (${data.source}) as ${t.certFile}, its intermediates after it.`;
    if (published.roots.length === 0) {
      return { status: "warn", message: "unknown: AWS's list of trusted roots is not shipped with this build, so the root cannot be checked", fix: "Refresh src/data/aws-xks-trusted-roots.ts with scripts/refresh-trusted-roots.mjs and rebuild." };
    }
    const root = chainRoot(t.certPem, run.deps.systemRoots())!;
    const local = production ? "" : " (fine for this local setup: no --endpoint for AWS given)";
    if (root.how === "unknown") {
      return {
        status: production ? "fail" : "warn",
        message: `the chain ends at ${root.top.subject}, issued by ${root.top.issuer}, which is neither in ${t.certFile} nor in Node.js's root store: a private CA, which AWS KMS does not trust${local}`,
        fix: publicCaFix,
      };
    }
    const fp = root.fingerprint!;
    const inPublished = published.roots.find((x) => x.sha256 === fp);
    const inProposed = proposed?.roots.find((x) => x.sha256 === fp);
    const named = `${root.subject} (SHA-256 ${short(fp)})`;
    if (inPublished && (!proposed || inProposed)) return { status: "pass", message: `ends at ${named}, on AWS's list as ${inPublished.alias} (${sourceNote})` };
    if (inPublished) {
      return { status: "warn", message: `ends at ${named}: on AWS's list as ${inPublished.alias}, but the update proposed upstream (${proposed!.url}) drops it`, fix: "Plan a certificate from a CA that stays on AWS's list; ConnectCustomKeyStore shows whether KMS still accepts this one." };
    }
    if (inProposed) {
      return { status: "warn", message: `ends at ${named}: not on ${sourceNote}, only on the update proposed upstream (${proposed!.url}) as ${inProposed.alias}`, fix: "Check with ConnectCustomKeyStore that KMS accepts it, or use a CA of the published list." };
    }
    const what = root.how === "self-signed" && t.check.chain.length === 1 ? "a self-signed certificate" : root.how === "self-signed" ? "a private root" : "a root that is not on AWS's list";
    return { status: production ? "fail" : "warn", message: `ends at ${named}: ${what}, which AWS KMS does not trust for external key stores${local}`, fix: publicCaFix };
  },
});

export const TLS_CHECKS: readonly DoctorCheck[] = [filesCheck, keyMatchCheck, chainCheck, validityCheck, namesCheck, rootCheck];
