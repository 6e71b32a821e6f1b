/** xksctl's version, reported by --version and GetHealthStatus. */
export const VERSION = "0.1.0";
