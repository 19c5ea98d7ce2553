#!/usr/bin/env node
// melseg's command line (oclif). Commands are compiled from src/commands to dist/commands by `npm run build`.
const fs = require('fs');
const path = require('path');

if (!fs.existsSync(path.join(__dirname, '..', 'dist', 'commands'))) {
  console.error('melseg: dist/ is missing. Build it first with `npm run build` (the set-up command in the README does this).');
  process.exit(1);
}
// Messages in logs and pipes stay one line each (oclif wraps to 80 columns where stderr is not a terminal).
if (!process.stderr.isTTY && !process.env.OCLIF_COLUMNS) process.env.OCLIF_COLUMNS = '100000';
require('@oclif/core').execute({ dir: __dirname });
