/** Types of scripts/refresh-trusted-roots.mjs for the tests that import its parser. */
export function parseKeytoolListing(text: string): { alias: string; sha256: string }[];
