// Bundles the studio (src/) into one directory flowhost serves at /studio/:
// index.html, assets/studio.js, assets/code.js (the editor), assets/studio.css.
// Usage: node build.mjs OUTDIR
import { build } from "esbuild";
import { mkdirSync, copyFileSync, rmSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) {
  console.error("usage: node build.mjs OUTDIR");
  process.exit(2);
}
rmSync(join(out, "assets"), { recursive: true, force: true });      // no chunk of an older build stays
mkdirSync(join(out, "assets"), { recursive: true });
await build({
  // two bundles: the app, and the code editor (CodeMirror) the Files page loads when it opens a file
  entryPoints: { studio: join(here, "src/main.js"), code: join(here, "src/code.js") },
  bundle: true,
  minify: true,
  sourcemap: true,
  format: "esm",
  target: ["es2020"],
  outdir: join(out, "assets"),
  logLevel: "warning",
});
copyFileSync(join(here, "src/index.html"), join(out, "index.html"));
copyFileSync(join(here, "src/studio.css"), join(out, "assets/studio.css"));
console.log(`studio built into ${out}/`);
