// The world the studio's browser tests run in, all on 127.0.0.1 and all
// stopped afterwards: a private redis-server, the fake Telegram Bot API
// (tests/fakes/telegram.py: the channel a hand-off's customer is on), and
// a real `flowhost serve` over copies of the tenants carwash, salon (in
// config/ and flows/) and ticker (tests/fixtures: an owner on Telegram), in
// var/test/studio-<random>/ so the studio may write their files.
import { spawn, execFileSync } from "node:child_process";
import { createServer } from "node:net";
import { mkdirSync, cpSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";

export const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const hex = (n) => randomBytes(n).toString("hex");

export const TOKENS = {
  platform: `plat-${hex(8)}`,
  carwash: `cw-${hex(8)}`,
  salon: `sa-${hex(8)}`,
  ticker: `tk-${hex(8)}`,
};

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(what, fn, ms = 30000) {   // generous: the machine is shared
  const end = Date.now() + ms;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch {
      /* not yet */
    }
    if (Date.now() > end) throw new Error(`${what} did not come up in ${ms} ms`);
    await sleep(50);
  }
}

// a child whose output goes to a log file under var/test
function start(name, cmd, args, env, dir) {
  const log = join(dir, `${name}.log`);
  const fd = openSync(log, "w");
  const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", fd, fd] });
  child.log = log;
  return child;
}

function stop(child) {
  return new Promise((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode) return resolve();
    const t = setTimeout(() => child.kill("SIGKILL"), 10000);
    child.once("exit", () => { clearTimeout(t); resolve(); });
    child.kill("SIGTERM");
  });
}

export async function startWorld() {
  const dir = join(ROOT, "var/test", `studio-${hex(4)}`);
  mkdirSync(join(dir, "tenants"), { recursive: true });
  mkdirSync(join(dir, "flows"), { recursive: true });
  for (const t of ["_platform", "carwash", "salon"]) cpSync(join(ROOT, `config/tenants/${t}.lua`), join(dir, `tenants/${t}.lua`));
  // the ticker's owner signs in to the studio with the tenant's own token
  const ticker = readFileSync(join(ROOT, "tests/fixtures/tenants/ticker.lua"), "utf8");
  writeFileSync(join(dir, "tenants/ticker.lua"),
    ticker.replace('name = "Ticker",', 'name = "Ticker",\n  admin_token_env = "TICKER_ADMIN_TOKEN",'));
  for (const t of ["carwash", "salon"]) cpSync(join(ROOT, `flows/${t}`), join(dir, `flows/${t}`), { recursive: true });
  cpSync(join(ROOT, "tests/fixtures/flows/ticker"), join(dir, "flows/ticker"), { recursive: true });

  const children = [];
  const world = { dir, children, tokens: TOKENS };
  world.stop = async () => {
    for (const c of children.reverse()) await stop(c);
  };
  try {
    const redisPort = Number(process.env.STUDIO_REDIS_PORT) || await freePort();
    const redis = start("redis", "redis-server", ["--port", String(redisPort), "--bind", "127.0.0.1",
      "--save", "", "--appendonly", "no"], {}, dir);
    children.push(redis);
    world.redisPort = redisPort;
    world.redisUrl = `redis://127.0.0.1:${redisPort}`;
    await waitFor("redis", () => execFileSync("redis-cli", ["-p", String(redisPort), "ping"], { stdio: ["ignore", "pipe", "ignore"] }).toString().includes("PONG"));

    const tg = start("telegram", "python3", ["tests/fakes/telegram.py", "--port", "0"], {}, dir);
    children.push(tg);
    world.telegramUrl = await waitFor("the Telegram fake", () => {
      const m = /READY (\d+)/.exec(readFileSync(tg.log, "utf8"));
      return m && `http://127.0.0.1:${m[1]}`;
    });

    const port = Number(process.env.STUDIO_HOST_PORT) || await freePort();
    const previewPort = await freePort();
    world.url = `http://127.0.0.1:${port}`;
    world.ticker = { token: `777003:${hex(12)}`, secret: `sec-${hex(6)}`, owner: String(5000000 + randomBytes(2).readUInt16BE()) };
    const host = start("flowhost", join(ROOT, process.env.FLOWHOST_BIN || "build/flowhost"),
      ["serve", "--config", "config/flowhost.lua"], {
        FLOWHOST_LISTEN: `127.0.0.1:${port}`,
        FLOWHOST_WORKERS: "2",
        FLOWHOST_MAX_CONNECTIONS_PER_IP: "0",
        FLOWHOST_DEBOUNCE_MS: "0",
        FLOWHOST_STUDIO_DIR: process.env.FLOWHOST_STUDIO_DIR || join(ROOT, "build/studio"),
        // the preview host (chat with a draft) of this world only: its own port and folder
        FLOWHOST_STUDIO_PREVIEW_LISTEN: `127.0.0.1:${previewPort}`,
        FLOWHOST_STUDIO_PREVIEW_DIR: join(dir, "preview"),
        FLOWHOST_TENANTS_DIR: join(dir, "tenants"),
        FLOWHOST_FLOWS_DIR: join(dir, "flows"),
        REDIS_URL: world.redisUrl,
        FLOWHOST_ADMIN_TOKEN: TOKENS.platform,
        CARWASH_ADMIN_TOKEN: TOKENS.carwash,
        SALON_ADMIN_TOKEN: TOKENS.salon,
        TICKER_ADMIN_TOKEN: TOKENS.ticker,
        CARWASH_BOOKINGS_PER_MINUTE: "0",
        TELEGRAM_API_URL: world.telegramUrl,
        TICKER_TELEGRAM_TOKEN: world.ticker.token,
        TICKER_TELEGRAM_SECRET: world.ticker.secret,
        TICKER_OWNER_CHAT: world.ticker.owner,
      }, dir);
    children.push(host);
    world.hostLog = host.log;
    await waitFor("flowhost", async () => (await fetch(`${world.url}/healthz`)).ok);
  } catch (err) {
    await world.stop();
    throw err;
  }
  return world;
}

