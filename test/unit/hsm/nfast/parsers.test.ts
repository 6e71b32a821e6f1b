/**
 * The nShield output parsers against every sample output of nshield-tools.md. The samples come
 * from test/fixtures/nfast/doc-samples.json, generated from the facts file by
 * extract-doc-samples.mjs; the only changes made here are the documented normalisations
 * (dropping the facts file's [V]/[I] annotation columns, filling `<40 hex>` placeholders).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { isXksctlError } from "../../../../src/errors.js";
import { createOcsArgs, parseCreateOcsOutput, parseQuorum } from "../../../../src/hsm/nfast/createocs.js";
import { moduleBlockUsable, parseEnquiry } from "../../../../src/hsm/nfast/enquiry.js";
import { generateKeyArgs, parseGenerateKeyOutput } from "../../../../src/hsm/nfast/generatekey.js";
import {
  isFipsMode,
  modeNeedsCardForKeyGeneration,
  parseCardsetList,
  parseNameList,
  parseWorldInfo,
} from "../../../../src/hsm/nfast/nfkminfo.js";
import { ROOT } from "../../../helpers/operator.js";

const samples = JSON.parse(fs.readFileSync(path.join(ROOT, "test/fixtures/nfast/doc-samples.json"), "utf8")) as { blocks: { heading: string; text: string }[] };
function block(headingStart: string): string {
  const b = samples.blocks.find((x) => x.heading.startsWith(headingStart));
  assert.ok(b, `doc sample under "${headingStart}"`);
  return b.text;
}
const HEX = "0123456789abcdef0123456789abcdef01234567";

/** §3.2 with its annotation column removed: "  [V S1] (...)" / "[I]" / "[V2 ...]" at line end. */
function world32(mode: "fips1402level3" | "none"): string {
  return block("3.2")
    .split("\n")
    .map((l) => l.replace(/\s{2,}\[(?:V|V2|I)[\s,\]].*$/, "").replace(/<40 hex>/g, HEX))
    .map((l) => (l.startsWith(" mode ") ? l.replace("fips1402level3 | none ...", mode) : l))
    .join("\n");
}

function expectOutputError(fn: () => unknown, quoted: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isXksctlError(e));
    assert.equal(e.code, "XKS_TOOL_OUTPUT");
    assert.match(e.message, quoted);
    return true;
  });
}

describe("generatekey (§2)", () => {
  test("argv matches the facts file's recommended invocations (§2.3)", () => {
    const lines = block("2.3").split("\n").filter((l) => l.startsWith("generatekey "));
    assert.equal(["generatekey", ...generateKeyArgs({ plainname: "xks-key-1", protect: "module" })].join(" "), lines[0]);
    assert.equal(["generatekey", ...generateKeyArgs({ plainname: "xks-key-1", protect: "token", cardset: "xksocs", slot: 0 })].join(" "), lines[1]);
  });

  test("§2.4 OCS sample: ident, key file, parameter table", () => {
    const r = parseGenerateKeyOutput(block("2.4"));
    assert.equal(r.keyFile, "/opt/nfast/kmdata/local/key_pkcs11_ucc6047b06b40103570ba0ae2fa39d0eb2ef5ae7e6-5f5b3122df0741e28c9361b34c9834f69cc73d43");
    assert.equal(r.ident, "ucc6047b06b40103570ba0ae2fa39d0eb2ef5ae7e6-5f5b3122df0741e28c9361b34c9834f69cc73d43");
    assert.equal(r.parameters.plainname, "OCSprot");
    assert.equal(r.parameters.protect, "token");
    assert.equal(r.parameters.nvram, "no");
    assert.equal(r.parameters.size, "256");
  });

  test("§2.4 softcard variant (softcard row, passphrase prompt, Please wait)", () => {
    const text = block("2.4")
      .replace(" protect      Protected by               token", " protect      Protected by               softcard\n softcard     Soft card to protect key   PKCS11SoftCard")
      .replace(/Loading[\s\S]*?Card reading complete\.\n/, "Please enter the pass phrase for softcard `PKCS11SoftCard':\nPlease wait........\n");
    const r = parseGenerateKeyOutput(text);
    assert.equal(r.parameters.softcard, "PKCS11SoftCard");
    assert.match(r.ident, /^uc[0-9a-f]{40}-[0-9a-f]{40}$/);
  });

  test("§2.4 module variant (no Loading block, key_pkcs11_ua<40hex>)", () => {
    const text = block("2.4")
      .replace("token", "module")
      .replace(/ slot .*\n/, "")
      .replace(/Loading[\s\S]*?Card reading complete\.\n/, "")
      .replace(/key_pkcs11_uc\S+/, `key_pkcs11_ua${HEX}`);
    assert.equal(parseGenerateKeyOutput(text).ident, `ua${HEX}`);
  });

  test("exit 0 without the success line fails loudly, quoting the last line", () => {
    const text = block("2.4").replace("Key successfully generated.\n", "").replace(/Path to key:.*\n/, "");
    expectOutputError(() => parseGenerateKeyOutput(text), /Card reading complete\./);
  });

  test("a Path line that is not a pkcs11 key file fails loudly", () => {
    const text = block("2.4").replace(/key_pkcs11_uc\S+/, "key_simple_contosokey");
    expectOutputError(() => parseGenerateKeyOutput(text), /Path to key: .*key_simple_contosokey/);
  });
});

