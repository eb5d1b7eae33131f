import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { moduleSpecifiers, sourceFiles } from '../helpers/import-graph.ts';

/**
 * The domain is pure: no AWS SDK, no Lambda runtime, no middleware, no HTTP server. Adapters in
 * functions/ and local/ bring those in; the domain only sees ports.
 */
const FORBIDDEN: { name: string; test: (specifier: string) => boolean }[] = [
  { name: '@aws-sdk/*', test: (s) => s.startsWith('@aws-sdk/') },
  { name: 'aws-lambda', test: (s) => s === 'aws-lambda' || s.startsWith('aws-lambda/') },
  { name: '@middy/*', test: (s) => s.startsWith('@middy/') },
  { name: '@aws-lambda-powertools/*', test: (s) => s.startsWith('@aws-lambda-powertools/') },
  { name: 'node:http', test: (s) => s === 'node:http' || s === 'http' },
];

/** The forbidden modules a source file imports, e.g. ['@aws-sdk/*']. */
function forbiddenImports(source: string): string[] {
  return moduleSpecifiers(source).flatMap((s) => FORBIDDEN.filter((f) => f.test(s)).map((f) => `${f.name} (${s})`));
}


describe('the domain layer', () => {
  const domainDir = path.resolve(process.cwd(), 'domain');
  const files = sourceFiles(domainDir);

  it('has source files to check', () => {
    // Assess: guards against a scan that silently finds nothing
    expect(files.map((f) => path.relative(domainDir, f))).toEqual(expect.arrayContaining(['findings/finding.ts', 'findings/assess.ts', 'failover/plan.ts', 'recovery-points/catalogue.ts']));
  });

  it('imports no AWS SDK, Lambda runtime, middleware or HTTP module', () => {
    // Act
    const offenders = files.flatMap((file) =>
      forbiddenImports(readFileSync(file, 'utf8')).map((what) => `${path.relative(process.cwd(), file)}: ${what}`));
    // Assess
    expect(offenders).toEqual([]);
  });

  it('sees the imports the domain really has (the scanner reads these files)', () => {
    // Prepare
    const finding = readFileSync(path.join(domainDir, 'findings', 'finding.ts'), 'utf8');
    // Act
    const specifiers = moduleSpecifiers(finding);
    // Assess
    expect(specifiers).toEqual(expect.arrayContaining(['zod', '../shared/index.ts']));
  });
});

describe('forbiddenImports', () => {
  it.each([
    [`import { EC2Client } from '@aws-sdk/client-ec2';`, '@aws-sdk/*'],
    [`import type { Context } from "aws-lambda";`, 'aws-lambda'],
    [`import middy from '@middy/core';`, '@middy/*'],
    [`import { Logger } from '@aws-lambda-powertools/logger';`, '@aws-lambda-powertools/*'],
    [`import { createServer } from 'node:http';`, 'node:http'],
    [`import * as http from 'http';`, 'node:http'],
    [`export { DynamoDBClient } from '@aws-sdk/client-dynamodb';`, '@aws-sdk/*'],
    [`export * from '@aws-sdk/client-sfn';`, '@aws-sdk/*'],
    [`const { SSM } = await import('@aws-sdk/client-ssm');`, '@aws-sdk/*'],
    [`const http = require('node:http');`, 'node:http'],
    [`import '@middy/ssm';`, '@middy/*'],
    [`import {\n  Metrics,\n  MetricUnit,\n} from '@aws-lambda-powertools/metrics';`, '@aws-lambda-powertools/*'],
  ])('catches a planted import: %s', (source, name) => {
    // Act
    const found = forbiddenImports(source);
    // Assess
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(name);
  });

  it.each([
    `import { z } from 'zod';`,
    `import { parse as parseYaml } from 'yaml';`,
    `import { ValidationError, type Issue } from './errors.ts';`,
    `import { createHash } from 'node:crypto';`,
    `import { connect } from 'node:http2';`,
    `import helper from 'aws-lambda-helpers';`,
    `// Powertools' parser (@aws-lambda-powertools/parser) has no GuardDuty schema, so this is ours.`,
    `const note = 'see @aws-sdk/client-ec2 in functions/';`,
  ])('lets a harmless line through: %s', (source) => {
    // Act / Assess
    expect(forbiddenImports(source)).toEqual([]);
  });
});
