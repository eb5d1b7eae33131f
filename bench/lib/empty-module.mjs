// The cold-start benchmark's baseline: a handler module with no dependencies, so the figure is Node's own start-up.
export const handler = async () => null;
