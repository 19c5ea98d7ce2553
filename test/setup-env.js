// Tests never touch the user's cache folder: graphs and decoded datasets go to a temp folder per
// test file (src/util/paths.ts reads MELSEG_CACHE_DIR); child processes (CLI tests) inherit it.
const fs = require('fs');
const os = require('os');
const path = require('path');
process.env.MELSEG_CACHE_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'melseg-cache-'));
