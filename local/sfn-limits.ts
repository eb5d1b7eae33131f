/**
 * Step Functions quotas the local engine enforces as AWS does (Step Functions Developer Guide,
 * "Step Functions service quotas" and "Handling errors in Step Functions workflows"):
 *  - names of executions are 1–80 characters and contain no white space, wildcard characters
 *    (`? *`), bracket characters (`< > { } [ ]`), special characters (`" # % \ ^ | ~ \` $ & , ; : /`)
 *    or control characters (U+0000–U+001F, U+007F–U+009F); StartExecution answers `InvalidName`;
 *  - the input or output of a task, state or execution is at most 256 KiB of UTF-8 data
 *    (the API's 262144-byte length constraint); StartExecution answers `InvalidExecutionInput`,
 *    and a running state fails the execution with `States.DataLimitExceeded`, a terminal error
 *    that States.ALL does not catch (nor Retry retry).
 */

/** 256 KiB, in bytes of UTF-8. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;
export const MAX_NAME_LENGTH = 80;

// eslint-disable-next-line no-control-regex
const FORBIDDEN_NAME_CHARS = /[\s?*<>{}[\]"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/u;

/** Why AWS refuses this execution name, or undefined when it accepts it. */
export function invalidNameReason(name: string): string | undefined {
  const length = [...name].length;
  if (length < 1) return 'the name is empty';
  if (length > MAX_NAME_LENGTH) return `the name has ${length} characters (at most ${MAX_NAME_LENGTH})`;
  const bad = FORBIDDEN_NAME_CHARS.exec(name);
  if (bad) return `the name contains ${JSON.stringify(bad[0])}`;
  return undefined;
}

/** Size in bytes of the UTF-8 JSON text of a payload (what Step Functions measures). */
export function payloadBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null) ?? 'null', 'utf8');
}

export function exceedsPayloadLimit(value: unknown): boolean {
  return payloadBytes(value) > MAX_PAYLOAD_BYTES;
}
