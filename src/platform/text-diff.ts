/** A unified-style line diff (`---`/`+++`/`@@` hunks) for --dry-run output of small files. */

type Op = { kind: " " | "-" | "+"; line: string };

/** Longest-common-subsequence edit script between two line lists (files here are small). */
function editScript(a: readonly string[], b: readonly string[]): Op[] {
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ kind: " ", line: a[i]! });
      i++;
      j++;
    } else if (j < m && (i === n || lcs[i]![j + 1]! > lcs[i + 1]![j]!)) {
      ops.push({ kind: "+", line: b[j]! });
      j++;
    } else {
      ops.push({ kind: "-", line: a[i]! });
      i++;
    }
  }
  return ops;
}

function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/** Renders a unified diff of two texts; "" when they are equal. */
export function unifiedDiff(oldText: string, newText: string, opts: { fromFile: string; toFile: string; context?: number }): string {
  if (oldText === newText) return "";
  const ctx = opts.context ?? 3;
  const ops = editScript(splitLines(oldText), splitLines(newText));
  const changed = ops.map((o, i) => (o.kind !== " " ? i : -1)).filter((i) => i >= 0);
  const out = [`--- ${opts.fromFile}`, `+++ ${opts.toFile}`];
  let k = 0;
  while (k < changed.length) {
    let start = Math.max(0, changed[k]! - ctx);
    let end = Math.min(ops.length, changed[k]! + ctx + 1);
    while (k + 1 < changed.length && changed[k + 1]! - ctx <= end) {
      k++;
      end = Math.min(ops.length, changed[k]! + ctx + 1);
    }
    let oldLine = 1;
    let newLine = 1;
    for (const o of ops.slice(0, start)) {
      if (o.kind !== "+") oldLine++;
      if (o.kind !== "-") newLine++;
    }
    const hunk = ops.slice(start, end);
    const oldCount = hunk.filter((o) => o.kind !== "+").length;
    const newCount = hunk.filter((o) => o.kind !== "-").length;
    out.push(`@@ -${oldCount === 0 ? oldLine - 1 : oldLine},${oldCount} +${newCount === 0 ? newLine - 1 : newLine},${newCount} @@`);
    for (const o of hunk) out.push(`${o.kind}${o.line}`);
    k++;
    start = end;
  }
  return `${out.join("\n")}\n`;
}
