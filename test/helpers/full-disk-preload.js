// Injected full disk: writes to files under a folder fail with ENOSPC once 1 MiB has gone into that
// folder, after a last short write, as a real full disk behaves. `node -r` this file with
// MELSEG_FULL_DISK=<dir>, or call install(dir) (returns the function that undoes it).
const fs = require('fs');
const path = require('path');

function install(dir, limit = 1024 * 1024) {
  const root = path.resolve(dir) + path.sep;
  const fdPaths = new Map();
  let used = 0;
  const realOpen = fs.openSync;
  const realWrite = fs.writeSync;
  const realClose = fs.closeSync;
  fs.openSync = function (p, ...rest) {
    const fd = realOpen.call(fs, p, ...rest);
    if (typeof p === 'string' && path.resolve(p).startsWith(root)) fdPaths.set(fd, p);
    return fd;
  };
  fs.closeSync = function (fd) {
    fdPaths.delete(fd);
    return realClose.call(fs, fd);
  };
  fs.writeSync = function (fd, buf, off, len, ...rest) {
    if (!fdPaths.has(fd) || typeof buf === 'string') return realWrite.call(fs, fd, buf, off, len, ...rest);
    const want = len ?? buf.length - (off ?? 0);
    const room = limit - used;
    if (room <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    const n = realWrite.call(fs, fd, buf, off ?? 0, Math.min(want, room), ...rest);
    used += n;
    return n;
  };
  return () => {
    fs.openSync = realOpen;
    fs.writeSync = realWrite;
    fs.closeSync = realClose;
  };
}

module.exports = { install };
if (process.env.MELSEG_FULL_DISK) install(process.env.MELSEG_FULL_DISK);