describe("nfkminfo (§3)", () => {
  for (const mode of ["none", "fips1402level3"] as const) {
    test(`§3.2 World/Module sample, mode ${mode}`, () => {
      const r = parseWorldInfo(world32(mode));
      assert.equal(r.world.generation, "2");
      assert.equal(r.world.usable, true);
      assert.equal(r.world.initialised, true);
      assert.equal(r.world.mode, mode);
      assert.equal(isFipsMode(r.world.mode), mode !== "none");
      assert.equal(modeNeedsCardForKeyGeneration(r.world.mode), mode !== "none");
      assert.equal(r.world.fields["k-out-of-n"], "1/1");
      assert.equal(r.world.fields.hknso, HEX);
      assert.equal(r.modules.length, 1);
      const m = r.modules[0]!;
      assert.equal(m.index, 1);
      assert.equal(m.state, "0x2 Usable");
      assert.equal(m.usable, true);
      assert.equal(m.esn, "530E-02E0-D947");
      assert.equal(m.fields.generation, "2");
      assert.equal(m.slots.length, 1);
      assert.equal(m.slots[0]!.fields.error, "OK");
    });
  }

  test("not-usable world state (the [V2] fixture string `0x37000001 Initialised !Usable Recovery`)", () => {
    const text = world32("none").replace(/ state       0x37270008.*/, " state       0x37000001 Initialised !Usable Recovery");
    const r = parseWorldInfo(text);
    assert.equal(r.world.usable, false);
    assert.equal(r.world.initialised, true);
    assert.deepEqual(r.world.flags, ["Initialised", "!Usable", "Recovery"]);
  });

  test("a module in PreInitMode is not usable", () => {
    const r = parseWorldInfo(world32("none").replace(" state      0x2 Usable", " state      0x1 PreInitMode"));
    assert.equal(r.modules[0]!.usable, false);
    assert.equal(r.modules[0]!.stateName, "PreInitMode");
  });

  test("unknown section headers and missing World fail loudly, quoting the line", () => {
    expectOutputError(() => parseWorldInfo(`${world32("none")}Surprise Section\n`), /"Surprise Section"/);
    expectOutputError(() => parseWorldInfo("Module #1\n state 0x2 Usable\n"), /no World block/);
    expectOutputError(() => parseWorldInfo(world32("none").replace(/ state       0x37270008.*/, " state       Usable")), /"\s*state Usable"/);
  });

  test("§3.3 `nfkminfo -l` sample", () => {
    const keys = parseNameList(block("3.3"));
    assert.deepEqual(
      keys.map((k) => [k.app, k.name, k.protection]),
      [
        ["pkcs11", "15e7f5e09ff2030", "module"],
        ["pkcs11", "nopassword", "module"],
        ["pkcs11", "OTP_SEED_SYM_KEY", "cardset"],
      ],
    );
    assert.equal(keys[0]!.ident, "ua114f29785ea013fd5eca7e6cd7614c796bc24a06");
    assert.equal(keys[2]!.cardsetHash, "725e1d27135c1b5dbb296f63be079fa827cf65fd");
    assert.equal(keys[0]!.cardsetHash, undefined);
  });

  test("`nfkminfo -l` with a softcard section ([I] heading) and an unknown line", () => {
    const text = `${block("3.3")}\nKeys protected by softcards:\nkey_pkcs11_uc${HEX}-${HEX} \`soft-one'\n`;
    assert.equal(parseNameList(text).at(-1)!.protection, "softcard");
    expectOutputError(() => parseNameList(`${block("3.3")}Keys protected by magic:\n`), /"Keys protected by magic:"/);
    expectOutputError(() => parseNameList("key_pkcs11_ua00 `orphan'\n"), /before any section heading/);
  });

  test("`nfkminfo -c` (provisional shape from §3.4) and a count mismatch", () => {
    const text = `Cardset list - 1 cardsets: (P)ersistent/(N)ot, (R)emoteable/(L)ocal-only\n Operator logical token hash               k/n timeout  name\n ${HEX}  1/1 none-NL  \`xksocs'\n`;
    assert.deepEqual(parseCardsetList(text), [{ hkltu: HEX, k: 1, n: 1, timeout: "none-NL", name: "xksocs" }]);
    assert.throws(() => parseCardsetList(text.replace("1 cardsets", "2 cardsets")), /announces 2 card sets but 1/);
    expectOutputError(() => parseCardsetList("something else\n"), /"something else"/);
  });
});

