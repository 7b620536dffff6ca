// `cargo xtask bench profile` runs this with the pinned Node (22, whose WebSocket is built in):
// it attaches to workerd's inspector, samples the Worker's isolate with the V8 CPU profiler while
// the xtask drives load, and writes the profile (a `Profiler.Profile`) to a file.
//
//   node profile.mjs <inspector host:port> <out.json> [sampling interval µs]
//
// Protocol: Chrome DevTools Protocol, domain Profiler (`enable`, `setSamplingInterval`, `start`,
// `stop` answering `{profile}`). workerd lists its Workers at `/json` (one target per service,
// id `core:user:<service>`). Prints `started` once sampling runs; stops when stdin closes.

const [inspector, out, intervalUs = "100"] = process.argv.slice(2);
const fs = await import("node:fs");

const targets = await (await fetch(`http://${inspector}/json`)).json();
const target = targets.find((t) => String(t.id).endsWith(":main")) ?? targets[0];
if (!target) {
  console.error(`no inspector target at ${inspector}`);
  process.exit(2);
}
const url = target.webSocketDebuggerUrl ?? `ws://${inspector}/${target.id}`;
const socket = new WebSocket(url);
let next = 1;
const waiting = new Map();
socket.addEventListener("message", (event) => {
  const message = JSON.parse(event.data);
  const answer = waiting.get(message.id);
  if (!answer) return;
  waiting.delete(message.id);
  if (message.error) answer.reject(new Error(JSON.stringify(message.error)));
  else answer.resolve(message.result);
});
const send = (method, params = {}) =>
  new Promise((resolve, reject) => {
    const id = next++;
    waiting.set(id, { resolve, reject });
    socket.send(JSON.stringify({ id, method, params }));
  });
await new Promise((resolve, reject) => {
  socket.addEventListener("open", resolve, { once: true });
  socket.addEventListener("error", () => reject(new Error(`cannot open ${url}`)), { once: true });
});

await send("Profiler.enable");
await send("Profiler.setSamplingInterval", { interval: Number(intervalUs) });
await send("Profiler.start");
console.log("started");

process.stdin.resume();
await new Promise((resolve) => process.stdin.on("end", resolve));
const { profile } = await send("Profiler.stop");
fs.writeFileSync(out, JSON.stringify(profile));
console.log(`written ${profile.samples.length} samples`);
socket.close();
process.exit(0);
