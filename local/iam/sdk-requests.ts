/**
 * What IAM is asked when an AWS SDK call is made: for each command the project's code sends,
 * the actions AWS authorizes, the ARN and resource type of every resource the request names,
 * and the request's condition keys (tags on create, the tags of the resources it names,
 * ec2:CreateAction, iam:PassedToService, kms:ViaService, ses:FromAddress, ...).
 *
 * One SDK call can need several permissions, as on AWS:
 *   ec2:RunInstances with TagSpecifications   also ec2:CreateTags (ec2:CreateAction = RunInstances)
 *                    with encrypted volumes   also the EBS-encryption KMS actions on the key, through EC2
 *   ec2:RegisterImage with TagSpecifications  also ec2:CreateTags (ec2:CreateAction = RegisterImage)
 *   ec2:CreateSnapshots with TagSpecifications also ec2:CreateTags (ec2:CreateAction = CreateSnapshots)
 *   guardduty:StartMalwareScan with a role     also iam:PassRole (iam:PassedToService = GuardDuty's malware protection)
 *
 * A command this module does not know is refused by `requestsFor` (UnmappedCommandError): the
 * local runtime fails closed rather than let a call through unauthorized.
 *
 * Resource types and ARN formats are the service authorization reference's
 * (service-reference.ts); test/local/iam/sdk-requests.test.ts checks every ARN built here
 * against the reference's format for its type.
 */
import type { ContextValue } from './request.ts';

/** The services the local runtime's clients speak to. */
export type ServiceName = 'dynamodb' | 'ec2' | 'states' | 'events' | 'ssm' | 'ses' | 'kms' | 'guardduty';

/** A resource the request names, with the keys true of it alone. */
export interface NamedResource {
  readonly arn: string;
  /** The reference's resource type (`instance`, `table`, ...); `*` for an action without resource-level permissions. */
  readonly type: string;
  readonly context?: Readonly<Record<string, ContextValue>>;
}

/** One permission an SDK call needs. */
export interface PermissionRequest {
  readonly action: string;
  readonly resources: readonly NamedResource[];
  /** Keys true of the whole request. */
  readonly context?: Readonly<Record<string, ContextValue>>;
  /**
   * `launch-fails`: a refusal does not fail the call. EC2 accepts a RunInstances whose volumes'
   * KMS key the caller may not use, and the instance then goes pending ▶ terminated with
   * Client.InternalError (the local runtime tells the simulator: IamEnforcementOptions.onLaunchKmsDenied).
   */
  readonly deferred?: 'launch-fails';
}

/** What the authorizer can read about the account (on AWS, IAM reads it from the services). */
export interface AccountView {
  readonly region: string;
  readonly account: string;
  /** An EC2 resource by id: its tags, an image's snapshots, an instance's volumes, a snapshot's key. */
  ec2(id: string): { tags: Readonly<Record<string, string>>; snapshotIds?: readonly string[]; volumeIds?: readonly string[]; kmsKeyId?: string; encrypted?: boolean } | undefined;
  /** The role ARN an instance profile holds (IAM's view), undefined for a profile IAM does not know. */
  instanceProfileRole?(profileArn: string): string | undefined;
}

export class UnmappedCommandError extends Error {
  override readonly name = 'UnmappedCommandError';
}

type Input = Record<string, unknown>;
type Tag = { Key?: string; Value?: string };

