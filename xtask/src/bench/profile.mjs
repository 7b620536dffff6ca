// A CPU profile of a Worker under load, through workerd's inspector (the Chrome DevTools
// Protocol's `Profiler` domain). Start the bench with `BENCH_INSPECTOR=<port>` (workerd.rs), then
//   node xtask/src/bench/profile.mjs <port> <seconds>
// while it runs: prints the functions with the most self time, wasm names demangled roughly, and
// the storage calls by our nearest caller. `ws` comes with wrangler's dependencies (Node 20 has
// no WebSocket client of its own without a flag).
import WebSocket from "ws";

const [port = "9230", seconds = "10"] = process.argv.slice(2);
const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
const target = targets.find((t) => t.webSocketDebuggerUrl);
if (!target) throw new Error(`no inspector target on ${port}: ${JSON.stringify(targets)}`);
const socket = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((resolve, reject) => socket.on("open", resolve).on("error", reject));
let nextId = 1;
const pending = new Map();
socket.on("message", (data) => {
  const message = JSON.parse(data);
  if (message.id && pending.has(message.id)) {
    pending.get(message.id)(message);
    pending.delete(message.id);
  }
});
const send = (method, params = {}) =>
  new Promise((resolve) => {
    const id = nextId++;
    pending.set(id, resolve);
    socket.send(JSON.stringify({ id, method, params }));
  });

await send("Profiler.enable");
await send("Profiler.setSamplingInterval", { interval: 100 });
await send("Profiler.start");
await new Promise((resolve) => setTimeout(resolve, Number(seconds) * 1000));
const { result, error } = await send("Profiler.stop");
if (error) throw new Error(JSON.stringify(error));
const { nodes, samples, timeDeltas } = result.profile;

// Self time per node, then per function name.
const byId = new Map(nodes.map((n) => [n.id, n]));
const selfUs = new Map();
samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (timeDeltas[i] ?? 0)));
const demangle = (name) => {
  // Rust legacy mangling: _ZN<len><part>...17h<hash>E -> part::part
  const m = /^_ZN(.*)E$/.exec(name);
  if (!m) return name;
  const parts = [];
  let rest = m[1];
  while (rest.length) {
    const len = /^(\d+)/.exec(rest);
    if (!len) break;
    const n = Number(len[1]);
    parts.push(rest.slice(len[1].length, len[1].length + n));
    rest = rest.slice(len[1].length + n);
  }
  if (parts.length && /^h[0-9a-f]{16}$/.test(parts.at(-1))) parts.pop();
  return parts.join("::").replaceAll("$LT$", "<").replaceAll("$GT$", ">").replaceAll("$u20$", " ").replaceAll("..", "::");
};
const totals = new Map();
let all = 0;
for (const [id, us] of selfUs) {
  const frame = byId.get(id).callFrame;
  const name = demangle(frame.functionName || `(${frame.url || "anonymous"})`);
  totals.set(name, (totals.get(name) ?? 0) + us);
  all += us;
}
const idle = (totals.get("(idle)") ?? 0) + (totals.get("(program)") ?? 0);
console.log(`profile: ${(all / 1e6).toFixed(2)} s sampled, ${((all - idle) / 1e6).toFixed(2)} s not idle`);
for (const [name, us] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
  console.log(`${((100 * us) / all).toFixed(1).padStart(5)}%  ${name.slice(0, 150)}`);
}

// The SQL (`exec`) and storage time by the nearest of our own frames (`checkout_edge::`) above it.
const parent = new Map();
for (const n of nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const ours = (id) => {
  for (let at = parent.get(id); at !== undefined; at = parent.get(at)) {
    const name = demangle(byId.get(at).callFrame.functionName);
    if (name.includes("checkout_edge::")) return name.replace(/::h[0-9a-f]{16}$/, "");
  }
  // None of ours (inlined into a library's closure): the first frames above it instead.
  const chain = [];
  for (let at = parent.get(id); at !== undefined && chain.length < 4; at = parent.get(at)) {
    chain.push(demangle(byId.get(at).callFrame.functionName).slice(0, 60));
  }
  return `(${chain.join(" <- ")})`;
};
const callers = new Map();
for (const [id, us] of selfUs) {
  const name = byId.get(id).callFrame.functionName;
  if (!["exec", "setAlarm", "deleteAlarm", "getAlarm", "deleteAll"].includes(name)) continue;
  const key = `${name} <- ${ours(id)}`;
  callers.set(key, (callers.get(key) ?? 0) + us);
}
console.log("\nstorage calls by our caller:");
for (const [name, us] of [...callers].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
  console.log(`${((100 * us) / all).toFixed(1).padStart(5)}%  ${name.slice(0, 160)}`);
}
socket.close();
