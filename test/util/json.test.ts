import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { jsonDepth, JsonFileError, MAX_JSON_DEPTH, parseJson, readJsonFile } from '../../src/util/json';

const nested = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);

describe('jsonDepth', () => {
  it('counts object and array nesting, skipping brackets inside strings and escaped quotes', () => {
    expect(jsonDepth('1')).toBe(0);
    expect(jsonDepth('{"a":[1,{"b":[]}]}')).toBe(4);
    expect(jsonDepth('{"a":"[[[{{\\"[[["}')).toBe(1);
  });

  it('stops counting once past the limit', () => {
    expect(jsonDepth('['.repeat(1000) + ']'.repeat(1000), 10)).toBe(11);
  });
});

describe('parseJson', () => {
  it('parses ordinary JSON up to the depth limit', () => {
    expect(parseJson(nested(MAX_JSON_DEPTH), 'x.json')).toBeTruthy();
  });

  it('refuses a file nested 500k levels deep with its name, not a RangeError', () => {
    let err: unknown;
    try {
      parseJson('['.repeat(500_000) + ']'.repeat(500_000), 'split.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JsonFileError);
    expect((err as Error).message).toMatch(/^split\.json: JSON nested more than 64 levels deep/);
  });

  it('names the file of a syntax error and gives the fix', () => {
    expect(() => parseJson('{"a":', 'run.json', 'restore it')).toThrow(/^run\.json: not valid JSON \(.*\); restore it$/);
  });

  it('readJsonFile reads and checks a file', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'json-')), 'deep.json');
    fs.writeFileSync(file, nested(100));
    expect(() => readJsonFile(file)).toThrow(`${file}: JSON nested more than 64 levels deep`);
    fs.rmSync(path.dirname(file), { recursive: true });
  });
});
