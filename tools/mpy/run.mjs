// Runs the portable test modules (tests/protocol/test_*.py, tests/firmware/test_*.py)
// inside the MicroPython WebAssembly port, with the repository's protocol/, firmware/
// and tests/ packages copied into MicroPython's in-memory filesystem.
//
// Usage: node tools/mpy/run.mjs [PATTERN...]
//        node tools/mpy/run.mjs --script FILE   (run one Python file, e.g. a benchmark)
//        node tools/mpy/run.mjs --script FILE --steps [--heap BYTES]
//            [--copy-in HOSTDIR=MPDIR] [--copy-out MPDIR=HOSTDIR]
//   --steps: after FILE has run, call its mpy_step() until it returns False, each call a
//   separate entry from JavaScript. This build collects garbage only when control returns to
//   JavaScript (its gc.collect() merely schedules a collection), so between two calls the
//   runner schedules one and returns: the next step's gc.mem_alloc() is the live heap.
//   --heap: the first heap region's size (default 256 MiB). This build adds 128 MiB regions
//   whenever the heap runs short instead of raising MemoryError, so a small value does not
//   bound the heap: a script checks gc.mem_alloc() against its own budget.
//   --copy-in / --copy-out: copy a host directory tree into MicroPython's file system before
//   the script, and one back out after it (a store the script works on).
//   A module is selected when its dotted name (tests.protocol.test_cbor) or its path
//   (tests/protocol/test_cbor.py) contains any PATTERN; no pattern selects them all.
//
// Exit status: the runner's (0 = all selected tests passed and at least one ran),
// 2 when MicroPython itself could not be loaded or the runner crashed.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, "..", "..");

// Python packages copied into MicroPython, and the test folders searched for modules.
const PACKAGES = ["protocol", "firmware", "tests"];
// The one reader of the "# micropython: skip" marker, which the runner imports, with the
// package markers on its way.
const RUNNER_FILES = ["host/__init__.py", "host/board/__init__.py", "host/board/files.py"];
const TEST_DIRS = ["tests/protocol", "tests/firmware"];

// Where the repository appears inside MicroPython's filesystem.
const MP_ROOT = "/sealcam";

// MicroPython's GC heap in bytes, and its Python-stack in words (mp_obj_t, 4 bytes on
// wasm32). The pyscript build recurses on the C stack for each Python call and stops at
// about 150 nested calls with "maximum recursion depth exceeded" whatever the pystack, so
// the pystack is sized never to be the limit.
const HEAP_BYTES = 256 * 1024 * 1024;
const PYSTACK_WORDS = 1024 * 1024;

function fail(message) {
  process.stderr.write(`mpy-test: ${message}\n`);
  process.exit(2);
}

// Every .py file below REPO/dir, as paths relative to REPO, in a stable order.
function pythonFiles(dir) {
  const out = [];
  const abs = path.join(REPO, dir);
  if (!fs.existsSync(abs)) return out;
  for (const entry of fs.readdirSync(abs, { withFileTypes: true })) {
    if (entry.name.startsWith(".") || entry.name === "__pycache__") continue;
    const rel = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...pythonFiles(rel));
    else if (entry.isFile() && entry.name.endsWith(".py")) out.push(rel);
  }
  return out.sort();
}

function testModules(patterns) {
  const modules = [];
  for (const dir of TEST_DIRS) {
    const abs = path.join(REPO, dir);
    if (!fs.existsSync(abs)) continue;
    for (const name of fs.readdirSync(abs).sort()) {
      if (!/^test_\w+\.py$/.test(name)) continue;
      const rel = path.posix.join(dir, name);
      const dotted = rel.slice(0, -3).split("/").join(".");
      if (patterns.length && !patterns.some((p) => dotted.includes(p) || rel.includes(p))) continue;
      modules.push(dotted);
    }
  }
  return modules;
}

function mkdirs(FS, dir) {
  let current = "";
  for (const part of dir.split("/").filter(Boolean)) {
    current += "/" + part;
    try {
      FS.mkdir(current);
    } catch (err) {
      // Already there (EEXIST) is fine; anything else is not.
      if (!FS.analyzePath(current).exists) throw err;
    }
  }
}

// A reader that goes away early (tools/mpy-test | head) is not an error of the run.
process.stdout.on("error", (err) => {
  if (err.code !== "EPIPE") throw err;
  process.exit(process.exitCode ?? 0);
});

