import { parseArgs } from 'node:util';
import { parseInventoryText } from '../../domain/inventory/index.ts';
import { diffInventories, renderInventoryDiff } from '../../domain/protection/index.ts';
import { checkParameterSize, inFile, readInput, UsageError, type Io } from '../io.ts';

export const INVENTORY_USAGE = 'cleanpoint inventory diff OLD NEW [--json] [--fail-on-weaken]';

/**
 * `inventory diff OLD NEW`: what an inventory change adds, removes, changes and weakens, for
 * review like code. Offline. Exit 0; with --fail-on-weaken, 1 when anything weakens the plan
 * (for a CI check on the inventory's pull requests); 2 when a file is not a valid inventory.
 */
export async function inventoryCommand(io: Io, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: { json: { type: 'boolean', default: false }, 'fail-on-weaken': { type: 'boolean', default: false } },
  });
  const [sub, oldFile, newFile, ...rest] = positionals;
  if (sub !== 'diff' || !oldFile || !newFile || rest.length) throw new UsageError(`expected "inventory diff OLD NEW"\nusage: ${INVENTORY_USAGE}`);
  if (oldFile === '-' && newFile === '-') throw new UsageError('only one argument may read standard input (-)');
  const [a, b] = [await readInput(io, oldFile, 'the old inventory'), await readInput(io, newFile, 'the new inventory')];
  // Either must fit the SSM parameter it lives in (the new one is about to be put there).
  for (const file of [a, b]) checkParameterSize(io, 'inventory', file);
  const before = await inFile(a.name, () => parseInventoryText(a.text, 'inventory'));
  const after = await inFile(b.name, () => parseInventoryText(b.text, 'inventory'));
  const diff = diffInventories(before, after);
  io.stdout(values.json ? JSON.stringify(diff, null, 2) : renderInventoryDiff(diff));
  return values['fail-on-weaken'] && diff.weakened > 0 ? 1 : 0;
}
