import { parseArgs } from 'node:util';
import { assessFinding, DEFAULT_POLICY, parseFinding, parsePolicyText, type Assessment, type Policy } from '../../domain/findings/index.ts';
import { indexInventory, parseInventoryText, type InventoryIndex } from '../../domain/inventory/index.ts';
import { checkParameterSize, inFile, parseJsonText, readInput, UsageError, type Io } from '../io.ts';

export const ASSESS_USAGE = 'cleanpoint assess FINDING_FILE --inventory FILE [--policy FILE] [--json]';

export interface AssessContext {
  assessment: Assessment;
  index: InventoryIndex;
  policy: Policy;
}

/** Shared by `assess` and `plan`: read the finding, inventory and policy, and assess. */
export async function loadAndAssess(io: Io, findingFile: string, inventoryFile: string | undefined, policyFile: string | undefined): Promise<AssessContext> {
  if (!inventoryFile) throw new UsageError('--inventory FILE is required');
  if ([findingFile, inventoryFile, policyFile].filter((f) => f === '-').length > 1) {
    throw new UsageError('only one argument may read standard input (-)');
  }
  const finding = await readInput(io, findingFile, 'the finding');
  const inventory = await readInput(io, inventoryFile, 'the inventory');
  checkParameterSize(io, 'inventory', inventory);
  const index = indexInventory(await inFile(inventory.name, () => parseInventoryText(inventory.text, 'inventory')));
  let policy = DEFAULT_POLICY;
  if (policyFile) {
    const p = await readInput(io, policyFile, 'the policy');
    checkParameterSize(io, 'policy', p);
    policy = await inFile(p.name, () => parsePolicyText(p.text, 'policy'));
  }
  const parsed = await inFile(finding.name, () => parseFinding(parseJsonText(finding.text, 'finding')));
  return { assessment: assessFinding(policy, index)(parsed), index, policy };
}

export async function assessCommand(io: Io, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: { inventory: { type: 'string' }, policy: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1) throw new UsageError(`expected one FINDING_FILE (or -)\nusage: ${ASSESS_USAGE}`);
  const { assessment } = await loadAndAssess(io, positionals[0]!, values.inventory, values.policy);
  io.stdout(values.json ? JSON.stringify(toAssessJson(assessment), null, 2) : renderAssessment(assessment));
  return 0;
}

/** The documented `assess --json` shape. */
export function toAssessJson(a: Assessment) {
  return {
    finding: a.finding, action: a.action, mode: a.mode, machines: a.machines, groups: a.groups,
    suspectedSince: a.suspectedSince, reasons: a.reasons,
  };
}

export function renderAssessment(a: Assessment): string {
  const f = a.finding;
  const lines = [
    `Finding   ${f.id}`,
    `          ${f.type} — severity ${f.severity} (${f.severityLabel})${f.sample ? ', SAMPLE' : ''}`,
    `          ${f.resourceType} ${f.instanceIds.join(', ') || ''} in ${f.accountId}/${f.region}, first seen ${f.firstSeen}`,
    `Action    ${a.action}${a.mode ? ` (${a.mode} mode)` : ''}`,
    `Machines  ${a.machines.join(', ') || 'none'}`,
    `Groups    ${a.groups.join(', ') || 'none'}`,
    `Suspected corruption since  ${a.suspectedSince ?? 'n/a'}`,
    'Why:',
    ...a.reasons.map((r) => `  - ${r}`),
  ];
  return lines.join('\n');
}
