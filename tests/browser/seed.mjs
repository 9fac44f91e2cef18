// Seeding for the page-load test: filled in once the backend's keys are known.
export const SEEDED = { conversations: 10000, bookings: 2000 };
export async function seed() { throw new Error("seed: not written yet"); }
