import { z } from 'zod';

/**
 * What a recovery point must know about the machine it was taken of to boot again on EC2, read
 * from EC2 when the point is recorded (DescribeInstances of the source instance, DescribeImages
 * of its AMI): a snapshot alone says nothing of the CPU architecture, the firmware, the
 * operating system's licence or which disk is the root. Without these, an arm64 machine is
 * registered as x86_64 (RunInstances refuses it), a UEFI-only machine is given legacy BIOS (it
 * does not boot), and a data disk can come back as root.
 */

export const ARCHITECTURES = ['x86_64', 'arm64', 'i386'] as const;
export const BOOT_MODES = ['legacy-bios', 'uefi', 'uefi-preferred'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];
export type BootMode = (typeof BOOT_MODES)[number];

const deviceName = z.string().regex(/^\/dev\/[a-z0-9]+$/, 'must be a device name like /dev/xvda');
const volumeId = z.string().regex(/^vol-[0-9a-f]{8,17}$/, 'must be an EBS volume id');

export const machineFactsSchema = z.strictObject({
  /** The source instance the facts were read from, and when. */
  instanceId: z.string().regex(/^i-[0-9a-f]{8,17}$/),
  readAt: z.string(),
  architecture: z.enum(ARCHITECTURES),
  /** The AMI's boot mode, else the instance's current one (absent: the instance type's default). */
  bootMode: z.enum(BOOT_MODES).optional(),
  /** `v2.0` when the AMI enables NitroTPM. */
  tpmSupport: z.literal('v2.0').optional(),
  /** `v2.0` when the AMI requires IMDSv2. */
  imdsSupport: z.literal('v2.0').optional(),
  enaSupport: z.boolean(),
  sriovNetSupport: z.literal('simple').optional(),
  /** `windows` when EC2 says so (Instance.Platform); Linux/UNIX otherwise. */
  platform: z.enum(['linux', 'windows']),
  /** EC2's PlatformDetails, e.g. `Linux/UNIX`, `Windows`, `Red Hat Enterprise Linux`. */
  platformDetails: z.string().max(200).optional(),
  /** EC2's UsageOperation (billing code): `RunInstances` is Linux/UNIX without a licence; anything else carries one. */
  usageOperation: z.string().max(64).optional(),
  /** The AMI the source machine was launched from (the base of a licence-preserving restore). */
  imageId: z.string().regex(/^ami-[0-9a-f]{8,17}$/).optional(),
  rootDeviceName: deviceName,
  /** The source's primary private IPv4 address (kept in recovery mode when the inventory asks). */
  privateIpAddress: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}$/).optional(),
  /** The instance's EBS volumes by device name, root included. */
  blockDevices: z.array(z.strictObject({ deviceName, volumeId })).min(1).max(40),
});
export type MachineFacts = z.infer<typeof machineFactsSchema>;

/** The usage operation of Linux/UNIX with no licence attached (EC2 billing information). */
export const LINUX_USAGE_OPERATION = 'RunInstances';

/**
 * How a point can be brought back on EC2:
 * - `register-image`: RegisterImage over the point's snapshots with the captured architecture,
 *   boot mode, TPM and ENA, then RunInstances (Linux/UNIX without a billing product code).
 * - `root-swap`: AWS documents that an AMI registered from a Windows snapshot does not launch,
 *   and that one registered from a RHEL/SLES (or any billing-coded) snapshot loses its billing
 *   code. So: RunInstances from an AMI of the same platform (the machine's own, or a configured
 *   base image), stop it, replace its root volume by one created from the point's root snapshot
 *   at the original root device name, attach the data volumes, start (docs/deploy.md).
 */
export type RestorePath = 'register-image' | 'root-swap';

export function needsLicensedBase(facts: Pick<MachineFacts, 'platform' | 'usageOperation'>): boolean {
  return facts.platform === 'windows' || (facts.usageOperation !== undefined && facts.usageOperation !== LINUX_USAGE_OPERATION);
}

export function restorePathOf(facts: MachineFacts | undefined): RestorePath {
  return facts && needsLicensedBase(facts) ? 'root-swap' : 'register-image';
}

/** A short human name of the platform, for blockers and the approval page. */
export function platformLabel(facts: Pick<MachineFacts, 'platform' | 'platformDetails' | 'usageOperation' | 'architecture'>): string {
  const os = facts.platformDetails ?? (facts.platform === 'windows' ? 'Windows' : 'Linux/UNIX');
  return `${os} ${facts.architecture}${facts.usageOperation && facts.usageOperation !== LINUX_USAGE_OPERATION ? ` (billing code ${facts.usageOperation})` : ''}`;
}

/**
 * The architecture of an EC2 instance type from its name, as EC2's naming convention encodes
 * it: a `g` among the attribute letters after the generation digit is AWS Graviton (m6g, c7gn,
 * t4g, x2gd, is4gen), as is the a1 family; `mac` types are Apple hardware; everything else is x86_64.
 * The GPU family g (g5, g6e) is x86_64: its `g` is the family, not an attribute.
 */
export function instanceTypeArchitecture(instanceType: string): Architecture | 'mac' {
  const family = instanceType.split('.')[0] ?? '';
  if (family.startsWith('mac')) return 'mac';
  if (family === 'a1') return 'arm64';
  const m = /^[a-z]+?(\d+)([a-z-]*)$/.exec(family);
  if (m && /g/.test(m[2]!.replace(/-flex$/, ''))) return 'arm64';
  return 'x86_64';
}

/**
 * Why an instance type cannot boot a machine with these facts, or null. Graviton types boot
 * UEFI only (AWS: "The default boot mode is uefi on Graviton instance types"): an arm64 machine
 * whose image says legacy-bios does not boot on any of them.
 */
export function instanceTypeMismatch(instanceType: string, facts: Pick<MachineFacts, 'architecture' | 'bootMode'>): string | null {
  const arch = instanceTypeArchitecture(instanceType);
  if (arch === 'mac') return `${instanceType} is a Mac instance type; Cleanpoint restores no macOS machines`;
  if (arch !== facts.architecture) return `${instanceType} is an ${arch} instance type but the machine is ${facts.architecture}`;
  if (arch === 'arm64' && facts.bootMode === 'legacy-bios') return `${instanceType} boots UEFI only but the machine's image is legacy-bios`;
  return null;
}
