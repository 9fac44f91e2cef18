// Bundles the studio (src/) into one directory flowhost serves at /studio/:
// index.html, assets/studio.js (and the chunks it loads), assets/studio.css.
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
  entryPoints: [join(here, "src/main.js")],
  bundle: true,
  minify: true,
  sourcemap: true,
  format: "esm",
  splitting: true,              // the code editor is a chunk of its own, loaded by the Files page
  target: ["es2020"],
  outdir: join(out, "assets"),
  entryNames: "studio",
  chunkNames: "chunk-[hash]",
  logLevel: "warning",
});
copyFileSync(join(here, "src/index.html"), join(out, "index.html"));
copyFileSync(join(here, "src/studio.css"), join(out, "assets/studio.css"));
console.log(`studio built into ${out}/`);
