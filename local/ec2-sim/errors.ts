import { EC2ServiceException } from '@aws-sdk/client-ec2';

/** HTTP status and fault side of the EC2 error codes the simulator raises (default: 400, client). */
const KNOWN: Record<string, { status: number; fault: 'client' | 'server' }> = {
  RequestLimitExceeded: { status: 503, fault: 'client' },
  InternalError: { status: 500, fault: 'server' },
  Unavailable: { status: 503, fault: 'server' },
  InsufficientInstanceCapacity: { status: 500, fault: 'server' },
};

/**
 * An error shaped like the ones the SDK deserialises from EC2: an EC2ServiceException whose `name` is the
 * AWS error code, with `$fault` and `$metadata.httpStatusCode` set, so retry strategies and adapters see
 * exactly what they would see from AWS.
 */
export function ec2Error(code: string, message: string): EC2ServiceException {
  const kind = KNOWN[code] ?? { status: 400, fault: 'client' as const };
  return new EC2ServiceException({
    name: code,
    message,
    $fault: kind.fault,
    $metadata: { httpStatusCode: kind.status, requestId: 'cleanpoint-ec2-simulator' },
  });
}

export function invalidParameter(field: string, problem: string): EC2ServiceException {
  return ec2Error('InvalidParameterValue', `Invalid value for parameter ${field}: ${problem}`);
}

export function requireValue<T>(value: T | undefined | null, field: string): T {
  if (value === undefined || value === null || value === '') {
    throw invalidParameter(field, 'the parameter is required and was not supplied');
  }
  return value;
}

export function requireNonEmptyList<T>(value: T[] | undefined, field: string): T[] {
  if (value === undefined || value.length === 0) throw invalidParameter(field, 'at least one value is required');
  return value;
}

export function requireOneOf<T extends string>(value: string | undefined, allowed: readonly T[], field: string): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw invalidParameter(field, `'${value}' is not one of ${allowed.join(', ')}`);
  }
  return value as T;
}

export function requireIntInRange(value: number | undefined, field: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalidParameter(field, `${value} must be an integer between ${min} and ${max}`);
  }
  return value;
}
