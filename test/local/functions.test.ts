/**
 * The local runtime's view of the functions: every one serverless.yml deploys has its handler
 * module in local/functions.ts (imported statically, with no environment), each module has the
 * composition root's shape, and each function's environment and retry settings come from
 * serverless.yml.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HANDLER_MODULES } from '../../local/functions.ts';
import { functionEnvironment, loadServerlessDefinition } from '../../local/serverless-config.ts';

const def = loadServerlessDefinition();
const fileOf = (handler: string) => handler.slice(0, handler.lastIndexOf('.'));

describe('local/functions.ts', () => {
  it('has the handler module of every function in serverless.yml', () => {
    // Act
    const missing = [...def.functions.values()].map((f) => fileOf(f.handler)).filter((file) => !HANDLER_MODULES[file]);

    // Assess
    expect(missing).toEqual([]);
  });

  it('imports every handler module with none of their variables set, and each exports makeHandler, compose and the wrapped handler', () => {
    // Assess: this file's imports ran with the test environment only (no STATE_TABLE, no INVENTORY_SOURCE)
    expect(process.env['STATE_TABLE']).toBeUndefined();
    for (const [file, mod] of Object.entries(HANDLER_MODULES)) {
      expect([typeof mod.makeHandler, typeof mod.compose, typeof mod.handler], file).toEqual(['function', 'function', 'function']);
    }
  });

  it('fails a composition, not the import, with a ConfigError naming the missing variable', () => {
    // Act
    const compose = () => HANDLER_MODULES['functions/launch-machine/handler']!.compose({ STATE_TABLE: 'cleanpoint-local-state', CATALOG_TABLE: 'cleanpoint-local-catalog' });

    // Assess
    expect(compose).toThrow(expect.objectContaining({ name: 'ConfigError', message: expect.stringContaining('KMS_KEY_ID: is not set') }));
  });
});

describe('serverless.yml for the local runtime', () => {
  const target = { stage: 'local', region: 'us-east-1', account: '000000000000', stateMachineArn: (key: string) => `arn:aws:states:us-east-1:000000000000:stateMachine:local-${key}` };

  it('gives each function only its own environment: provider.environment plus the function\'s, Refs resolved locally', () => {
    // Act
    const assess = functionEnvironment(def, 'assess-finding', target);
    const retire = functionEnvironment(def, 'retire-run-machines', target);

    // Assess
    expect(assess).toMatchObject({ STATE_TABLE: 'cleanpoint-local-state', CATALOG_TABLE: 'cleanpoint-local-catalog', EVENT_BUS_NAME: 'cleanpoint-local' });
    expect(assess['INCIDENT_STATE_MACHINE_ARN']).toMatch(/^arn:aws:states:us-east-1:000000000000:stateMachine:local-/);
    expect(retire).not.toHaveProperty('INCIDENT_STATE_MACHINE_ARN');
    expect(retire).not.toHaveProperty('EVENT_BUS_NAME');
    expect(retire['KMS_KEY_ID']).toMatch(/^arn:aws:kms:us-east-1:000000000000:key\//);
  });

  // What Lambda and the local runtime add to every function's own variables (local/runtime.ts environmentOf).
  const deployed = (name: string) => ({ ...functionEnvironment(def, name, target), INVENTORY_SOURCE: 'file:inventory.yaml', AWS_REGION: 'us-east-1' });

  it('composes every function from the environment serverless.yml gives it (each declares every variable its code reads)', () => {
    // Act
    const failures = [...def.functions.entries()].flatMap(([name, spec]) => {
      try { HANDLER_MODULES[fileOf(spec.handler)]!.compose(deployed(name)); return []; } catch (e) { return [`${name}: ${(e as Error).message}`]; }
    });

    // Assess
    expect(failures).toEqual([]);
  });

  it('fails a handler that reads a variable its function does not declare, as it would fail on AWS', () => {
    // Act: assess-finding's code composed with the variables retire-run-machines is deployed with
    const compose = () => HANDLER_MODULES['functions/assess-finding/handler']!.compose(deployed('retire-run-machines'));

    // Assess
    expect(compose).toThrow(expect.objectContaining({ name: 'ConfigError', message: expect.stringMatching(/(EVENT_BUS_NAME|INCIDENT_STATE_MACHINE_ARN): is not set/) }));
  });

  it('takes the retries of asynchronous invocations from each function\'s maximumRetryAttempts', () => {
    // Prepare
    const raw = def.raw['functions'] as Record<string, { maximumRetryAttempts?: number }>;

    // Act
    const attempts = Object.fromEntries([...def.functions.values()].map((f) => [f.name, f.asyncInvocation.maximumRetryAttempts]));

    // Assess: what serverless.yml says (the asyncFailure anchor), Lambda's default of 2 where it says nothing
    expect(attempts['assess-finding']).toBe(raw['assess-finding']!.maximumRetryAttempts);
    for (const [name, spec] of Object.entries(raw)) expect(attempts[name], name).toBe(spec.maximumRetryAttempts ?? 2);
  });

  it('refuses a maximumRetryAttempts Lambda would refuse', () => {
    // Prepare
    const yaml = `service: x\nprovider: { name: aws }\nfunctions:\n  f: { handler: functions/f/handler.handler, maximumRetryAttempts: 5 }\n`;

    // Act
    const load = () => loadFromText(yaml);

    // Assess
    expect(load).toThrow(/function f: maximumRetryAttempts must be 0, 1 or 2/);
  });
});

function loadFromText(yaml: string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'cleanpoint-sls-'));
  writeFileSync(path.join(dir, 'serverless.yml'), yaml);
  try {
    return loadServerlessDefinition(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
