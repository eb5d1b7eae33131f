import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parseInventoryText } from '../../domain/inventory/index.ts';
import { DEFAULT_POLICY, parsePolicyText } from '../../domain/findings/index.ts';
import { renderRunbook } from '../../domain/evidence/index.ts';
import { inFile, readInput, UsageError, type Io } from '../io.ts';

export const RUNBOOK_USAGE = 'cleanpoint runbook [--inventory FILE] [--policy FILE] [--out FILE]';

/** Writes the disaster-recovery section of the incident response plan (Markdown). Offline. */
export async function runbookCommand(io: Io, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: { inventory: { type: 'string', default: 'examples/inventory.yaml' }, policy: { type: 'string' }, out: { type: 'string' } },
  });
  if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}\nusage: ${RUNBOOK_USAGE}`);
  const inv = await readInput(io, values.inventory, 'the inventory');
  const inventory = await inFile(inv.name, () => parseInventoryText(inv.text, 'inventory'));
  let policy = DEFAULT_POLICY;
  if (values.policy) {
    const p = await readInput(io, values.policy, 'the policy');
    policy = await inFile(p.name, () => parsePolicyText(p.text, 'policy'));
  }
  const markdown = renderRunbook({ inventory, policy, generatedAt: new Date().toISOString().slice(0, 10) });
  if (values.out) {
    await writeFile(values.out, markdown);
    io.stderr(`wrote ${values.out}`);
  } else io.stdout(markdown);
  return 0;
}
