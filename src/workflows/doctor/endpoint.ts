/**
 * Group `endpoint`: the XksProxyUriEndpoint KMS uses (--endpoint, else the one init recorded in
 * kms-proxy-config.json next to the settings, else derived from [server] for a local setup) is
 * https:// + a DNS name without port or path, KMS connects to port 443, and the name resolves.
 * Derived from [server] (a local setup), these are warnings: they matter only for AWS.
 */
import { isIP } from "node:net";
import { endpointFacts, isLocalHost, settingsFacts } from "./facts.js";
import type { DoctorCheck } from "./types.js";

const urlCheck: DoctorCheck = {
  id: "endpoint.url",
  group: "endpoint",
  title: "the endpoint is https:// + a DNS name, no port, no path (KMS's XksProxyUriEndpoint rule)",
  needs: [],
  async run(run) {
    const e = await endpointFacts(run);
    if (!e.explicit) {
      return { status: "warn", message: `no endpoint given: checking ${e.url}, derived from [server]; KMS needs https:// + a public DNS name on port 443`, fix: "Pass --endpoint https://<name> (the XksProxyUriEndpoint of the key store) to check the name KMS uses." };
    }
    const from = e.source === "kms-proxy-config.json" ? `recorded in ${e.recordedIn}` : "from --endpoint";
    if (e.problem) return { status: "fail", message: `${e.url} (${from}) is not an endpoint KMS accepts: ${e.problem}`, fix: "Use https://<DNS name> with no port or path, e.g. https://xks.example.com (put a load balancer on 443 in front of the proxy if needed)." };
    return { status: "pass", message: `${e.url} (${from})` };
  },
};

const portCheck: DoctorCheck = {
  id: "endpoint.port",
  group: "endpoint",
  title: "KMS connects to port 443: the proxy listens there, or something forwards 443 to its port",
  needs: ["endpoint.url", "settings.valid"],
  async run(run) {
    const s = await settingsFacts(run);
    const port = s.settings!.server.port;
    if (port === 443) return { status: "pass", message: "[server] port = 443, the port KMS connects to" };
    const e = await endpointFacts(run);
    const local = !e.explicit || e.local;
    return {
      status: "warn",
      message: `[server] port = ${port}, but KMS connects to port 443${local ? " (fine for a local test)" : ""}`,
      fix: `Forward port 443 of ${e.explicit ? e.host : "the endpoint"} to ${port} (load balancer or NAT), or set [server] port = 443 in ${s.file} (needs CAP_NET_BIND_SERVICE).`,
    };
  },
};

const dnsCheck: DoctorCheck = {
  id: "endpoint.dns",
  group: "endpoint",
  title: "the endpoint's name resolves (and, for AWS, not only to a loopback address)",
  needs: ["endpoint.url"],
  async run(run) {
    const e = await endpointFacts(run);
    if (isIP(e.host)) return { status: "skip", message: `the endpoint is an IP address (${e.host}); nothing to resolve` };
    let addrs: string[];
    try {
      addrs = await run.deps.lookup(e.host);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      return { status: e.explicit ? "fail" : "warn", message: `${e.host} does not resolve (${code})`, fix: `Publish an A or AAAA record for ${e.host} pointing at the proxy (or its load balancer).` };
    }
    if (addrs.length === 0) return { status: "fail", message: `${e.host} resolves to no address`, fix: `Publish an A or AAAA record for ${e.host}.` };
    if (e.explicit && !e.local && addrs.every((a) => isLocalHost(a))) {
      return { status: "warn", message: `${e.host} resolves only to ${addrs.join(", ")} here: KMS cannot reach a loopback address`, fix: `Check the public DNS record of ${e.host} (and /etc/hosts on this machine).` };
    }
    return { status: "pass", message: `${e.host} resolves to ${addrs.join(", ")}` };
  },
};

export const ENDPOINT_CHECKS: readonly DoctorCheck[] = [urlCheck, portCheck, dnsCheck];
