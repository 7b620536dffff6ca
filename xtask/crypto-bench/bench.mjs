// Times WeChat Pay's and Stripe webhooks' per-request cryptography two ways in Node's V8 (the engine under workerd):
// RustCrypto compiled to wasm (this crate) and WebCrypto (native code; workerd's is BoringSSL,
// Node's OpenSSL). Run by `cargo xtask bench` as: node bench.mjs <pkg dir> <keys json>.
// Prints one line per operation: "<name> <microseconds per op>".
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createHmac, webcrypto } from "node:crypto";

const [pkgDir, keysPath] = process.argv.slice(2);
const wasm = createRequire(import.meta.url)(`${pkgDir}/crypto_bench.js`);
const keys = JSON.parse(readFileSync(keysPath, "utf8"));
const subtle = webcrypto.subtle;

// A prepay request's signing message, a notification-sized body and resource.
const body = JSON.stringify({
  appid: keys.appid, mchid: keys.mchid, description: "Longjing green tea gift box",
  out_trade_no: "pay_0123456789abcdefghijklmn", time_expire: "2026-11-23T18:00:00+08:00",
  notify_url: "https://checkout.example/v1/notifications/wechat/cs_0123456789abcdef",
  amount: { total: 8800, currency: "CNY" },
});
const message = `POST\n/v3/pay/transactions/native\n1795431600\n0123456789ABCDEFGHIJKLMNOPQRSTUV\n${body}\n`;
const transaction = JSON.stringify({
  mchid: keys.mchid, appid: keys.appid, out_trade_no: "pay_0123456789abcdefghijklmn",
  transaction_id: "4200000985202611235834957420", trade_type: "NATIVE", trade_state: "SUCCESS",
  trade_state_desc: "支付成功", bank_type: "OTHERS", success_time: "2026-11-23T18:00:00+08:00",
  payer: { openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" },
  amount: { total: 8800, payer_total: 8800, currency: "CNY", payer_currency: "CNY" },
});
const nonce = "k8Yv3qR2mB7x";

function perOp(name, times, run) {
  run(); // warm-up: compile, import, allocate
  const started = process.hrtime.bigint();
  for (let i = 0; i < times; i++) run();
  const micros = Number(process.hrtime.bigint() - started) / 1000 / times;
  console.log(`${name} ${micros.toFixed(1)}`);
}

async function perOpAsync(name, times, run) {
  await run();
  const started = process.hrtime.bigint();
  for (let i = 0; i < times; i++) await run();
  const micros = Number(process.hrtime.bigint() - started) / 1000 / times;
  console.log(`${name} ${micros.toFixed(1)}`);
}

const der = (pem) => Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s/g, ""), "base64");
const rsa = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
const encoder = new TextEncoder();

// Pure Rust in wasm: each call does `times` operations, so the key is parsed once.
const signature = wasm.rsa_sign(keys.merchant_private_key_pem, message, 1);
perOp("wasm_rsa2048_sign", 20, () => wasm.rsa_sign(keys.merchant_private_key_pem, message, 1));
perOp("wasm_rsa2048_verify", 200, () =>
  wasm.rsa_verify(keys.merchant_public_key_pem, message, signature, 1));
const sealed = wasm.aes_gcm_encrypt(keys.api_v3_key, nonce, "transaction", transaction);
perOp("wasm_aes256gcm_decrypt", 2000, () =>
  wasm.aes_gcm_decrypt(keys.api_v3_key, nonce, "transaction", sealed, 1));

// WebCrypto, keys imported once as the edge caches them.
const signKey = await subtle.importKey("pkcs8", der(keys.merchant_private_key_pem), rsa, false, ["sign"]);
const verifyKey = await subtle.importKey("spki", der(keys.merchant_public_key_pem), rsa, false, ["verify"]);
const aesKey = await subtle.importKey("raw", encoder.encode(keys.api_v3_key), "AES-GCM", false, ["decrypt"]);
const sealedBytes = Buffer.from(sealed, "base64");
const signatureBytes = Buffer.from(signature, "base64");
await perOpAsync("webcrypto_rsa2048_sign", 200, () => subtle.sign(rsa, signKey, encoder.encode(message)));
await perOpAsync("webcrypto_rsa2048_verify", 2000, () =>
  subtle.verify(rsa, verifyKey, signatureBytes, encoder.encode(message)));
await perOpAsync("webcrypto_aes256gcm_decrypt", 2000, () =>
  subtle.decrypt({ name: "AES-GCM", iv: encoder.encode(nonce), additionalData: encoder.encode("transaction") },
    aesKey, sealedBytes));
await perOpAsync("webcrypto_rsa_import_pkcs8", 200, () =>
  subtle.importKey("pkcs8", der(keys.merchant_private_key_pem), rsa, false, ["sign"]));

// Stripe's webhook signature: HMAC-SHA256 over "{t}.{body}" with the endpoint secret
// (docs.stripe.com/webhooks/signatures), on a checkout.session.completed-sized body (~2 KB).
const stripeSecret = "whsec_" + "b".repeat(32);
const stripeBody = JSON.stringify({
  id: "evt_1QbenchEventId000000000000", object: "event", api_version: "2025-08-27.basil",
  created: 1795431600, livemode: false, pending_webhooks: 1, type: "checkout.session.completed",
  request: { id: null, idempotency_key: null },
  data: { object: {
    id: "cs_test_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9t0u1v2w3x4y5z6", object: "checkout.session",
    amount_subtotal: 8800, amount_total: 8800, currency: "bdt", mode: "payment",
    client_reference_id: "pay_0123456789abcdefghijklmn", customer: null, customer_email: null,
    expires_at: 1795433400, livemode: false, locale: null,
    metadata: { session_id: "cs_0123456789abcdefghijklmn", payment_id: "pay_0123456789abcdefghijklmn" },
    payment_intent: "pi_3QbenchIntent0000000000000", payment_status: "paid", status: "complete",
    success_url: "https://checkout.example/v1/callbacks/card/cs_0123456789abcdefghijklmn?checkout_session_id={CHECKOUT_SESSION_ID}",
    cancel_url: "https://checkout.example/v1/callbacks/card/cs_0123456789abcdefghijklmn?cancelled=1",
    payment_method_types: ["card"], submit_type: null, total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
  } },
});
const stripeT = "1795431600";
const stripeSig = createHmac("sha256", stripeSecret).update(`${stripeT}.${stripeBody}`).digest("hex");
perOp("wasm_stripe_hmac_sha256_verify", 20000, () =>
  wasm.stripe_signature_verify(stripeSecret, stripeT, stripeBody, stripeSig, 1));
const hmacAlgorithm = { name: "HMAC", hash: "SHA-256" };
const hmacKey = await subtle.importKey("raw", encoder.encode(stripeSecret), hmacAlgorithm, false, ["verify"]);
const stripeSigBytes = Buffer.from(stripeSig, "hex");
await perOpAsync("webcrypto_hmac_sha256_verify", 5000, () =>
  subtle.verify("HMAC", hmacKey, stripeSigBytes, encoder.encode(`${stripeT}.${stripeBody}`)));
await perOpAsync("webcrypto_hmac_import_raw", 5000, () =>
  subtle.importKey("raw", encoder.encode(stripeSecret), hmacAlgorithm, false, ["verify"]));
await perOpAsync("webcrypto_aes256gcm_import_raw", 5000, () =>
  subtle.importKey("raw", encoder.encode(keys.api_v3_key), "AES-GCM", false, ["decrypt"]));
