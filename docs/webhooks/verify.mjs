// Verifying a checkout webhook in Node (18+), with no dependencies.
// Usage as a check: node verify.mjs <secret> <Checkout-Signature header> <body file>
// exits 0 when the delivery is genuine and fresh, 1 otherwise.
import { createHmac, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";

const TOLERANCE_S = 300;

/** True when `header` signs `rawBody` (the exact bytes received) with `secret`, within 5 minutes. */
export function verifyWebhook(secret, header, rawBody, nowS = Math.floor(Date.now() / 1000)) {
  const signatures = [];
  let timestamp = NaN;
  for (const part of String(header).split(",")) {
    const [key, value] = part.trim().split("=", 2);
    if (key === "t") timestamp = Number(value);
    if (key === "v1") signatures.push(value);
  }
  if (!Number.isInteger(timestamp) || signatures.length === 0) return false;
  if (Math.abs(nowS - timestamp) > TOLERANCE_S) return false; // a replayed old delivery
  const expected = createHmac("sha256", secret).update(`${timestamp}.${rawBody}`).digest();
  return signatures.some((hex) => {
    const given = Buffer.from(hex, "hex");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

if (process.argv[1] && process.argv[1].endsWith("verify.mjs") && process.argv.length === 5) {
  const [secret, header, bodyFile] = process.argv.slice(2);
  const ok = verifyWebhook(secret, header, readFileSync(bodyFile, "utf8"));
  console.log(ok ? "verified" : "rejected");
  process.exit(ok ? 0 : 1);
}