// --- talking to the host and the fake as the outside world does ---

export async function json(url, opts = {}) {
  const res = await fetch(url, { ...opts, headers: { "Content-Type": "application/json", ...(opts.headers || {}) },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: res.status, body };
}

// what the live bot answers to `text` in a new conversation of the chat API
export async function liveSay(world, tenant, text) {
  const c = await json(`${world.url}/v1/tenants/${tenant}/conversations`, { method: "POST" });
  if (c.status !== 200 && c.status !== 201) throw new Error(`could not open a conversation: ${c.status} ${JSON.stringify(c.body)}`);
  const r = await json(`${world.url}/v1/tenants/${tenant}/conversations/${c.body.id}/messages`, { method: "POST", body: { text } });
  if (r.status !== 200) throw new Error(`the live bot answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body.replies.map((x) => x.text);
}

// a Telegram customer (chat id) writes to the ticker tenant through the fake
export async function telegramFrom(world, chat, text) {
  const u = await json(`${world.telegramUrl}/_control/make_update`, { method: "POST", body: { chat_id: Number(chat), text, first_name: "Ana" } });
  const r = await json(`${world.telegramUrl}/_control/deliver`, { method: "POST", body: {
    url: `${world.url}/webhooks/ticker/telegram`, secret: world.ticker.secret, update: u.body, times: 1, gap_ms: 0 } });
  if (JSON.stringify(r.body.statuses) !== "[200]") throw new Error(`the webhook answered ${JSON.stringify(r.body)}`);
}

// the texts the bot sent to a Telegram chat
export async function telegramTo(world, chat) {
  const r = await json(`${world.telegramUrl}/_control/sent?token=${world.ticker.token}&method=sendMessage`);
  return r.body.sent.filter((m) => String(m.params.chat_id) === String(chat) && m.status === 200).map((m) => m.params.text);
}

export async function eventually(what, fn, ms = 10000) {
  return waitFor(what, fn, ms);
}
