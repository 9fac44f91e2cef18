// Bundles the studio (src/) into one directory flowhost serves at /studio/:
// index.html, assets/studio.js, assets/studio.css. Usage: node build.mjs OUTDIR
import { build } from "esbuild";
import { mkdirSync, copyFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) {
  console.error("usage: node build.mjs OUTDIR");
  process.exit(2);
}
mkdirSync(join(out, "assets"), { recursive: true });
await build({
  entryPoints: [join(here, "src/main.js")],
  bundle: true,
  minify: true,
  sourcemap: true,
  format: "esm",
  target: ["es2020"],
  outfile: join(out, "assets/studio.js"),
  logLevel: "warning",
});
copyFileSync(join(here, "src/index.html"), join(out, "index.html"));
copyFileSync(join(here, "src/studio.css"), join(out, "assets/studio.css"));
console.log(`studio built into ${out}/`);
