// Injected disk failures, for tests (`node -r` this file in a child process, or install() in-process).
//  MELSEG_FULL_DISK=<dir>            writes to files under <dir> fail with ENOSPC once 1 MiB has gone
//                                    there, after a last short write, as a real full disk behaves.
//  MELSEG_FAIL_WRITE=<substring>:<n> the n-th file opened for writing whose path contains <substring>
//                                    gets a short write, then ENOSPC (the disk filled up just then).
//  MELSEG_SIGNAL_AT=<substring>:<n>:<SIGNAL>  the process sends itself SIGNAL (SIGKILL, SIGINT, ...) when
//                                    it opens, for the n-th time, a file whose path contains <substring>:
//                                    a kill -9 or a Ctrl-C at an exact point, e.g. in the middle of a checkpoint write.
const fs = require('fs');
const path = require('path');

function enospc() {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
}

/** Patch fs so that writes to fds chosen by `pick(path)` get at most `room(fd)` more bytes. */
function patch(pick) {
  const fdRoom = new Map();
  const realOpen = fs.openSync;
  const realWrite = fs.writeSync;
  const realClose = fs.closeSync;
  fs.openSync = function (p, ...rest) {
    const fd = realOpen.call(fs, p, ...rest);
    const room = typeof p === 'string' ? pick(path.resolve(p)) : undefined;
    if (room !== undefined) fdRoom.set(fd, room);
    return fd;
  };
  fs.closeSync = function (fd) {
    fdRoom.delete(fd);
    return realClose.call(fs, fd);
  };
  fs.writeSync = function (fd, buf, off, len, ...rest) {
    if (!fdRoom.has(fd) || typeof buf === 'string') return realWrite.call(fs, fd, buf, off, len, ...rest);
    const want = len ?? buf.length - (off ?? 0);
    const room = fdRoom.get(fd)();
    if (room <= 0) throw enospc();
    const n = realWrite.call(fs, fd, buf, off ?? 0, Math.min(want, room), ...rest);
    fdRoom.get(fd).used(n);
    return n;
  };
  return () => {
    fs.openSync = realOpen;
    fs.writeSync = realWrite;
    fs.closeSync = realClose;
  };
}

/** Everything under `dir` shares `limit` bytes. */
function install(dir, limit = 1024 * 1024) {
  const root = path.resolve(dir) + path.sep;
  let used = 0;
  const budget = Object.assign(() => limit - used, { used: (n) => (used += n) });
  return patch((p) => (p.startsWith(root) ? budget : undefined));
}

/** The n-th file opened whose path contains `needle` gets 100 bytes, then ENOSPC. */
function failNth(needle, n) {
  let seen = 0;
  return patch((p) => {
    if (!p.includes(needle) || ++seen !== n) return undefined;
    let used = 0;
    return Object.assign(() => 100 - used, { used: (k) => (used += k) });
  });
}

/** Send this process `signal` when it opens, for the n-th time, a path containing `needle`. */
function signalNth(needle, n, signal) {
  let seen = 0;
  return patch((p) => {
    if (p.includes(needle) && ++seen === n) process.kill(process.pid, signal);
    return undefined;
  });
}

module.exports = { install, failNth, signalNth };
if (process.env.MELSEG_FULL_DISK) install(process.env.MELSEG_FULL_DISK);
if (process.env.MELSEG_SIGNAL_AT) {
  const [signal, n, ...needle] = process.env.MELSEG_SIGNAL_AT.split(':').reverse();
  signalNth(needle.reverse().join(':'), Number(n), signal);
}
if (process.env.MELSEG_FAIL_WRITE) {
  const at = process.env.MELSEG_FAIL_WRITE.lastIndexOf(':');
  failNth(process.env.MELSEG_FAIL_WRITE.slice(0, at), Number(process.env.MELSEG_FAIL_WRITE.slice(at + 1)));
}
