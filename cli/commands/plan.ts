import { InMemoryRecoveryPointCatalog } from '../../functions/shared/adapters/memory/recovery-point-catalog.ts';
import { parseArgs } from 'node:util';
import { proposeFailover, type Proposal } from '../../domain/failover/index.ts';
import { parseCatalog } from '../../domain/recovery-points/index.ts';
import { inFile, parseJsonText, readInput, UsageError, type Io } from '../io.ts';
import { loadAndAssess, toAssessJson } from './assess.ts';

export const PLAN_USAGE =
  'cleanpoint plan FINDING_FILE --inventory FILE --catalog POINTS_FILE [--policy FILE] [--before ISO] [--scope groups|machines] [--json]';

export async function planCommand(io: Io, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: {
      inventory: { type: 'string' }, catalog: { type: 'string' }, policy: { type: 'string' },
      before: { type: 'string' }, scope: { type: 'string' }, json: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) throw new UsageError(`expected one FINDING_FILE (or -)\nusage: ${PLAN_USAGE}`);
  if (!values.catalog) throw new UsageError('--catalog POINTS_FILE is required');
  if (values.scope !== undefined && values.scope !== 'groups' && values.scope !== 'machines') {
    throw new UsageError(`--scope must be groups or machines, not ${JSON.stringify(values.scope)}`);
  }
  if ([positionals[0], values.inventory, values.policy, values.catalog].filter((f) => f === '-').length > 1) {
    throw new UsageError('only one argument may read standard input (-)');
  }
  const ctx = await loadAndAssess(io, positionals[0]!, values.inventory, values.policy);
  const file = await readInput(io, values.catalog, 'the catalog');
  const points = await inFile(file.name, () => parseCatalog(parseJsonText(file.text, 'catalog'), 'catalog'));
  const catalog = new InMemoryRecoveryPointCatalog(points);
  const proposal = await inFile('--before', () => proposeFailover({ policy: ctx.policy, index: ctx.index, catalog })(ctx.assessment, {
    ...(values.before !== undefined ? { before: values.before } : {}),
    ...(values.scope !== undefined ? { scope: values.scope as 'groups' | 'machines' } : {}),
  }));
  io.stdout(values.json ? JSON.stringify(toPlanJson(proposal), null, 2) : renderPlan(proposal));
  return 0;
}

/** The documented `plan --json` shape (with a few extra fields deciders use). */
export function toPlanJson(p: Proposal) {
  return {
    assessment: toAssessJson(p.assessment),
    cutoff: p.cutoff,
    selection: {
      machines: p.selection.machines.map((m) => ({
        machineId: m.machineId, group: m.group, pointId: m.pointId, capturedAt: m.capturedAt,
        lossMinutes: m.lossMinutes, gapToNextMinutes: m.gapToNextMinutes,
        skipped: m.skipped, alternatives: m.alternatives,
      })),
      blockers: p.selection.blockers.map((b) => ({ machineId: b.machineId, group: b.group, reason: b.reason })),
      groups: p.selection.groups.map((g) => ({ group: g.group, cutoff: g.cutoff, consistencySkewMinutes: g.consistencySkewMinutes })),
    },
    plan: { mode: p.plan.mode, waves: p.plan.waves, estimatedRtoMinutes: p.plan.estimatedRtoMinutes, problems: p.plan.problems },
  };
}

export function renderPlan(p: Proposal): string {
  const out: string[] = [];
  const a = p.assessment;
  out.push(`Finding ${a.finding.id} (${a.finding.type}, ${a.finding.severityLabel}) → ${a.action}`);
  out.push(`Cutoff ${p.cutoff}: every machine restores from its latest clean point at or before it.`);
  out.push('');
  for (const g of p.selection.groups) {
    out.push(`Group ${g.group}  (consistency skew ${g.consistencySkewMinutes ?? 'n/a'} min)`);
    for (const m of p.selection.machines.filter((x) => x.group === g.group)) {
      const skipped = m.skippedCount ? `, skipped ${m.skippedCount} newer (${[...new Set(m.skipped.map((s) => s.reason))].join('/')})` : '';
      const gap = m.gapToNextMinutes === null ? 'no newer point' : `next newer point ${m.gapToNextMinutes} min later`;
      out.push(`  ${m.machineId.padEnd(24)} ${m.pointId}  ${m.capturedAt}  loses ${m.lossMinutes} min  (${gap}${skipped})`);
    }
    for (const b of p.selection.blockers.filter((x) => x.group === g.group)) out.push(`  ${b.machineId.padEnd(24)} BLOCKED: ${b.reason}`);
  }
  out.push('');
  out.push(`Plan (${p.plan.mode} mode), estimated RTO ${p.plan.estimatedRtoMinutes} min`);
  for (const w of p.plan.waves) out.push(`  wave ${w.wave}: ${w.machines.join(', ')}`);
  if (p.plan.problems.length) {
    out.push('Problems:');
    for (const pr of p.plan.problems) out.push(`  - ${pr}`);
  }
  return out.join('\n');
}
