// A virtual MicroPython board: the pinned WebAssembly port's REPL on stdin/stdout.
//
// Usage: node tools/mpy/board.mjs FLASH_DIR [--heap BYTES]
//
// Bytes read from stdin go to MicroPython's event-driven REPL one at a time; everything
// MicroPython prints goes to stdout unchanged. simulator/mpboard.py puts a pseudo-terminal
// in front of this process, so pyserial, mpremote and `sealcam flash` see a serial board.
//
// What the bridge adds to the port's REPL, so it behaves like a board on a cable:
// - FLASH_DIR is the board's flash filesystem, mounted at /flash (the working directory,
//   on sys.path as on boards with a /flash drive). Every file operation goes straight to
//   the host directory, so files survive soft resets and restarts of this process, and
//   the host can read them while the board runs. A flush on the board is an fsync.
// - Soft reset (Ctrl-D on an empty line, or sys.exit()): prints "MPY: soft reboot", starts
//   a fresh interpreter (new heap, same flash) and, if the raw REPL was active, returns to
//   it as a board does ("raw REPL; CTRL-B to exit\r\n>").
// - Raw-paste mode (Ctrl-E "A" Ctrl-A in the raw REPL), with its flow control, which the
//   port's REPL would otherwise answer by blocking on a read of the real stdin.
// - os.urandom, which real ports take from their hardware random number generator; here it
//   draws from the host's cryptographic generator. The port's own identity (sys.platform,
//   sys.implementation) is left as it reports itself.
//
// Running code cannot be interrupted with Ctrl-C: the interpreter runs on this process's
// only thread, so the next byte is read when the code finishes.
//
// Protocol on stderr: one line "board: ready" once the first interpreter is up; diagnostics
// otherwise. Exit status: 0 when stdin closes, 2 when MicroPython cannot be loaded.

import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const MOUNT = "/flash";
const DEFAULT_HEAP = 8 * 1024 * 1024; // a generous board; the port grows its heap if needed
const PYSTACK_WORDS = 64 * 1024;
const PASTE_WINDOW = 256; // raw-paste flow-control window, bytes
const FLUSH_AT = 1024; // output is passed on at every newline, EOT, or this many bytes

const CTRL_A = 0x01;
const CTRL_B = 0x02;
const CTRL_C = 0x03;
const CTRL_D = 0x04;
const CTRL_E = 0x05;
const RAW_BANNER = "raw REPL; CTRL-B to exit\r\n";

function fail(message) {
  process.stderr.write(`board: ${message}\n`);
  process.exit(2);
}

// --- the flash filesystem: an Emscripten filesystem whose every call goes to the host ----

// Emscripten's errno numbers (they are not Linux's) for the host errors a board can meet.
const ERRNO = {
  EPERM: 63,
  ENOENT: 44,
  EIO: 29,
  EBADF: 8,
  EACCES: 2,
  EBUSY: 10,
  EEXIST: 20,
  EXDEV: 75,
  ENOTDIR: 54,
  EISDIR: 31,
  EINVAL: 28,
  EMFILE: 33,
  EFBIG: 22,
  ENOSPC: 51,
  EROFS: 69,
  ENAMETOOLONG: 37,
  ENOTEMPTY: 55,
  ELOOP: 32,
};

