/** An EC2 instance's lifecycle state, as every port and check reads it. */
export type InstanceState = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';

/** Tags on everything Cleanpoint creates: cleanup finds its resources by them, IAM conditions on them. */
export const TAG = {
  incident: 'cleanpoint:incident',
  machine: 'cleanpoint:machine',
  mode: 'cleanpoint:mode',
  kind: 'cleanpoint:run-kind',
} as const;
