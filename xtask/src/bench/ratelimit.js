// Workers' rate-limiting binding for the workerd-direct bench (xtask/src/bench/workerd.rs), which
// has no such binding type: on Cloudflare the platform serves it, and `wrangler dev` emulates it.
// Written for this repository from the binding's documented contract
// (https://developers.cloudflare.com/workers/runtime-apis/bindings/rate-limit/): `limit({ key })`
// resolves to `{ success }`; `simple = { limit, period }` with a period of 10 or 60 seconds.
// Semantics: a fixed window per key that rolls over on the clock (every `period` seconds since
// the epoch), and a refused call is not counted. The counts live in this isolate's memory (the
// bench runs one workerd process), as the platform counts per location and not exactly.
//
// workerd instantiates it as a wrapped binding: the default export gets the inner bindings
// (`namespace`, `limit`, `period`) and returns the binding. workers-rs checks the binding's
// constructor name (`Ratelimit`), so the class keeps that name.

const PERIODS_S = [10, 60];

// namespace -> { epoch, counts: Map<key, count> }; a new window drops the old one's counts.
const windows = new Map();

class Ratelimit {
  #namespace;
  #limit;
  #periodMs;

  constructor(namespace, limit, periodS) {
    this.#namespace = namespace;
    this.#limit = limit;
    this.#periodMs = periodS * 1000;
  }

  async limit(options) {
    if (typeof options !== "object" || options === null || typeof options.key !== "string") {
      throw new TypeError("limit() takes { key: string }");
    }
    const epoch = Math.floor(Date.now() / this.#periodMs);
    let window = windows.get(this.#namespace);
    if (window === undefined || window.epoch !== epoch) {
      window = { epoch, counts: new Map() };
      windows.set(this.#namespace, window);
    }
    const used = window.counts.get(options.key) ?? 0;
    if (used >= this.#limit) {
      return { success: false };
    }
    window.counts.set(options.key, used + 1);
    return { success: true };
  }
}

export default function makeBinding(env) {
  const limit = Number(env.limit);
  const period = Number(env.period);
  if (!Number.isInteger(limit) || limit < 0) {
    throw new Error(`rate limit: limit must be a whole number, not ${env.limit}`);
  }
  if (!PERIODS_S.includes(period)) {
    throw new Error(`rate limit: period must be 10 or 60 seconds, not ${env.period}`);
  }
  return new Ratelimit(String(env.namespace), limit, period);
}
