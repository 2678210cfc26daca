// inspect.mjs: validate built plugin modules and print their ABI surface.
//   node plugins/test/inspect.mjs plugins/guard.wasm ...
// Fails when a module does not validate, imports anything other than
// env.proxy_*, wasi_snapshot_preview1.* or wasi_unstable.*, or lacks a
// required export (either name of a pair: ABI 0.2.1 or 0.2.0, the way
// Switchyard's host accepts them).
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { ALLOWED_IMPORT } from "./host.mjs";

const REQUIRED = ["memory", ["proxy_abi_version_0_2_1", "proxy_abi_version_0_2_0"],
  ["proxy_on_memory_allocate", "malloc"], "proxy_on_context_create", "proxy_on_vm_start",
  "proxy_on_configure"];

let bad = 0;
for (const file of process.argv.slice(2)) {
  const problems = [];
  let mod;
  try {
    mod = new WebAssembly.Module(readFileSync(file));
  } catch (e) {
    console.error(`${file}: not a valid WebAssembly module: ${e.message}`);
    bad++;
    continue;
  }
  const imports = WebAssembly.Module.imports(mod);
  const exports = WebAssembly.Module.exports(mod);
  for (const i of imports) {
    if (!ALLOWED_IMPORT(i.module, i.name)) problems.push(`import ${i.module}.${i.name} is not allowed`);
  }
  const names = new Set(exports.map((e) => e.name));
  for (const r of REQUIRED) {
    const any = [r].flat();
    if (!any.some((n) => names.has(n))) problems.push(`missing export ${any.join(" or ")}`);
  }
  const size = readFileSync(file).length;
  console.log(`${basename(file)} (${size} bytes)`);
  console.log(`  imports: ${imports.map((i) => `${i.module}.${i.name}`).join(" ")}`);
  console.log(`  exports: ${exports.map((e) => e.name).join(" ")}`);
  for (const p of problems) console.error(`  ERROR: ${p}`);
  if (problems.length) bad++;
}
process.exit(bad ? 1 : 0);
