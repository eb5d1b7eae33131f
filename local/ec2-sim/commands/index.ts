import { deregisterImage, describeImages, registerImage } from './images.ts';
import {
  describeInstances,
  describeInstanceStatus,
  runInstances,
  startInstances,
  stopInstances,
  terminateInstances,
} from './instances.ts';
import {
  deleteSubnet,
  describeAccountAttributes,
  describeRouteTables,
  describeSecurityGroups,
  describeSubnets,
  describeVpcs,
} from './network.ts';
import { createSnapshot, createSnapshots, deleteSnapshot, describeSnapshots } from './snapshots.ts';
import { createTags, deleteTags } from './tags.ts';
import type { CommandHandler } from './types.ts';

/** Every EC2 action the simulator implements, by action name (the SDK command name minus `Command`). */
export const COMMANDS = {
  RunInstances: runInstances,
  DescribeInstances: describeInstances,
  DescribeInstanceStatus: describeInstanceStatus,
  TerminateInstances: terminateInstances,
  StopInstances: stopInstances,
  StartInstances: startInstances,
  RegisterImage: registerImage,
  DeregisterImage: deregisterImage,
  DescribeImages: describeImages,
  DescribeSnapshots: describeSnapshots,
  CreateSnapshot: createSnapshot,
  CreateSnapshots: createSnapshots,
  DeleteSnapshot: deleteSnapshot,
  CreateTags: createTags,
  DeleteTags: deleteTags,
  DescribeVpcs: describeVpcs,
  DescribeSubnets: describeSubnets,
  DeleteSubnet: deleteSubnet,
  DescribeSecurityGroups: describeSecurityGroups,
  DescribeRouteTables: describeRouteTables,
  DescribeAccountAttributes: describeAccountAttributes,
} satisfies Record<string, CommandHandler<never>>;

export type SupportedCommand = keyof typeof COMMANDS;

export const SUPPORTED_COMMANDS = Object.keys(COMMANDS) as SupportedCommand[];

export function isSupportedCommand(name: string): name is SupportedCommand {
  return Object.hasOwn(COMMANDS, name);
}