function hostFilesystem(FS) {
  const S_IFMT = 0o170000;
  const S_IFDIR = 0o040000;
  const S_IFREG = 0o100000;

  // A host error becomes the errno the board's os module raises as OSError.
  function guard(fn) {
    try {
      return fn();
    } catch (err) {
      if (err instanceof FS.ErrnoError) throw err;
      throw new FS.ErrnoError(ERRNO[err && err.code] ?? ERRNO.EIO);
    }
  }

  function hostPath(node) {
    const parts = [];
    while (node !== node.mount.root) {
      parts.push(node.name);
      node = node.parent;
    }
    return path.join(node.mount.opts.root, ...parts.reverse());
  }

  function childPath(parent, name) {
    return path.join(hostPath(parent), name);
  }

  // Only regular files and directories exist on a board's flash; listings skip the rest.
  function nodeMode(hostMode) {
    const type = hostMode & S_IFMT;
    if (type !== S_IFDIR && type !== S_IFREG) throw new FS.ErrnoError(ERRNO.EINVAL);
    return hostMode;
  }

  const nodeOps = {
    getattr(node) {
      return guard(() => {
        const st = fs.lstatSync(hostPath(node));
        return {
          dev: st.dev,
          ino: st.ino,
          mode: st.mode,
          nlink: st.nlink,
          uid: st.uid,
          gid: st.gid,
          rdev: st.rdev,
          size: st.size,
          atime: st.atime,
          mtime: st.mtime,
          ctime: st.ctime,
          blksize: st.blksize,
          blocks: st.blocks,
        };
      });
    },
    setattr(node, attr) {
      guard(() => {
        const p = hostPath(node);
        if (attr.mode !== undefined) fs.chmodSync(p, attr.mode & 0o7777);
        if (attr.atime !== undefined || attr.mtime !== undefined) {
          const st = fs.statSync(p);
          fs.utimesSync(p, new Date(attr.atime ?? st.atime), new Date(attr.mtime ?? st.mtime));
        }
        if (attr.size !== undefined) fs.truncateSync(p, attr.size);
      });
    },
    lookup(parent, name) {
      const st = guard(() => fs.lstatSync(childPath(parent, name)));
      return makeNode(parent, name, nodeMode(st.mode));
    },
    mknod(parent, name, mode) {
      const p = childPath(parent, name);
      guard(() => {
        if ((mode & S_IFMT) === S_IFDIR) fs.mkdirSync(p, mode & 0o777);
        else if ((mode & S_IFMT) === S_IFREG) fs.closeSync(fs.openSync(p, "wx", mode & 0o777));
        else throw new FS.ErrnoError(ERRNO.EPERM);
      });
      return makeNode(parent, name, mode);
    },
    rename(node, newDir, newName) {
      const from = hostPath(node);
      const to = childPath(newDir, newName);
      guard(() => fs.renameSync(from, to));
      // A node cached for the name just replaced no longer names anything.
      try {
        const replaced = FS.lookupNode(newDir, newName);
        if (replaced !== node) FS.hashRemoveNode(replaced);
      } catch {
        // nothing was there
      }
      node.name = newName;
    },
    unlink(parent, name) {
      guard(() => fs.unlinkSync(childPath(parent, name)));
    },
    rmdir(parent, name) {
      guard(() => fs.rmdirSync(childPath(parent, name)));
    },
    readdir(node) {
      return [".", "..", ...guard(() => fs.readdirSync(hostPath(node)))];
    },
    symlink() {
      throw new FS.ErrnoError(ERRNO.EPERM);
    },
    readlink() {
      throw new FS.ErrnoError(ERRNO.EINVAL);
    },
    statfs(root) {
      return guard(() => {
        const s = fs.statfsSync(root);
        return {
          bsize: s.bsize,
          frsize: s.bsize,
          blocks: s.blocks,
          bfree: s.bfree,
          bavail: s.bavail,
          files: s.files,
          ffree: s.ffree,
        };
      });
    },
  };

  const streamOps = {
    open(stream) {
      if ((stream.node.mode & S_IFMT) !== S_IFREG) return;
      // Creation, O_EXCL and truncation were done by the filesystem layer already; only the
      // access mode is left for the host.
      const access = stream.flags & 3;
      const flags = access === 0 ? "r" : access === 1 ? "r+" : "r+";
      stream.hostFd = guard(() => fs.openSync(hostPath(stream.node), flags));
    },
    close(stream) {
      if (stream.hostFd !== undefined) guard(() => fs.closeSync(stream.hostFd));
    },
    read(stream, buffer, offset, length, position) {
      return guard(() => fs.readSync(stream.hostFd, buffer, offset, length, position));
    },
    write(stream, buffer, offset, length, position) {
      return guard(() => fs.writeSync(stream.hostFd, buffer, offset, length, position));
    },
    llseek(stream, offset, whence) {
      let position = offset;
      if (whence === 1) position += stream.position;
      else if (whence === 2 && stream.hostFd !== undefined) {
        position += guard(() => fs.fstatSync(stream.hostFd).size);
      }
      if (position < 0) throw new FS.ErrnoError(ERRNO.EINVAL);
      return position;
    },
    fsync(stream) {
      if (stream.hostFd !== undefined) guard(() => fs.fsyncSync(stream.hostFd));
      return 0;
    },
  };

  function makeNode(parent, name, mode) {
    const node = FS.createNode(parent, name, mode, 0);
    node.node_ops = nodeOps;
    node.stream_ops = streamOps;
    return node;
  }

  return {
    mount(mount) {
      const st = guard(() => fs.statSync(mount.opts.root));
      return makeNode(null, "/", nodeMode(st.mode));
    },
  };
}

