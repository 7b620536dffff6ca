// The Worker's entry module (wrangler.toml's `main` is its copy in `edge/build/`, written by
// `cargo xtask build edge`): worker-build's output, with each Durable Object class that serves
// commands made to extend `DurableObject`.
//
// Why: the runtime offers JS RPC only on classes that extend `DurableObject`, and the classes
// wasm-bindgen generates extend nothing. `edge/src/objects/rpc.rs` sends the Worker's commands to
// each object's `command` method over RPC, which costs less than a `fetch` with its `Request`
// and `Response`. worker-build does the same for its emscripten output. The `DurableObject`
// constructor is not run: the Rust object keeps its own state and environment.
import { DurableObject } from "cloudflare:workers";
import * as built from "./index.js";

export * from "./index.js";
export { default } from "./index.js";

for (const exported of Object.values(built)) {
  if (typeof exported === "function" && typeof exported.prototype?.command === "function") {
    Object.setPrototypeOf(exported.prototype, DurableObject.prototype);
    Object.setPrototypeOf(exported, DurableObject);
  }
}