describe("createocs (§4)", () => {
  const sample = () => block("4.").split("\n").filter((l) => !l.startsWith("$ ")).map((l) => l.replace(/\s{2,}\(or: .*\)$/, "")).join("\n");

  test("argv matches the verified invocation `createocs -m 1 -Q 1/1 -N subzero-signing-ocs`", () => {
    const cmd = block("4.").split("\n")[0]!.replace(/^\$ /, "");
    assert.equal(["createocs", ...createOcsArgs({ name: "subzero-signing-ocs", k: 1, n: 1 })].join(" "), cmd);
    assert.deepEqual(createOcsArgs({ name: "x", k: 2, n: 3, slot: 1, persistent: true }), ["-m", "1", "-Q", "2/3", "-N", "x", "-s", "1", "-p"]);
  });

  test("§4 sample: hkltu, with `unformatted card` and with `blank card`", () => {
    assert.equal(parseCreateOcsOutput(sample()).hkltu, "38a06dc96028c226c897863f81e6ec4478f6b010");
    assert.equal(parseCreateOcsOutput(sample().replace("unformatted card", "blank card")).hkltu, "38a06dc96028c226c897863f81e6ec4478f6b010");
  });

  test("output without the hkltu line fails loudly", () => {
    expectOutputError(() => parseCreateOcsOutput(sample().replace(/cardset created.*/, "")), /Card writing complete\./);
  });

  test("quorum parsing", () => {
    assert.deepEqual(parseQuorum("2/3"), { k: 2, n: 3 });
    for (const bad of ["3/2", "0/1", "1", "a/b", "1/65"]) assert.throws(() => parseQuorum(bad), /--quorum must be K\/N/);
  });
});

describe("enquiry (§7)", () => {
  /** §7 with its one annotation "(one ESN per attached module)" removed. */
  const enquiry7 = () => block("7.").replace(/ {3,}\(one ESN per attached module\)/, "");

  test("§7 sample: Server and Module #1 blocks", () => {
    const r = parseEnquiry(enquiry7());
    assert.equal(r.server.mode, "operational");
    assert.equal(r.server.replyFlags, "none");
    assert.equal(r.server.version, "13.3.2");
    assert.equal(r.server.fields["remote port (IPv4)"], "9004");
    assert.equal(r.server.serial, "530E-02E0-D947 7724-8509-81E3 ...");
    assert.equal(r.modules.length, 1);
    const m = r.modules[0]!;
    assert.equal(m.index, 1);
    assert.equal(m.version, "12.80.4");
    assert.equal(m.hardwareStatus, "OK");
    assert.equal(m.fields["SEE machine type"], "PowerPCELF");
    assert.equal(m.fields["supported KML types"], "DSAp1024s160 DSAp3072s256");
    assert.equal(m.usable, true);
  });

  test("the single-space rendering of the v12.81 page parses through the known field names", () => {
    const squashed = enquiry7().replace(/ {2,}/g, " ");
    const r = parseEnquiry(squashed);
    assert.equal(r.server.mode, "operational");
    assert.equal(r.modules[0]!.fields["rec. LongJobs queue"], "##");
  });

  test("Offline/Failed flags and non-operational modes are not usable", () => {
    assert.equal(moduleBlockUsable({ mode: "operational", replyFlags: "Offline", fields: {} }), false);
    assert.equal(moduleBlockUsable({ mode: "operational", replyFlags: "Failed", fields: {} }), false);
    assert.equal(moduleBlockUsable({ mode: "initialization", replyFlags: "none", fields: {} }), false);
    assert.equal(moduleBlockUsable({ mode: "operational", replyFlags: "none", hardwareStatus: "Failed", fields: {} }), false);
  });

  test("unknown headers and blocks without mode fail loudly", () => {
    expectOutputError(() => parseEnquiry(`${enquiry7()}Gadget #1:\n`), /"Gadget #1:"/);
    expectOutputError(() => parseEnquiry("Server:\n enquiry reply flags  none\n"), /without a `mode` line/);
    expectOutputError(() => parseEnquiry("hello\n"), /"hello"/);
  });
});
