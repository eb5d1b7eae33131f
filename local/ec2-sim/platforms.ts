import { instanceTypeArchitecture } from '../../domain/recovery-points/model.ts';
import { ec2Error } from './errors.ts';
import type { ImageRecord, InstanceRecord, PlatformLineage } from './state.ts';

/**
 * How an image and an instance type get on, as AWS documents it:
 *
 * - Architecture: RunInstances refuses an instance type whose architecture is not the AMI's with
 *   InvalidParameterValue ("The architecture 'arm64' of the specified instance type does not match
 *   the architecture 'x86_64' of the specified AMI...").
 * - Boot mode: Graviton types boot UEFI only, Intel/AMD types default to legacy BIOS. An AMI whose
 *   boot mode parameter is `legacy-bios` asks EC2 to boot legacy BIOS; on a Graviton type that
 *   firmware does not exist and the operating system does not come up. AWS documents the launch as
 *   "unsuccessful" without naming an API error, so the simulator lets RunInstances succeed and the
 *   instance fail its instance status check (what an operator sees: running, impaired, unreachable).
 *   `uefi` and `uefi-preferred` boot on Graviton; on x86 `uefi-preferred` falls back to legacy BIOS.
 * - Windows: an AMI registered (RegisterImage) from a snapshot of a Windows root volume does not
 *   launch successfully (RegisterImage documentation). Modelled the same way: the instance runs and
 *   its instance status check is impaired. Billing codes (RHEL, SLES, Marketplace) are not carried
 *   by RegisterImage: the image is plain Linux/UNIX (`RunInstances`); its instances boot.
 */
export interface LaunchPlatform {
  architecture: string;
  platform?: 'windows';
  usageOperation?: string;
  bootMode?: string;
  bootFailure?: string;
  /** What the root volume created from the image carries (a Windows disk stays one). */
  rootLineage?: PlatformLineage;
}

export function launchPlatform(image: ImageRecord, instanceType: string): LaunchPlatform {
  const typeArch = instanceTypeArchitecture(instanceType);
  const imageArch = image.architecture.replace(/_mac$/, '');
  const typeArchName = typeArch === 'mac' ? 'x86_64_mac' : typeArch;
  if (typeArch !== 'mac' && typeArch !== imageArch && !(imageArch === 'i386' && typeArch === 'x86_64')) {
    throw ec2Error(
      'InvalidParameterValue',
      `The architecture '${typeArchName}' of the specified instance type does not match the architecture '${image.architecture}' of the specified AMI. ` +
        'Specify an instance type and an AMI that have matching architectures, and try again.',
    );
  }
  const uefiOnly = typeArch === 'arm64';
  const bootMode = image.bootMode === 'uefi-preferred' ? (uefiOnly ? 'uefi' : 'legacy-bios') : (image.bootMode ?? (uefiOnly ? 'uefi' : 'legacy-bios'));
  let bootFailure: string | undefined;
  if (uefiOnly && image.bootMode === 'legacy-bios') bootFailure = `${instanceType} boots UEFI only; the image's boot mode is legacy-bios`;
  if (image.rootLineage?.platform === 'windows' && image.platform !== 'windows') {
    bootFailure = 'the image was registered from a Windows snapshot, which does not launch successfully';
  }
  const own: PlatformLineage = {
    ...(image.platform ? { platform: image.platform } : {}),
    ...(image.usageOperation && image.usageOperation !== 'RunInstances' ? { usageOperation: image.usageOperation } : {}),
  };
  const rootLineage = own.platform || own.usageOperation ? own : image.rootLineage;
  return {
    architecture: image.architecture,
    ...(image.platform ? { platform: image.platform } : {}),
    ...(image.usageOperation ? { usageOperation: image.usageOperation } : {}),
    bootMode,
    ...(bootFailure ? { bootFailure } : {}),
    ...(rootLineage ? { rootLineage } : {}),
  };
}

/** The platform fields of a Describe*Instances answer (absent on old saved states: x86_64 Linux/UNIX). */
export function instancePlatformView(inst: InstanceRecord): { Architecture: 'x86_64' | 'arm64' | 'i386'; Platform?: 'Windows'; PlatformDetails: string; UsageOperation: string; BootMode?: 'legacy-bios' | 'uefi'; CurrentInstanceBootMode?: 'legacy-bios' | 'uefi' } {
  const usage = inst.usageOperation ?? (inst.platform === 'windows' ? 'RunInstances:0002' : 'RunInstances');
  return {
    Architecture: (inst.architecture ?? 'x86_64') as 'x86_64',
    ...(inst.platform ? { Platform: inst.platform as unknown as 'Windows' } : {}),
    PlatformDetails: platformDetailsOf(inst.platform, usage),
    UsageOperation: usage,
    ...(inst.bootMode ? { CurrentInstanceBootMode: inst.bootMode as 'uefi' } : {}),
  };
}

/** EC2's PlatformDetails for the usage operations the simulator knows (AMI billing information). */
export function platformDetailsOf(platform: 'windows' | undefined, usageOperation: string | undefined): string {
  const known: Record<string, string> = {
    RunInstances: 'Linux/UNIX',
    'RunInstances:0002': 'Windows',
    'RunInstances:0010': 'Red Hat Enterprise Linux',
    'RunInstances:000g': 'SUSE Linux',
    'RunInstances:0006': 'Windows with SQL Server Standard',
  };
  if (usageOperation && known[usageOperation]) return known[usageOperation]!;
  return platform === 'windows' ? 'Windows' : 'Linux/UNIX';
}
