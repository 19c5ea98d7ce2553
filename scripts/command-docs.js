#!/usr/bin/env node
// The command reference (docs/commands.md), generated from each command's metadata (summary,
// description, flags, examples) by oclif's own help renderer, so it never drifts from `melseg help`.
//   node scripts/command-docs.js           write docs/commands.md
//   node scripts/command-docs.js --check   exit 1 if docs/commands.md is not what the commands say
const fs = require('fs');
const path = require('path');
const { Config, Help } = require('@oclif/core');

async function render() {
  const root = path.join(__dirname, '..');
  const config = await Config.load({ root, devPlugins: false });
  process.env.OCLIF_COLUMNS = '110';
  const help = new Help(config, { stripAnsi: true, maxWidth: 110 });
  const commands = config.commands.filter((c) => !c.hidden && c.pluginName === config.name).sort((a, b) => a.id.localeCompare(b.id));
  const parts = [
    '# melseg command reference',
    '',
    'Generated from the commands themselves by `npm run docs:commands` (the same text as `melseg help COMMAND`).',
    '',
    ...commands.map((c) => `- [\`melseg ${c.id}\`](#melseg-${c.id.replace(/[^a-z0-9-]/g, '')}) ${c.summary ?? ''}`),
    '',
  ];
  for (const c of commands) {
    const body = help.formatCommand(c).replace(/[ \t]+$/gm, '').replace(/<%= config.bin %>/g, 'melseg');
    parts.push(`## melseg ${c.id}`, '', '```', body, '```', '');
  }
  return parts.join('\n');
}

render().then((text) => {
  const file = path.join(__dirname, '..', 'docs', 'commands.md');
  if (process.argv.includes('--check')) {
    const have = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (have !== text) {
      console.error(`${file} is out of date: run npm run docs:commands`);
      process.exit(1);
    }
    return;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  console.log(`wrote ${file}`);
});
