import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseStartArgs } from '../../local/main.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'cleanpoint-start-'));
const file = (name: string, text: string) => { const f = path.join(dir, name); writeFileSync(f, text); return f; };

describe('npm start flags', () => {
  it('defaults to port 8787, .cleanpoint/, ×20 and the example inventory', () => {
    expect(parseStartArgs([])).toEqual({ port: 8787, dataDir: '.cleanpoint', speed: 20, inventoryFile: 'examples/inventory.yaml' });
  });

  it('accepts in-memory, a speed, a port and a valid faults file', () => {
    const faults = file('faults.json', '{"capacityErrors":{"instanceTypes":["r6i.xlarge"]}}');
    expect(parseStartArgs(['--in-memory', '--speed', '600', '--port', '0', '--faults', faults])).toMatchObject({
      dataDir: null, speed: 600, port: 0, faults: { capacityErrors: { instanceTypes: ['r6i.xlarge'] } },
    });
  });

  it('keeps per-function IAM on unless --iam off asks to debug without it', () => {
    expect(parseStartArgs(['--iam', 'on'])).not.toHaveProperty('iam');
    expect(parseStartArgs(['--iam', 'off'])).toMatchObject({ iam: 'off' });
  });

  it.each([
    [['--port', '80x'], /--port must be a whole number from 0 to 65535, not "80x"/],
    [['--port', '70000'], /--port must be a whole number/],
    [['--speed', '0'], /--speed must be a number from 0\.001/],
    [['--speed', 'fast'], /--speed must be a number .* not "fast"/],
    [['--in-memory', '--data-dir', 'x'], /--in-memory and --data-dir exclude each other/],
    [['--inventory', 'nowhere.yaml'], /--inventory nowhere\.yaml: cannot read it \(no such file\)/],
    [['--inventory', 'BAD_INVENTORY'], /--inventory .*bad-inventory\.yaml: .*groups/],
    [['--faults', 'BAD_FAULTS'], /--faults .*bad-faults\.json: Invalid EC2 simulator faults:[\s\S]*failureRate/],
    [['--faults', 'NOT_JSON'], /--faults .*not-json\.json: .*not valid JSON/],
    [['--colour'], /Unknown option '--colour'/],
    [['--iam', 'maybe'], /--iam must be on or off, not "maybe"/],
  ])('refuses %j with a message naming the flag', (argv, message) => {
    const replaced = argv.map((a) => a === 'BAD_INVENTORY' ? file('bad-inventory.yaml', 'version: 1\ngroups: []\n')
      : a === 'BAD_FAULTS' ? file('bad-faults.json', '{"failureRate": 3}')
      : a === 'NOT_JSON' ? file('not-json.json', '{') : a);
    expect(() => parseStartArgs(replaced)).toThrow(message);
  });
});