const WILDCARD: NamedResource = { arn: '*', type: '*' };
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** The permissions `command` (the SDK's name, e.g. `RunInstancesCommand`) with `input` needs. */
export function requestsFor(service: ServiceName, command: string, input: Input, view: AccountView): PermissionRequest[] {
  const operation = command.replace(/Command$/, '');
  const mapper = MAPPERS[service];
  const out = mapper(operation, input, view);
  if (!out) throw new UnmappedCommandError(`the local IAM enforcement does not know which permissions ${service}:${operation} needs (local/iam/sdk-requests.ts)`);
  return out;
}

type Mapper = (operation: string, input: Input, view: AccountView) => PermissionRequest[] | undefined;

// -----------------------------------------------------------------------------------------------
// DynamoDB
// -----------------------------------------------------------------------------------------------

const dynamodb: Mapper = (op, input, view) => {
  const table = (name: unknown): NamedResource => ({ arn: `arn:aws:dynamodb:${view.region}:${view.account}:table/${str(name)}`, type: 'table' });
  const tableOrIndex = (i: Input): NamedResource =>
    i['IndexName'] ? { arn: `${table(i['TableName']).arn}/index/${str(i['IndexName'])}`, type: 'index' } : table(i['TableName']);
  const returnValues = (i: Input): Record<string, ContextValue> => (typeof i['ReturnValues'] === 'string' ? { 'dynamodb:ReturnValues': i['ReturnValues'] } : {});
  switch (op) {
    case 'GetItem': case 'PutItem': case 'UpdateItem': case 'DeleteItem': case 'DescribeTable': case 'CreateTable': case 'DeleteTable':
      return [{ action: `dynamodb:${op}`, resources: [table(input['TableName'])], context: returnValues(input) }];
    case 'Query': case 'Scan':
      return [{ action: `dynamodb:${op}`, resources: [tableOrIndex(input)] }];
    case 'BatchGetItem': case 'BatchWriteItem':
      return [{ action: `dynamodb:${op}`, resources: Object.keys((input['RequestItems'] ?? {}) as Input).map(table) }];
    case 'TransactWriteItems': case 'TransactGetItems': {
      // AWS authorizes each element as its own action (a Put as dynamodb:PutItem, ...).
      const actions: Record<string, string> = { Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', ConditionCheck: 'ConditionCheckItem', Get: 'GetItem' };
      return list(input['TransactItems']).flatMap((item) => Object.entries(item as Input).map(([kind, spec]) => ({
        action: `dynamodb:${actions[kind] ?? kind}`, resources: [table((spec as Input)['TableName'])], context: { 'dynamodb:EnclosingOperation': op },
      })));
    }
    default: return undefined;
  }
};

// -----------------------------------------------------------------------------------------------
// EC2
// -----------------------------------------------------------------------------------------------

/** Tag-on-create keys for one resource type of a request's TagSpecifications. */
function requestTags(input: Input, resourceType: string): Record<string, ContextValue> {
  const tags = list(input['TagSpecifications'])
    .filter((spec) => (spec as Input)['ResourceType'] === resourceType)
    .flatMap((spec) => list((spec as Input)['Tags']) as Tag[]);
  const context: Record<string, ContextValue> = {};
  for (const t of tags) if (t.Key !== undefined) context[`aws:RequestTag/${t.Key}`] = t.Value ?? '';
  if (tags.length > 0) context['aws:TagKeys'] = tags.flatMap((t) => (t.Key === undefined ? [] : [t.Key]));
  return context;
}

function resourceTags(tags: Readonly<Record<string, string>> | undefined): Record<string, ContextValue> {
  return Object.fromEntries(Object.entries(tags ?? {}).map(([k, v]) => [`aws:ResourceTag/${k}`, v]));
}

/** The resource types a request tags on create, e.g. `['instance', 'volume']`. */
function taggedTypes(input: Input): string[] {
  return [...new Set(list(input['TagSpecifications']).map((s) => str((s as Input)['ResourceType'])).filter(Boolean))];
}

const ec2: Mapper = (op, input, view) => {
  const { region, account } = view;
  const arn = (type: string, id: string) =>
    type === 'image' || type === 'snapshot' ? `arn:aws:ec2:${region}::${type}/${id}` : `arn:aws:ec2:${region}:${account}:${type}/${id}`;
  const existing = (type: string, id: string): NamedResource => ({ arn: arn(type, id), type, context: resourceTags(view.ec2(id)?.tags) });
  const created = (type: string, context: Record<string, ContextValue> = requestTags(input, type)): NamedResource => ({ arn: arn(type, '*'), type, context });
  // Tag on create: CreateTags on each tagged resource, with the creating action as ec2:CreateAction.
  const tagOnCreate = (): PermissionRequest[] => {
    const types = taggedTypes(input);
    return types.length === 0 ? [] : [{
      action: 'ec2:CreateTags', resources: types.map((t) => created(t)), context: { 'ec2:CreateAction': op },
    }];
  };
  if (/^Describe/.test(op)) return [{ action: `ec2:${op}`, resources: [WILDCARD] }];
  switch (op) {
    case 'RunInstances': {
      const imageId = str(input['ImageId']);
      const image = view.ec2(imageId);
      const snapshots = (image?.snapshotIds ?? []).map((id) => existing('snapshot', id));
      const subnet = str(input['SubnetId']);
      const groups = (list(input['SecurityGroupIds']) as string[]).map((id) => existing('security-group', id));
      const resources: NamedResource[] = [
        created('instance'), created('volume'), created('network-interface'),
        existing('image', imageId), ...snapshots, ...groups,
        ...(subnet ? [existing('subnet', subnet)] : []),
        ...(input['KeyName'] ? [{ arn: arn('key-pair', str(input['KeyName'])), type: 'key-pair' }] : []),
      ];
      // An instance profile: the caller must be allowed to pass its role to EC2 (iam:PassRole on the
      // role ARN, not the profile's; iam:PassedToService ec2.amazonaws.com). A profile IAM does not
      // know is EC2's refusal (InvalidParameterValue), after this.
      const profileArn = str(((input['IamInstanceProfile'] ?? {}) as Input)['Arn']);
      const role = profileArn ? view.instanceProfileRole?.(profileArn) : undefined;
      const passRole: PermissionRequest[] = role ? [{ action: 'iam:PassRole', resources: [{ arn: role, type: 'role' }], context: { 'iam:PassedToService': EC2_PRINCIPAL } }] : [];
      const keys = ebsEncryption(input, image?.snapshotIds ?? [], view).map((r) => ({ ...r, deferred: 'launch-fails' as const }));
      return [{ action: 'ec2:RunInstances', resources }, ...tagOnCreate(), ...passRole, ...keys];
    }
    case 'RegisterImage': {
      const snapshots = list(input['BlockDeviceMappings']).flatMap((d) => {
        const id = str(((d as Input)['Ebs'] as Input | undefined)?.['SnapshotId']);
        return id ? [existing('snapshot', id)] : [];
      });
      return [{ action: 'ec2:RegisterImage', resources: [created('image'), ...snapshots] }, ...tagOnCreate()];
    }
    case 'TerminateInstances': case 'StopInstances': case 'StartInstances': case 'RebootInstances':
      return [{ action: `ec2:${op}`, resources: (list(input['InstanceIds']) as string[]).map((id) => existing('instance', id)) }];
    case 'DeregisterImage':
      return [{ action: 'ec2:DeregisterImage', resources: [existing('image', str(input['ImageId']))] }];
    case 'DeleteSnapshot':
      return [{ action: 'ec2:DeleteSnapshot', resources: [existing('snapshot', str(input['SnapshotId']))] }];
    case 'CreateSnapshots': {
      const spec = (input['InstanceSpecification'] ?? {}) as Input;
      const instanceId = str(spec['InstanceId']);
      const volumes = (view.ec2(instanceId)?.volumeIds ?? []).map((id) => existing('volume', id));
      return [{ action: 'ec2:CreateSnapshots', resources: [existing('instance', instanceId), ...volumes, created('snapshot')] }, ...tagOnCreate()];
    }
    default: return undefined;
  }
};

/**
 * Volumes encrypted with a customer key: EC2 uses the key on the caller's behalf, so the caller
 * needs the EBS-encryption KMS permissions on it, through EC2 (kms:ViaService). The EBS User
 * Guide ("Requirements for Amazon EBS encryption", permissions for users) lists CreateGrant,
 * Decrypt, DescribeKey, GenerateDataKeyWithoutPlaintext and ReEncrypt; the ReEncrypt pair is
 * needed only when a source snapshot is encrypted under another key than the new volume's.
 */
function ebsEncryption(input: Input, sourceSnapshots: readonly string[], view: AccountView): PermissionRequest[] {
  const keys = new Set(list(input['BlockDeviceMappings']).flatMap((d) => {
    const ebs = ((d as Input)['Ebs'] ?? {}) as Input;
    return ebs['Encrypted'] === true && typeof ebs['KmsKeyId'] === 'string' ? [ebs['KmsKeyId']] : [];
  }));
  const out: PermissionRequest[] = [];
  for (const key of keys) {
    const target = kmsKey(key, view);
    const context = { 'kms:ViaService': `ec2.${view.region}.amazonaws.com`, 'kms:CallerAccount': view.account };
    out.push(
      { action: 'kms:CreateGrant', resources: [target], context: { ...context, 'kms:GrantIsForAWSResource': true } },
      ...['kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKeyWithoutPlaintext'].map((action) => ({ action, resources: [target], context })),
    );
    const otherKeys = new Set(sourceSnapshots.flatMap((id) => {
      const facts = view.ec2(id);
      return facts?.encrypted && facts.kmsKeyId && kmsKey(facts.kmsKeyId, view).arn !== target.arn ? [facts.kmsKeyId] : [];
    }));
    for (const from of otherKeys) out.push({ action: 'kms:ReEncryptFrom', resources: [kmsKey(from, view)], context });
    if (otherKeys.size > 0) out.push({ action: 'kms:ReEncryptTo', resources: [target], context });
  }
  return out;
}

/** A key named by ARN, key id or alias, as its key ARN (an alias is taken as naming its own key here). */
function kmsKey(keyId: string, view: AccountView): NamedResource {
  if (keyId.startsWith('arn:')) return { arn: keyId, type: 'key' };
  return { arn: `arn:aws:kms:${view.region}:${view.account}:key/${keyId.replace(/^alias\//, '')}`, type: 'key' };
}

// -----------------------------------------------------------------------------------------------
// Step Functions, EventBridge, SSM, SES, KMS, GuardDuty
// -----------------------------------------------------------------------------------------------

const states: Mapper = (op, input) => {
  switch (op) {
    case 'StartExecution':
      return [{ action: 'states:StartExecution', resources: [{ arn: str(input['stateMachineArn']), type: 'statemachine' }] }];
    case 'SendTaskSuccess': case 'SendTaskFailure': case 'SendTaskHeartbeat':
      return [{ action: `states:${op}`, resources: [WILDCARD] }];
    case 'DescribeExecution': case 'StopExecution': case 'RedriveExecution': case 'GetExecutionHistory':
      return [{ action: `states:${op}`, resources: [{ arn: str(input['executionArn']), type: 'execution' }] }];
    default: return undefined;
  }
};

const events: Mapper = (op, input, view) => {
  if (op !== 'PutEvents') return undefined;
  // Each entry is authorized on its own bus, with its own source and detail type.
  return list(input['Entries']).map((e) => {
    const entry = e as Input;
    const bus = str(entry['EventBusName']) || 'default';
    return {
      action: 'events:PutEvents',
      resources: [{ arn: bus.startsWith('arn:') ? bus : `arn:aws:events:${view.region}:${view.account}:event-bus/${bus}`, type: 'event-bus' }],
      context: { 'events:source': str(entry['Source']), 'events:detail-type': str(entry['DetailType']) },
    };
  });
};

const ssm: Mapper = (op, input, view) => {
  const parameter = (name: unknown): NamedResource => ({ arn: `arn:aws:ssm:${view.region}:${view.account}:parameter/${str(name).replace(/^\//, '')}`, type: 'parameter' });
  switch (op) {
    // A SecureString under the AWS managed key aws/ssm needs no kms:Decrypt in the caller's
    // policy: that key's policy lets principals of the account use it through SSM.
    case 'GetParameter': case 'PutParameter': case 'DeleteParameter':
      return [{ action: `ssm:${op}`, resources: [parameter(input['Name'])] }];
    case 'GetParameters':
      return [{ action: 'ssm:GetParameters', resources: list(input['Names']).map(parameter) }];
    case 'SendCommand': {
      const document = str(input['DocumentName']);
      // AWS-owned documents (AWS-RunShellScript) have no account in their ARN.
      const docArn = document.startsWith('AWS-') ? `arn:aws:ssm:${view.region}::document/${document}` : `arn:aws:ssm:${view.region}:${view.account}:document/${document}`;
      // The instances' tags are evaluated as aws:ResourceTag/* and as SSM's own ssm:resourceTag/*.
      const instances = (list(input['InstanceIds']) as string[]).map((id) => {
        const tags = view.ec2(id)?.tags ?? {};
        const ssmTags = Object.fromEntries(Object.entries(tags).map(([k, v]) => [`ssm:resourceTag/${k}`, v]));
        return { arn: `arn:aws:ec2:${view.region}:${view.account}:instance/${id}`, type: 'instance', context: { ...resourceTags(tags), ...ssmTags } };
      });
      return [{ action: 'ssm:SendCommand', resources: [{ arn: docArn, type: 'document' }, ...instances] }];
    }
    case 'GetCommandInvocation': case 'ListCommandInvocations':
      return [{ action: `ssm:${op}`, resources: [WILDCARD] }];
    default: return undefined;
  }
};

const ses: Mapper = (op, input, view) => {
  const identity = (name: string): NamedResource => ({ arn: `arn:aws:ses:${view.region}:${view.account}:identity/${name}`, type: 'identity' });
  switch (op) {
    case 'SendEmail': {
      const from = str(input['FromEmailAddress']);
      const address = /<([^>]+)>\s*$/.exec(from)?.[1] ?? from;
      const display = /^\s*"?([^"<]*?)"?\s*</.exec(from)?.[1];
      const destination = (input['Destination'] ?? {}) as Input;
      const recipients = ['ToAddresses', 'CcAddresses', 'BccAddresses'].flatMap((k) => list(destination[k]) as string[]);
      const config = str(input['ConfigurationSetName']);
      return [{
        action: 'ses:SendEmail',
        // The sending identity: the address itself (a verified e-mail identity) here.
        resources: [identity(address), ...(config ? [{ arn: `arn:aws:ses:${view.region}:${view.account}:configuration-set/${config}`, type: 'configuration-set' }] : [])],
        context: {
          'ses:ApiVersion': '2', 'ses:FromAddress': address, 'ses:Recipients': recipients,
          ...(display ? { 'ses:FromDisplayName': display } : {}),
        },
      }];
    }
    case 'GetEmailIdentity':
      return [{ action: 'ses:GetEmailIdentity', resources: [identity(str(input['EmailIdentity']))], context: { 'ses:ApiVersion': '2' } }];
    default: return undefined;
  }
};

