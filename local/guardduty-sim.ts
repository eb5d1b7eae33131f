import { randomUUID } from 'node:crypto';
import type { Clock } from '../domain/shared/index.ts';
import type { Ec2Simulator } from './ec2-sim/index.ts';
import { awsError } from './sdk-emulator.ts';

/**
 * The demo estate marks snapshots whose contents hide a threat the catalogue does not know of
 * with this EC2 tag (value `name|path`): the EC2 simulator persists it with the data folder.
 */
export const HIDDEN_THREAT_TAG = 'cleanpoint:demo-hidden-threat';

/** Hidden threats read from the EC2 simulator's snapshot tags. */
export function hiddenThreatsFrom(sim: Pick<Ec2Simulator, 'resources'>): (snapshotId: string) => { name: string; path?: string }[] | undefined {
  return (snapshotId) => {
    const tagged = sim.resources({ tag: { key: HIDDEN_THREAT_TAG } }).find((r) => r.type === 'snapshot' && r.id === snapshotId);
    if (!tagged) return undefined;
    const [name, path] = String(tagged.tags[HIDDEN_THREAT_TAG] ?? 'Unknown threat').split('|');
    return [{ name: name!, ...(path ? { path } : {}) }];
  };
}

/**
 * GuardDuty Malware Protection, simulated at the SDK boundary (StartMalwareScan and
 * GetMalwareScan on EBS snapshots): the real adapter code runs against it. A scan takes
 * `durationMs` of the runtime's virtual time; its verdict comes from what the demo estate (or a
 * test) set per snapshot: hidden threats, a forced status (SKIPPED …), or a slower scan.
 * As on AWS, a scan needs the scanner role in ScanConfiguration.Role and the same ClientToken
 * returns the same scan.
 */
export interface GuardDutySimState {
  infected: Record<string, { name: string; path?: string }[]>;
  outcomes: Record<string, { status: 'SKIPPED' | 'FAILED' | 'COMPLETED_WITH_ISSUES'; reason?: string }>;
  durations: Record<string, number>;
  scans: Record<string, { snapshotId: string; resourceArn: string; startedAt: number; clientToken?: string }>;
}

/** Default: a scan takes 20 virtual seconds, so local runs are not slowed (docs/scanning.md). */
export const DEFAULT_LOCAL_SCAN_MS = 20_000;

export class GuardDutySimulator {
  readonly state: GuardDutySimState;

  private readonly hidden: (snapshotId: string) => { name: string; path?: string }[] | undefined;

  /** Does EC2 (the simulator) still have this snapshot? A scan of one it does not have is SKIPPED, as on AWS. */
  private readonly exists: (snapshotId: string) => boolean;

  constructor(private readonly clock: Clock, options: {
    durationMs?: number; state?: GuardDutySimState; hiddenThreats?: (snapshotId: string) => { name: string; path?: string }[] | undefined;
    snapshotExists?: (snapshotId: string) => boolean;
  } = {}) {
    this.exists = options.snapshotExists ?? (() => true);
    this.durationMs = options.durationMs ?? DEFAULT_LOCAL_SCAN_MS;
    this.hidden = options.hiddenThreats ?? (() => undefined);
    this.state = options.state ?? { infected: {}, outcomes: {}, durations: {}, scans: {} };
  }

  durationMs: number;

  /** Snapshots whose scan finds these threats (the catalogue may believe them clean). */
  hideThreats(snapshotId: string, threats: { name: string; path?: string }[]): void {
    this.state.infected[snapshotId] = threats;
  }

  setOutcome(snapshotId: string, outcome: GuardDutySimState['outcomes'][string]): void {
    this.state.outcomes[snapshotId] = outcome;
  }

  setDuration(snapshotId: string, ms: number): void {
    this.state.durations[snapshotId] = ms;
  }

  handle(command: string, input: Record<string, unknown>): Record<string, unknown> {
    switch (command) {
      case 'StartMalwareScanCommand': {
        const arn = String(input['ResourceArn'] ?? '');
        const m = /^arn:aws[a-z-]*:ec2:[a-z0-9-]+:\d{12}:snapshot\/(snap-[0-9a-f]+)$/.exec(arn);
        if (!m) throw awsError('BadRequestException', `The request is rejected because the resource ARN ${arn} is not a supported EBS snapshot`);
        const role = (input['ScanConfiguration'] as { Role?: string } | undefined)?.Role;
        if (!role || !/^arn:aws[a-z-]*:iam::\d{12}:role\/.+/.test(role)) throw awsError('BadRequestException', 'ScanConfiguration.Role is required to scan an EBS snapshot');
        const token = typeof input['ClientToken'] === 'string' ? input['ClientToken'] : undefined;
        const existing = token ? Object.entries(this.state.scans).find(([, s]) => s.clientToken === token) : undefined;
        if (existing) return { ScanId: existing[0] };
        const scanId = randomUUID().replace(/-/g, '');
        this.state.scans[scanId] = { snapshotId: m[1]!, resourceArn: arn, startedAt: this.clock.now(), ...(token ? { clientToken: token } : {}) };
        return { ScanId: scanId };
      }
      case 'GetMalwareScanCommand': {
        const scanId = String(input['ScanId'] ?? '');
        const scan = this.state.scans[scanId];
        if (!scan) throw awsError('BadRequestException', `The request is rejected because the scan ${scanId} does not exist`);
        const base = { ScanId: scanId, ResourceArn: scan.resourceArn, ResourceType: 'EBS_SNAPSHOT', ScanType: 'ON_DEMAND', ScanStartedAt: new Date(scan.startedAt) };
        const ends = scan.startedAt + (this.state.durations[scan.snapshotId] ?? this.durationMs);
        if (this.clock.now() < ends) return { ...base, ScanStatus: 'RUNNING' };
        const done = { ...base, ScanCompletedAt: new Date(ends) };
        // GuardDuty cannot read a snapshot deleted before (or while) it scanned: SKIPPED, RESOURCE_NOT_FOUND.
        if (!this.exists(scan.snapshotId)) return { ...done, ScanStatus: 'SKIPPED', ScanStatusReason: 'RESOURCE_NOT_FOUND' };
        const threats = this.state.infected[scan.snapshotId] ?? this.hidden(scan.snapshotId);
        if (threats?.length) {
          return {
            ...done, ScanStatus: 'COMPLETED',
            ScanResultDetails: { ScanResultStatus: 'THREATS_FOUND', ThreatFoundFileCount: threats.length, Threats: threats.map((t) => ({ Name: t.name, Source: 'AMAZON', ItemDetails: t.path ? [{ ItemPath: t.path, ResourceArn: scan.resourceArn }] : [] })) },
          };
        }
        const outcome = this.state.outcomes[scan.snapshotId];
        if (outcome) {
          return { ...done, ScanStatus: outcome.status, ...(outcome.reason ? { ScanStatusReason: outcome.reason } : {}), ...(outcome.status === 'COMPLETED_WITH_ISSUES' ? { ScanResultDetails: { ScanResultStatus: 'NO_THREATS_FOUND' } } : {}) };
        }
        return { ...done, ScanStatus: 'COMPLETED', ScanResultDetails: { ScanResultStatus: 'NO_THREATS_FOUND', ThreatFoundFileCount: 0 } };
      }
      default: throw awsError('UnsupportedOperation', `${command} is not emulated locally`);
    }
  }
}
