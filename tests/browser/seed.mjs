// Seeding for the page-load test: 10,000 conversations (written by the
// runtime's own store, tests/browser/seed_conversations.lua) and 2,000
// bookings (made through the studio's own API, as an owner would).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { join } from "node:path";
import { ROOT } from "./world.mjs";

export const SEEDED = { conversations: 10000, bookings: 2000 };

export async function seed(world, tenant) {
  await promisify(execFile)(join(ROOT, process.env.FLOWHOST_BIN || "build/flowhost"),
    ["test", "tests/browser/seed_conversations.lua"], {
      cwd: ROOT,
      env: { ...process.env, REDIS_URL: world.redisUrl, SEED_TENANT: tenant, SEED_CONVERSATIONS: String(SEEDED.conversations) },
      maxBuffer: 16 * 1024 * 1024,
    });
  throw new Error("seed: bookings not written yet");
}
