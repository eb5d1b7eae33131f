export { attachEc2Simulator, SIMULATOR_MIDDLEWARE_NAME } from './middleware.ts';
export {
  DEFAULT_SETTINGS,
  Ec2Simulator,
  type Ec2SimulatorOptions,
  type SeedImageOptions,
  type SeedInstanceOptions,
  type SeedSecurityGroupOptions,
  type SeedSnapshotOptions,
  type SeedSubnetOptions,
  type SeedVpcOptions,
  type SimResource,
  type SimResourceType,
} from './simulator.ts';
export { TokenBucket, type TokenBucketOptions } from './token-bucket.ts';
export {
  actionCategory,
  type BucketName,
  type BucketSpec,
  type CallStatsSnapshot,
  EC2_DEFAULT_THROTTLING,
  type ThrottlingConfig,
} from './throttling.ts';
export { type Ec2Faults, ec2FaultsSchema, parseFaults, readFaultsFile, type TagMatcher } from './faults.ts';
export { ec2Error } from './errors.ts';
export { SUPPORTED_COMMANDS, type SupportedCommand } from './commands/index.ts';
export type { Ec2SimState, RouteRecord, SimSettings, Tags } from './state.ts';
