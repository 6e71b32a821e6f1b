/**
 * Secondary authorization beyond SigV4 ([[external_key_stores.allow]], an xksctl extension; the
 * reference ignores the table): a request passes when one rule matches every field the rule names,
 * with `*` matching any run of characters. No rules: SigV4 alone. GetHealthStatus is never denied.
 */
import type { AllowRule, KeyStoreSettings } from "../config/types.js";
import type { RequestMetadata } from "./request-body.js";

/** A rule with its patterns compiled once per settings load. */
interface CompiledRule {
  principal?: RegExp;
  operations?: RegExp[];
  kmsKeyArn?: RegExp;
  sourceVpc?: RegExp;
  sourceVpce?: RegExp;
  viaService?: RegExp;
}

/** `*` matches any run of characters (also none); everything else matches itself. */
export function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\/-]/g, "\\$&")).join(".*")}$`, "s");
}

const compiled = new WeakMap<readonly AllowRule[], CompiledRule[]>();

function compile(rules: readonly AllowRule[]): CompiledRule[] {
  let c = compiled.get(rules);
  if (!c) {
    const g = (v: string | undefined) => (v === undefined ? undefined : globToRegExp(v));
    c = rules.map((r) => ({
      principal: g(r.principal),
      operations: r.operations?.map(globToRegExp),
      kmsKeyArn: g(r.kms_key_arn),
      sourceVpc: g(r.source_vpc),
      sourceVpce: g(r.source_vpce),
      viaService: g(r.via_service),
    }));
    compiled.set(rules, c);
  }
  return c;
}

const fits = (re: RegExp | undefined, value: string | undefined) => re === undefined || (value !== undefined && re.test(value));

/** Whether the store's rules let this request through (always, without rules). */
export function allowed(store: KeyStoreSettings, m: RequestMetadata): boolean {
  if (store.allow.length === 0) return true;
  return compile(store.allow).some(
    (r) =>
      fits(r.principal, m.awsPrincipalArn) &&
      (r.operations === undefined || r.operations.some((o) => o.test(m.kmsOperation))) &&
      fits(r.kmsKeyArn, m.kmsKeyArn) &&
      fits(r.sourceVpc, m.awsSourceVpc) &&
      fits(r.sourceVpce, m.awsSourceVpce) &&
      fits(r.viaService, m.kmsViaService),
  );
}