// The port reports Emscripten's errno numbers in OSError (ENOENT is 44 there), while its
// errno module, real boards and mpremote use the usual ones (ENOENT is 2). The filesystem
// calls that the port's system calls make are wrapped so that their errors leave with the
// usual numbers; the filesystem's own checks inside them still see Emscripten's.
const SYSCALL_FS_CALLS = [
  "open", "close", "read", "write", "llseek", "stat", "fstat", "lstat", "mkdir", "unlink",
  "rmdir", "rename", "readdir", "chdir", "statfs", "truncate", "ftruncate", "getStreamChecked",
];

function usualErrnos(FS) {
  for (const name of SYSCALL_FS_CALLS) {
    const inner = FS[name];
    FS[name] = (...args) => {
      try {
        return inner(...args);
      } catch (err) {
        if (!(err instanceof FS.ErrnoError) || err.usual) throw err;
        const number = os.constants.errno[err.code];
        if (number === undefined) throw err;
        const usual = new FS.ErrnoError(number);
        usual.usual = true;
        throw usual;
      }
    };
  }
}

// --- one interpreter -----------------------------------------------------------------------

// Run at every start: the board's working directory and import path, and its random source.
const SETUP = `
def _board_setup():
    import binascii, os, sys, _board_hw
    os.chdir(${JSON.stringify(MOUNT)})
    sys.path[:] = ["", ".frozen", ${JSON.stringify(MOUNT)}, ${JSON.stringify(MOUNT + "/lib")}]
    def urandom(n):
        return binascii.unhexlify(_board_hw.random_hex(n))
    os.urandom = urandom
    plain_ilistdir = os.ilistdir
    def ilistdir(path="."):
        # Boards' filesystems give each entry's size; the port's host filesystem does not.
        for entry in plain_ilistdir(path):
            if len(entry) > 3 and entry[3]:
                yield entry
            elif entry[1] == 0x8000:
                where = (path or ".").rstrip("/") + "/" + entry[0]
                yield (entry[0], entry[1], entry[2], os.stat(where)[6])
            else:
                yield (entry[0], entry[1], entry[2], 0)
    os.ilistdir = ilistdir
_board_setup()
del _board_setup
`;

let loadMicroPython;
try {
  ({ loadMicroPython } = await import("@micropython/micropython-webassembly-pyscript"));
} catch (err) {
  fail(`cannot load MicroPython (${err.message}); run tools/setup, which installs it`);
}

const args = process.argv.slice(2);
let flashDir = null;
let heap = DEFAULT_HEAP;
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--heap") heap = Number.parseInt(args[++i], 10);
  else if (flashDir === null) flashDir = args[i];
  else fail(`unexpected argument ${args[i]}`);
}
if (!flashDir) fail("usage: node tools/mpy/board.mjs FLASH_DIR [--heap BYTES]");
if (!Number.isInteger(heap) || heap < 64 * 1024) fail("--heap needs a byte count of 65536 or more");
flashDir = path.resolve(flashDir);
try {
  fs.mkdirSync(flashDir, { recursive: true });
} catch (err) {
  fail(`cannot use ${flashDir} as the board's flash: ${err.message}`);
}

// --- output: passed on in order, in batches -------------------------------------------------

let out = [];
let muted = false; // output of a restart that a real board would not show
let dropOk = 0; // bytes of the raw REPL's "OK" to hide (raw-paste mode acknowledges otherwise)
let heard = null; // when an array, the bytes output since it was set, to learn the REPL's mode

function writeAll(bytes) {
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += fs.writeSync(1, bytes, offset);
    } catch (err) {
      if (err.code === "EAGAIN") continue; // the reader is momentarily behind
      if (err.code === "EPIPE") process.exit(0);
      throw err;
    }
  }
}

function flush() {
  if (out.length) {
    writeAll(Buffer.from(out));
    out = [];
  }
}

function emit(byte) {
  if (muted) return;
  if (dropOk > 0) {
    dropOk -= 1;
    return;
  }
  out.push(byte);
  if (heard) heard.push(byte);
  if (byte === 0x0a || byte === CTRL_D || out.length >= FLUSH_AT) flush();
}

function emitText(text) {
  for (const byte of Buffer.from(text, "latin1")) emit(byte);
}

