/** `xksctl serve`: runs the XKS proxy until SIGTERM/SIGINT; SIGHUP reloads the settings file. */
import { CONFIG_OPTION, defineCommand } from "./define.js";
import { parsePort } from "../rules.js";

export const serveCommand = defineCommand<{ config?: string; port?: string; pingPort?: string }>({
  name: "serve",
  description: "run the XKS proxy (HTTP/2 + TLS, SigV4, PKCS#11) in the foreground",
  options: [
    CONFIG_OPTION,
    { flags: "-p, --port <port>", description: "override [server] port" },
    { flags: "--ping-port <port>", description: "override [server] port_http_ping" },
  ],
  examples: [
    "xksctl serve --config /etc/xksctl/settings.toml",
    "XKS_PROXY_SETTINGS_TOML=/var/local/xks-proxy/.secret/settings.toml xksctl serve",
    "xksctl serve --config .xksctl/settings.toml --port 8443",
  ],
  async run(opts, _args, ctx) {
    const { loadSettings, defaultValidateDeps } = await import("../config/load.js");
    const { serve, settingsFromPrimary } = await import("../workflows/serve.js");
    const deps = defaultValidateDeps(ctx.env);
    // A worker runs what its primary runs; only the primary (or a single process) reads the file.
    const fromPrimary = await settingsFromPrimary();
    const settings = fromPrimary?.settings ?? loadAndWarn();
    function loadAndWarn() {
      const loaded = loadSettings(opts.config, deps, ctx.cwd);
      for (const w of loaded.warnings) ctx.stderr.write(`warning: ${w}\n`);
      return loaded.settings;
    }
    const proxy = await serve(settings, {
      port: opts.port === undefined ? undefined : parsePort(opts.port, "--port", { allowZero: true }),
      pingPort: opts.pingPort === undefined ? undefined : parsePort(opts.pingPort, "--ping-port", { allowZero: true }),
      reloadSettings: () => loadSettings(settings.file, deps).settings,
      stdout: ctx.stdout,
      env: ctx.env,
      now: ctx.now,
      startCaDigest: fromPrimary?.caDigest,
    });
    return await proxy.stopped;
  },
});