const kms: Mapper = (op, input, view) => {
  switch (op) {
    case 'DescribeKey': case 'Decrypt': case 'Encrypt': case 'GenerateDataKey':
      return [{ action: `kms:${op}`, resources: [kmsKey(str(input['KeyId']), view)], context: { 'kms:CallerAccount': view.account } }];
    default: return undefined;
  }
};

/** EC2's service principal, to which RunInstances passes an instance profile's role. */
export const EC2_PRINCIPAL = 'ec2.amazonaws.com';

/** GuardDuty's malware protection service principal, to which StartMalwareScan passes the scanner role. */
export const MALWARE_PROTECTION_PRINCIPAL = 'malware-protection.guardduty.amazonaws.com';

const guardduty: Mapper = (op, input) => {
  switch (op) {
    case 'StartMalwareScan': {
      const role = str(((input['ScanConfiguration'] ?? {}) as Input)['Role']);
      return [
        { action: 'guardduty:StartMalwareScan', resources: [WILDCARD] },
        ...(role ? [{ action: 'iam:PassRole', resources: [{ arn: role, type: 'role' }], context: { 'iam:PassedToService': MALWARE_PROTECTION_PRINCIPAL } }] : []),
      ];
    }
    case 'GetMalwareScan': case 'ListMalwareScans':
      return [{ action: `guardduty:${op}`, resources: [WILDCARD] }];
    default: return undefined;
  }
};

const MAPPERS: Record<ServiceName, Mapper> = { dynamodb, ec2, states, events, ssm, ses, kms, guardduty };
