// Builds the web console into console/dist (index.html, app.js, app.css):
//   1. TypeScript for the protobuf contract (buf + protoc-gen-es) into src/gen,
//   2. type check (tsc --noEmit): a proto change that breaks the console fails here,
//   3. bundle and minify with esbuild.
// Deterministic: the same sources give byte-identical files (CI compares them
// with what is committed). Run from anywhere: `npm run console:build`.
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, rmSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const bin = (name) => join(root, "node_modules", ".bin", name);
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: "inherit" });

console.log("console: buf generate");
rmSync(join(here, "src", "gen"), { recursive: true, force: true });
run(bin("buf"), ["generate", "--template", "console/buf.gen.yaml"]);

console.log("console: tsc --noEmit");
run(bin("tsc"), ["--noEmit", "-p", "console"]);

const dist = join(here, "dist");
mkdirSync(dist, { recursive: true });
for (const f of readdirSync(dist)) rmSync(join(dist, f), { recursive: true, force: true });

const common = {
  bundle: true,
  minify: true,
  absWorkingDir: root,
  logLevel: "warning",
  legalComments: "none",
  charset: "utf8",
  sourcemap: false,
};

console.log("console: esbuild");
await esbuild.build({
  ...common,
  entryPoints: ["console/src/main.ts"],
  outfile: "console/dist/app.js",
  format: "iife",
  platform: "browser",
  target: ["es2022", "chrome109", "firefox115", "safari16"],
  define: { "process.env.NODE_ENV": '"production"' },
});
await esbuild.build({
  ...common,
  entryPoints: ["console/src/style.css"],
  outfile: "console/dist/app.css",
  target: ["chrome109", "firefox115", "safari16"],
});

// index.html: comments and indentation out, nothing else changed.
const html = readFileSync(join(here, "index.html"), "utf8")
  .replace(/<!--[\s\S]*?-->/g, "")
  .split("\n")
  .map((l) => l.trim())
  .filter(Boolean)
  .join("\n");
writeFileSync(join(dist, "index.html"), `${html}\n`);

const files = readdirSync(dist).sort();
for (const f of files) console.log(`console: dist/${f} ${readFileSync(join(dist, f)).length} bytes`);
if (files.join(",") !== "app.css,app.js,index.html") throw new Error(`console/dist should hold exactly app.css, app.js, index.html, not ${files}`);
