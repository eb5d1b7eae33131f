/** An EC2 instance's lifecycle state, as every port and check reads it. */
export type InstanceState = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';
