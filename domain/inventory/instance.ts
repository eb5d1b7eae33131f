/** An EC2 instance's lifecycle state, as every port and check reads it. */
export type InstanceState = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';

/** An EC2 instance as the compute provider describes it. */
export interface InstanceView {
  instanceId: string;
  state: InstanceState;
  /** null while checks are initialising; true when system and instance status are ok. */
  statusOk: boolean | null;
  /** 'impaired' etc. when a check failed. */
  statusDetail?: string;
  instanceType: string;
  imageId: string;
  subnetId?: string;
  privateIpAddress?: string;
  launchTime?: string;
  /** Why EC2 last changed the state when it did so itself, e.g. Client.InternalError for a launch it ended (EC2 StateReason). */
  stateReason?: { code: string; message: string };
  tags: Record<string, string>;
}

/** Tags on everything Cleanpoint creates: cleanup finds its resources by them, IAM conditions on them. */
export const TAG = {
  incident: 'cleanpoint:incident',
  machine: 'cleanpoint:machine',
  mode: 'cleanpoint:mode',
  kind: 'cleanpoint:run-kind',
} as const;