async function startInterpreter() {
  const mp = await loadMicroPython({
    heapsize: heap,
    pystack: PYSTACK_WORDS,
    linebuffer: false,
    stdout: (bytes) => bytes.forEach(emit),
    stderr: (bytes) => process.stderr.write(Buffer.from(bytes)),
  });
  mp.FS.mkdir(MOUNT);
  mp.FS.mount(hostFilesystem(mp.FS), { root: flashDir }, MOUNT);
  usualErrnos(mp.FS);
  mp.registerJsModule("_board_hw", {
    random_hex: (n) => crypto.randomBytes(n).toString("hex"),
  });
  mp.runPython(SETUP);
  return mp;
}

// --- the REPL, as a board's USB serial would present it -------------------------------------

const board = {
  mp: null,
  raw: false, // the raw REPL is active
  rawLen: 0, // bytes of the raw REPL's current input
  escape: [], // a possible raw-paste request (Ctrl-E "A" Ctrl-A) being read
  paste: null, // { code: [], count } while a raw paste is being received
};

async function boot(raw) {
  board.mp = await startInterpreter();
  board.raw = raw;
  board.rawLen = 0;
  if (!raw) {
    board.mp.replInit();
    return;
  }
  muted = true;
  board.mp.replInit();
  board.mp.replProcessChar(CTRL_A);
  muted = false;
  emitText(RAW_BANNER + ">");
}

async function softReset() {
  flush();
  emitText("MPY: soft reboot\r\n");
  await boot(board.raw);
}

// Feed one byte to the REPL; keep track of the mode as pyexec does.
async function feed(byte) {
  const wasRaw = board.raw;
  heard = wasRaw ? null : [];
  const status = board.mp.replProcessChar(byte);
  const said = heard ? Buffer.from(heard).toString("latin1") : "";
  heard = null;
  if (wasRaw) {
    if (byte === CTRL_B) board.raw = false;
    else if (byte === CTRL_A || byte === CTRL_C || byte === CTRL_D) board.rawLen = 0;
    else board.rawLen += 1;
  } else if (byte === CTRL_A && said.includes(RAW_BANNER)) {
    board.raw = true;
    board.rawLen = 0;
  }
  if (status !== 0) await softReset();
}

// Raw paste: acknowledge with the window, take the code with flow control, then run it
// through the raw REPL, whose "OK" is hidden (the paste's end was acknowledged instead).
async function pasteByte(byte) {
  const paste = board.paste;
  if (byte !== CTRL_D) {
    paste.code.push(byte);
    paste.count += 1;
    if (paste.count % PASTE_WINDOW === 0) {
      emit(CTRL_A);
      flush();
    }
    return;
  }
  board.paste = null;
  emit(CTRL_D);
  flush();
  if (!paste.code.length) {
    // Nothing to run: a board answers an empty paste with empty output and error.
    emitText("\x04\x04>");
    return;
  }
  for (const b of paste.code) board.mp.replProcessChar(b);
  board.rawLen = paste.code.length;
  dropOk = 2;
  await feed(CTRL_D);
  dropOk = 0;
}

async function handle(byte) {
  if (board.paste) {
    await pasteByte(byte);
    return;
  }
  if (board.escape.length) {
    board.escape.push(byte);
    const [, second, third] = board.escape;
    if (second !== 0x41 /* "A" */ || (third !== undefined && third !== CTRL_A)) {
      const pending = board.escape;
      board.escape = [];
      for (const b of pending) await feed(b);
    } else if (third === CTRL_A) {
      board.escape = [];
      board.paste = { code: [], count: 0 };
      emitText("R\x01");
      emit(PASTE_WINDOW & 0xff);
      emit(PASTE_WINDOW >> 8);
      emit(CTRL_A);
      flush();
    }
    return;
  }
  if (board.raw && board.rawLen === 0 && byte === CTRL_E) {
    board.escape = [byte];
    return;
  }
  await feed(byte);
}

// Input is handled strictly in order, one byte at a time, even across the awaits of a reset.
const inbox = [];
let pumping = false;

async function pump() {
  if (pumping) return;
  pumping = true;
  try {
    while (inbox.length) {
      const chunk = inbox.shift();
      for (const byte of chunk) await handle(byte);
      flush();
    }
  } finally {
    pumping = false;
  }
}

process.on("uncaughtException", (err) => {
  flush();
  process.stderr.write(`board: crashed: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});

try {
  await boot(false);
} catch (err) {
  fail(`MicroPython did not start: ${err && err.message ? err.message : err}`);
}
flush();
process.stderr.write("board: ready\n");
process.stdin.on("data", (chunk) => {
  inbox.push(chunk);
  pump();
});
process.stdin.on("end", () => {
  const finish = () => (pumping ? setTimeout(finish, 10) : (flush(), process.exit(0)));
  finish();
});