const scriptMode = process.argv[2] === "--script";
const scriptFile = scriptMode ? process.argv[3] : null;
if (scriptMode && !scriptFile) fail("--script needs a file");
const scriptOptions = { steps: false, heap: HEAP_BYTES, copyIn: [], copyOut: [] };
if (scriptMode) {
  const rest = process.argv.slice(4);
  for (let i = 0; i < rest.length; i++) {
    const opt = rest[i];
    if (opt === "--steps") scriptOptions.steps = true;
    else if (opt === "--heap" || opt === "--copy-in" || opt === "--copy-out") {
      const value = rest[++i];
      if (value === undefined) fail(`${opt} needs a value`);
      if (opt === "--heap") {
        scriptOptions.heap = Number.parseInt(value, 10);
        if (!(scriptOptions.heap > 0)) fail(`--heap needs a size in bytes, not ${value}`);
      } else {
        const pair = value.split("=");
        if (pair.length !== 2 || !pair[0] || !pair[1]) fail(`${opt} needs FROM=TO, not ${value}`);
        (opt === "--copy-in" ? scriptOptions.copyIn : scriptOptions.copyOut).push(pair);
      }
    } else fail(`unknown option ${opt} after --script FILE`);
  }
}
const patterns = scriptMode ? [] : process.argv.slice(2);
const modules = scriptMode ? [] : testModules(patterns);
if (patterns.length && !modules.length) {
  process.stderr.write(`mpy-test: no test module matches ${patterns.join(" ")}\n`);
}

let loadMicroPython;
try {
  ({ loadMicroPython } = await import("@micropython/micropython-webassembly-pyscript"));
} catch (err) {
  fail(`cannot load MicroPython (${err.message}); run tools/mpy-test, which installs it`);
}

const mp = await loadMicroPython({
  heapsize: scriptOptions.heap,
  pystack: PYSTACK_WORDS,
  // One callback per completed line, written straight away so long runs show progress.
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
});

for (const pkg of PACKAGES) {
  for (const rel of pythonFiles(pkg)) {
    const target = `${MP_ROOT}/${rel}`;
    mkdirs(mp.FS, path.posix.dirname(target));
    mp.FS.writeFile(target, fs.readFileSync(path.join(REPO, rel)));
  }
}
for (const rel of RUNNER_FILES) {
  mkdirs(mp.FS, path.posix.dirname(`${MP_ROOT}/${rel}`));
  mp.FS.writeFile(`${MP_ROOT}/${rel}`, fs.readFileSync(path.join(REPO, rel)));
}
mkdirs(mp.FS, `${MP_ROOT}/.runner`);
mp.FS.writeFile(`${MP_ROOT}/.runner/mpy_runner.py`, fs.readFileSync(path.join(HERE, "runner.py")));

// A host directory tree into MicroPython's file system, and back.
function copyIn(from, to) {
  mkdirs(mp.FS, to);
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = `${to}/${entry.name}`;
    if (entry.isDirectory()) copyIn(src, dst);
    else if (entry.isFile()) mp.FS.writeFile(dst, fs.readFileSync(src));
  }
}

function copyOut(from, to) {
  fs.mkdirSync(to, { recursive: true });
  for (const name of mp.FS.readdir(from)) {
    if (name === "." || name === "..") continue;
    const src = `${from}/${name}`;
    const dst = path.join(to, name);
    if (mp.FS.isDir(mp.FS.stat(src).mode)) copyOut(src, dst);
    else fs.writeFileSync(dst, mp.FS.readFile(src));
  }
}

if (scriptMode) {
  try {
    for (const [from, to] of scriptOptions.copyIn) copyIn(path.resolve(from), to);
    mp.runPython(`import sys\nsys.path.insert(0, ${JSON.stringify(MP_ROOT)})`);
    if (scriptOptions.steps) mp.runPython("BENCH_STEPPED = True");
    mp.runPython(fs.readFileSync(path.resolve(scriptFile), "utf8"));
    if (scriptOptions.steps) {
      // Each call returns to JavaScript, where this build collects what was scheduled.
      for (;;) {
        mp.runPython("_mpy_more = mpy_step()");
        if (!mp.globals.get("_mpy_more")) break;
        mp.runPython("import gc\ngc.collect()");
      }
    }
    for (const [from, to] of scriptOptions.copyOut) copyOut(from, path.resolve(to));
    process.exit(0);
  } catch (err) {
    process.stderr.write(`mpy: ${scriptFile} raised:\n${err && err.message ? err.message : err}\n`);
    process.exit(1);
  }
}

// Module names match ^[\w.]+$, so JSON strings of them are also valid Python literals.
// One call per module: this build collects garbage only between calls from JavaScript.
let status;
try {
  mp.runPython(
    [
      "import sys",
      `sys.path.insert(0, ${JSON.stringify(MP_ROOT + "/.runner")})`,
      "import mpy_runner",
      `_mpy_run = mpy_runner.Run(${JSON.stringify(MP_ROOT)}, ${modules.length})`,
    ].join("\n"),
  );
  for (const name of modules) mp.runPython(`_mpy_run.module(${JSON.stringify(name)})`);
  mp.runPython("_mpy_status = _mpy_run.finish()");
  status = mp.globals.get("_mpy_status");
} catch (err) {
  if (err && err.name === "PythonError") {
    process.stderr.write(`mpy-test: the runner itself raised ${err.type}:\n${err.message}`);
  } else {
    process.stderr.write(`mpy-test: MicroPython aborted: ${err && err.stack ? err.stack : err}\n`);
  }
  status = 2;
}
process.exitCode = Number.isInteger(status) ? status : 2;
