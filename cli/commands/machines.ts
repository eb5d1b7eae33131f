import { parseArgs } from 'node:util';
import type { MachineView } from '../../local/read-model.ts';
import { UsageError, type Io } from '../io.ts';
import { columns, LocalApi, shortTime, URL_OPTION } from '../local-api.ts';

export const MACHINES_USAGE = 'cleanpoint machines list [--url URL] [--json]';

/** `machines list`: every machine's newest recovery point and DR lifecycle status. */
export async function machinesCommand(io: Io, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: { ...URL_OPTION, json: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1 || positionals[0] !== 'list') throw new UsageError(`expected "machines list"\nusage: ${MACHINES_USAGE}`);
  const { machines } = await new LocalApi(values.url).get<{ machines: MachineView[] }>('/local/machines', 'machines');
  io.stdout(values.json ? JSON.stringify(machines, null, 2) : render(machines));
  return 0;
}

function render(machines: MachineView[]): string {
  return columns([
    ['MACHINE', 'GROUP', 'WAVE', 'LATEST POINT', 'POINT STATE', 'LIFECYCLE', 'RECOVERY INSTANCE', 'DRILL'],
    ...machines.map((m) => [
      m.machineId, m.group, String(m.wave), shortTime(m.latestPoint?.capturedAt), m.latestPoint ? `${m.latestPoint.status}/${m.latestPoint.scan}` : '-',
      `${m.lifecycle}${m.testMode ? ' [TEST]' : ''}${m.pendingIncidentId ? ' (approval pending)' : ''}`,
      m.recovery?.instanceId ? `${m.recovery.instanceId} ${m.recovery.state ?? ''} from ${m.recovery.pointId}` : '-', m.drill,
    ]),
  ]);
}
