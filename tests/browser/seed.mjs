// Seeding for the page-load test: 10,000 conversations and 2,000 bookings
// of a tenant, written by the runtime itself (tests/browser/seed.lua, run
// by `flowhost test` against the world's Redis).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { join } from "node:path";
import { ROOT } from "./world.mjs";

export const SEEDED = { conversations: 10000, bookings: 2000 };

// "YYYY-MM-DD" n days after today where the tenant is
export function dayAfter(zone, n) {
  const today = new Date().toLocaleDateString("en-CA", { timeZone: zone });
  const d = new Date(`${today}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

// -> a day that has bookings (tomorrow where the tenant is: 200 of them)
export async function seed(world, tenant, zone = "Asia/Kolkata") {
  const t0 = Date.now();
  try {
    await promisify(execFile)(join(ROOT, process.env.FLOWHOST_BIN || "build/flowhost"),
      ["test", "tests/browser/seed.lua"], {
        cwd: ROOT,
        env: { ...process.env, REDIS_URL: world.redisUrl, FLOWHOST_LUA_PATH: "tests/support/?.lua", SEED_TENANT: tenant,
          SEED_ZONE: zone, SEED_CONVERSATIONS: String(SEEDED.conversations), SEED_BOOKINGS: String(SEEDED.bookings) },
        maxBuffer: 16 * 1024 * 1024,
      });
  } catch (err) {
    throw new Error(`seeding failed:\n${err.stdout || ""}${err.stderr || ""}`);
  }
  console.log(`seeded ${SEEDED.conversations} conversations and ${SEEDED.bookings} bookings in ${Date.now() - t0} ms`);
  return dayAfter(zone, 1);
}
