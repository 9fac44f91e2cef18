// Seeding for the page-load test: 10,000 conversations (written by the
// runtime's own store, tests/browser/seed_conversations.lua) and 2,000
// bookings (made through the studio's API, as an owner would: 200 a day on
// ten days from tomorrow, on the 20 bays world.mjs gives carwash).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { join } from "node:path";
import { ROOT } from "./world.mjs";

export const SEEDED = { conversations: 10000, bookings: 2000 };
const PER_DAY = 200;
const HOURS = [8, 9, 10, 11, 12, 14, 15, 16, 17, 18, 19];    // carwash: 8am-1pm, 2pm-8pm
const PARALLEL = 8;

// "YYYY-MM-DD" n days after today where the tenant is
function dayAfter(zone, n) {
  const today = new Date().toLocaleDateString("en-CA", { timeZone: zone });
  const d = new Date(`${today}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

async function studioSession(world) {
  const res = await fetch(`${world.url}/studio/api/session`, { method: "POST",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token: world.tokens.platform }) });
  if (!res.ok) throw new Error(`sign-in answered ${res.status}`);
  const { csrf } = await res.json();
  const cookie = res.headers.get("set-cookie").split(";")[0];
  return { "Content-Type": "application/json", Cookie: cookie, "X-CSRF-Token": csrf };
}

async function seedBookings(world, tenant, zone) {
  const headers = await studioSession(world);
  let next = 0;
  const failures = [];
  const worker = async () => {
    for (let i = next++; i < SEEDED.bookings; i = next++) {
      const day = dayAfter(zone, 1 + Math.floor(i / PER_DAY));
      const j = i % PER_DAY;
      const hour = String(HOURS[j % HOURS.length]).padStart(2, "0");
      const res = await fetch(`${world.url}/studio/api/tenants/${tenant}/bookings`, { method: "POST", headers,
        body: JSON.stringify({ service: "basic_wash", start: `${day}T${hour}:00`,
          customer: { name: `Seed ${i}`, phone: `97${String(i).padStart(8, "0")}` } }) });
      if (!res.ok) failures.push(`${day}T${hour}:00 ${res.status} ${await res.text()}`);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  if (failures.length) throw new Error(`${failures.length} bookings failed, e.g. ${failures.slice(0, 3).join("; ")}`);
  return dayAfter(zone, 1);
}

// -> a day that has bookings
export async function seed(world, tenant, zone = "Asia/Kolkata") {
  await promisify(execFile)(join(ROOT, process.env.FLOWHOST_BIN || "build/flowhost"),
    ["test", "tests/browser/seed_conversations.lua"], {
      cwd: ROOT,
      env: { ...process.env, REDIS_URL: world.redisUrl, SEED_TENANT: tenant, SEED_CONVERSATIONS: String(SEEDED.conversations) },
      maxBuffer: 16 * 1024 * 1024,
    });
  return seedBookings(world, tenant, zone);
}
