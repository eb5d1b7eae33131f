/**
 * A pure evaluator for IAM identity policies: given the statements of a Lambda role (as the
 * packaged CloudFormation template declares them) and one request (an action, one resource, the
 * request context), it decides allow / explicit deny / implicit deny exactly as AWS documents it.
 *
 * Sources (IAM User Guide): "Policy evaluation logic", "IAM JSON policy elements: Action,
 * NotAction, Resource, NotResource, Condition, Condition operators", "Conditions with multiple
 * context keys or values", "Single-valued vs. multivalued context keys", "Policy variables".
 *
 * Scope: identity-based policies of one account. Resource-based policies, permissions
 * boundaries, SCPs, session policies and cross-account rules are not modelled (Cleanpoint's
 * Lambdas are governed by their execution role only). Every condition operator family of the
 * User Guide is evaluated; an unknown operator is refused with a PolicyError rather than
 * evaluated wrongly.
 */
import { BlockList, isIP } from 'node:net';
import type { ContextValue, RequestContext } from './request.ts';

// -----------------------------------------------------------------------------------------------
// Policy shapes
// -----------------------------------------------------------------------------------------------

/** A condition value as the template may give it (YAML turns `false` into a boolean). */
export type PolicyValue = string | number | boolean;

/** `{ operator: { key: value | [values] } }`. */
export type ConditionBlock = Readonly<Record<string, Readonly<Record<string, PolicyValue | readonly PolicyValue[]>>>>;

export interface Statement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | readonly string[];
  readonly NotAction?: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly NotResource?: string | readonly string[];
  readonly Condition?: ConditionBlock;
}

export interface EvaluationRequest {
  /** `service:Operation`. */
  readonly action: string;
  /** One resource ARN, or `*` for an action without resource-level permissions. */
  readonly resource: string;
  readonly context: RequestContext;
}

export type Decision = 'allow' | 'explicit-deny' | 'implicit-deny';

export interface EvaluationResult {
  readonly decision: Decision;
  /** The deciding statement (its Sid, else its index): the Allow, or the Deny. */
  readonly matchedStatement?: number | string;
  /** Why, in words fit for a log line. For an implicit deny, which statements came closest. */
  readonly reason: string;
}

/** A statement AWS would not accept (malformed element, unknown or unsupported operator). */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
}

// -----------------------------------------------------------------------------------------------
// Evaluation
// -----------------------------------------------------------------------------------------------

/**
 * Decides one request. The order is AWS's ("Determining whether a request is allowed or denied
 * within an account"): by default every request is implicitly denied; the enforcement code looks
 * first for a Deny statement that applies ("if the code finds even one explicit deny that
 * applies, the code returns a final decision of Deny"), then for an Allow that applies.
 */
export function evaluate(statements: readonly Statement[], request: EvaluationRequest): EvaluationResult {
  statements.forEach(validateStatement);
  const context = new Context(request.context);
  const outcomes = statements.map((statement, index) => ({
    statement,
    label: statement.Sid ?? index,
    outcome: match(statement, request, context),
  }));

  const deny = outcomes.find((o) => o.statement.Effect === 'Deny' && o.outcome.applies);
  if (deny) {
    return {
      decision: 'explicit-deny',
      matchedStatement: deny.label,
      reason: `statement ${describeLabel(deny.label)} explicitly denies ${request.action} on ${request.resource}`,
    };
  }
  const allow = outcomes.find((o) => o.statement.Effect === 'Allow' && o.outcome.applies);
  if (allow) {
    return {
      decision: 'allow',
      matchedStatement: allow.label,
      reason: `statement ${describeLabel(allow.label)} allows ${request.action} on ${request.resource}`,
    };
  }

  // Implicit deny: say which Allow statements came closest, so the log names what is missing.
  const details = outcomes.flatMap((o) =>
    o.statement.Effect === 'Allow' && !o.outcome.applies && o.outcome.failedAt !== 'action'
      ? [`statement ${describeLabel(o.label)} ${o.outcome.why}`]
      : [],
  );
  return {
    decision: 'implicit-deny',
    reason:
      `no statement allows ${request.action} on ${request.resource}` +
      (details.length > 0 ? `: ${details.join('; ')}` : ' (no Allow statement names the action)'),
  };
}

type MatchOutcome =
  | { readonly applies: true }
  | { readonly applies: false; readonly failedAt: 'action' | 'resource' | 'condition'; readonly why: string };

/** Does `statement` apply to the request: action, then resource, then every condition. */
function match(statement: Statement, request: EvaluationRequest, context: Context): MatchOutcome {
  const actionOk =
    statement.Action !== undefined
      ? list(statement.Action).some((p) => actionMatches(p, request.action))
      : !list(statement.NotAction!).some((p) => actionMatches(p, request.action));
  if (!actionOk) return { applies: false, failedAt: 'action', why: `does not cover ${request.action}` };

  try {
    const resourceOk =
      statement.Resource !== undefined
        ? list(statement.Resource).some((p) => resourceMatches(p, request.resource, context))
        : !list(statement.NotResource!).some((p) => resourceMatches(p, request.resource, context));
    if (!resourceOk) {
      const named = statement.Resource !== undefined ? `names ${JSON.stringify(statement.Resource)}` : `excludes it by NotResource ${JSON.stringify(statement.NotResource)}`;
      return { applies: false, failedAt: 'resource', why: `covers the action but ${named}` };
    }
    if (statement.Condition) {
      const held = conditionHolds(statement.Condition, context);
      if (!held.holds) {
        return { applies: false, failedAt: 'condition', why: `covers the action and resource but its condition fails: ${held.failed}` };
      }
    }
  } catch (error) {
    // "If AWS cannot resolve a variable, this might cause the entire statement to be invalid"
    // (Policy variables): such a statement applies to nothing, neither as Allow nor as Deny.
    if (error instanceof UnresolvedVariable) {
      return { applies: false, failedAt: 'resource', why: `cannot apply: policy variable \${${error.variable}} has no value in the request` };
    }
    throw error;
  }
  return { applies: true };
}

function describeLabel(label: number | string): string {
  return typeof label === 'number' ? `#${label}` : `"${label}"`;
}

function list<T>(value: T | readonly T[]): readonly T[] {
  return Array.isArray(value) ? (value as readonly T[]) : [value as T];
}

// -----------------------------------------------------------------------------------------------
// Statement grammar
// -----------------------------------------------------------------------------------------------

/** Refuses what IAM would refuse to store: the element pairs and the Effect values. */
export function validateStatement(statement: Statement, index: number): void {
  const where = `statement ${describeLabel(statement.Sid ?? index)}`;
  if (statement.Effect !== 'Allow' && statement.Effect !== 'Deny') {
    throw new PolicyError(`${where}: Effect must be "Allow" or "Deny", got ${JSON.stringify(statement.Effect)}`);
  }
  if ((statement.Action === undefined) === (statement.NotAction === undefined)) {
    throw new PolicyError(`${where}: a statement must include exactly one of Action and NotAction`);
  }
  if ((statement.Resource === undefined) === (statement.NotResource === undefined)) {
    throw new PolicyError(`${where}: a statement must include exactly one of Resource and NotResource`);
  }
  for (const element of ['Action', 'NotAction', 'Resource', 'NotResource'] as const) {
    const value = statement[element];
    if (value !== undefined && !list(value).every((v) => typeof v === 'string')) {
      throw new PolicyError(`${where}: ${element} must be a string or a list of strings (is a template value unresolved?)`);
    }
  }
  for (const [operator, keys] of Object.entries(statement.Condition ?? {})) {
    const parsed = parseOperator(operator, where);
    for (const [key, raw] of Object.entries(keys)) {
      for (const value of list(raw)) checkPolicyValue(parsed, key, value, where);
    }
  }
}

// -----------------------------------------------------------------------------------------------
// Action and resource matching
// -----------------------------------------------------------------------------------------------

/**
 * Action element: "The prefix and the action name are case insensitive. For example,
 * iam:ListAccessKeys is the same as IAM:listaccesskeys." `*` matches any run of characters and
 * `?` one character; "s3:*" is every S3 action, "iam:*AccessKey*" every action with AccessKey.
 */
export function actionMatches(pattern: string, action: string): boolean {
  return globRegExp(parseGlob(pattern), true).test(action);
}

/**
 * Resource element: wildcards `*` (any combination of characters) and `?` (any single
 * character) may stand anywhere in the ARN. IAM matches the ARN as a glob over the whole
 * string: "If the * wildcard is the last character of a resource ARN segment, it can expand to
 * match beyond colon boundaries", and it "can expand to replace everything within a segment,
 * including characters like a forward slash (/)". Matching is case-sensitive ("In the Resource
 * element, the IAM user name is case sensitive"). Policy variables (`${aws:username}`) are
 * substituted from the request context when one is given.
 */
export function resourceMatches(pattern: string, resource: string, context?: Context | RequestContext): boolean {
  const ctx = context === undefined ? undefined : context instanceof Context ? context : new Context(context);
  return globRegExp(parseGlob(pattern, ctx), false).test(resource);
}

/**
 * ArnEquals / ArnLike (identical): "Case-sensitive matching of the ARN. Each of the six
 * colon-delimited components of the ARN is checked separately and each can include
 * multi-character match wildcards (*) or single-character match wildcards (?)." So unlike the
 * Resource element and StringLike, a `*` never crosses a colon between the first five
 * components; the sixth (the resource part) keeps whatever colons follow.
 */
export function arnMatches(pattern: string, value: string, context?: Context | RequestContext): boolean {
  const ctx = context === undefined ? undefined : context instanceof Context ? context : new Context(context);
  return arnLike(parseGlob(pattern, ctx), value);
}

function arnLike(pattern: GlobPart[], value: string): boolean {
  const patternSegments = splitGlob(pattern, 6);
  // A pattern that is not an ARN (the bare "*") is matched as a whole: "*" is any ARN.
  if (patternSegments.length < 6) return globRegExp(pattern, false).test(value);
  const valueSegments = splitArn(value);
  if (valueSegments.length < 6) return false;
  return patternSegments.every((segment, i) => globRegExp(segment, false).test(valueSegments[i]!));
}

/** `arn:partition:service:region:account:resource`, the resource keeping its own colons. */
function splitArn(value: string): string[] {
  const parts = value.split(':');
  if (parts.length < 6) return parts;
  return [...parts.slice(0, 5), parts.slice(5).join(':')];
}

// -----------------------------------------------------------------------------------------------
// Globs and policy variables
// -----------------------------------------------------------------------------------------------

/** A pattern after variable substitution: literal text and the two wildcards. */
type GlobPart = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'any' } | { readonly kind: 'one' };

class UnresolvedVariable extends Error {
  constructor(readonly variable: string) {
    super(`policy variable \${${variable}} is not in the request context`);
  }
}

/**
 * Splits a pattern into text and wildcards. With a context, policy variables are substituted:
 * `${key}` takes the single value of that context key, `${key, 'default'}` falls back to the
 * default, and `${*}`, `${?}`, `${$}` stand for a literal `*`, `?`, `$` ("special characters" in
 * Policy variables). A variable whose key is missing (or multivalued, which cannot be a policy
 * variable) makes the statement inapplicable (UnresolvedVariable). Without a context the text is
 * taken literally (Action never takes variables).
 */
function parseGlob(pattern: string, context?: Context): GlobPart[] {
  const parts: GlobPart[] = [];
  const text = (t: string): void => {
    const last = parts[parts.length - 1];
    if (last?.kind === 'text') parts[parts.length - 1] = { kind: 'text', text: last.text + t };
    else parts.push({ kind: 'text', text: t });
  };
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '$' && pattern[i + 1] === '{' && context) {
      const end = pattern.indexOf('}', i + 2);
      if (end !== -1) {
        text(context.variable(pattern.slice(i + 2, end)));
        i = end;
        continue;
      }
    }
    if (c === '*') parts.push({ kind: 'any' });
    else if (c === '?') parts.push({ kind: 'one' });
    else text(c);
  }
  return parts;
}

/** Splits glob parts on literal ':' into at most `max` segments (the last keeps the rest). */
function splitGlob(parts: GlobPart[], max: number): GlobPart[][] {
  const segments: GlobPart[][] = [[]];
  for (const part of parts) {
    if (part.kind !== 'text') {
      segments[segments.length - 1]!.push(part);
      continue;
    }
    const pieces = part.text.split(':');
    pieces.forEach((piece, j) => {
      if (j > 0) {
        if (segments.length < max) segments.push([]);
        else piece = `:${piece}`;
      }
      if (piece !== '') segments[segments.length - 1]!.push({ kind: 'text', text: piece });
    });
  }
  return segments;
}

function globRegExp(parts: readonly GlobPart[], ignoreCase: boolean): RegExp {
  const body = parts
    .map((p) => (p.kind === 'any' ? '.*' : p.kind === 'one' ? '.' : p.text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, ignoreCase ? 'is' : 's');
}

/** The glob written back as text, wildcards as `*` and `?` (for exact comparisons). */
function globText(parts: readonly GlobPart[]): string {
  return parts.map((p) => (p.kind === 'any' ? '*' : p.kind === 'one' ? '?' : p.text)).join('');
}

// -----------------------------------------------------------------------------------------------
// The request context
// -----------------------------------------------------------------------------------------------

/**
 * The request context, read the way IAM reads it: "Condition key names are not case-sensitive.
 * For example, including the aws:SourceIP condition key is equivalent to testing for
 * AWS:SourceIp" — and the tag-key part of aws:RequestTag/tag-key likewise ("Key names are not
 * case-sensitive"). Values are kept as they are.
 */
export class Context {
  private readonly byName = new Map<string, ContextValue>();

  constructor(context: RequestContext) {
    for (const [key, value] of Object.entries(context)) this.byName.set(key.toLowerCase(), value);
  }

  /** The key's values, or undefined when the key is missing or its value set is empty. */
  values(key: string): readonly string[] | undefined {
    const value = this.byName.get(key.toLowerCase());
    if (value === undefined) return undefined;
    if (typeof value === 'boolean') return [String(value)];
    if (typeof value === 'string') return [value];
    return value.length === 0 ? undefined : value;
  }

  /** Resolves the inside of `${...}` (see parseGlob). */
  variable(inside: string): string {
    const special: Record<string, string> = { '*': '*', '?': '?', $: '$' };
    if (inside in special) return special[inside]!;
    const withDefault = /^\s*([^,]+?)\s*,\s*'([^']*)'\s*$/.exec(inside);
    const key = withDefault ? withDefault[1]! : inside.trim();
    const value = this.byName.get(key.toLowerCase());
    if (typeof value === 'string') return value;
    if (typeof value === 'boolean') return String(value);
    if (withDefault) return withDefault[2]!;
    throw new UnresolvedVariable(key);
  }
}

// -----------------------------------------------------------------------------------------------
// Conditions
// -----------------------------------------------------------------------------------------------

type Family = 'string' | 'numeric' | 'date' | 'bool' | 'arn' | 'null' | 'ip' | 'binary';

interface OperatorSpec {
  readonly family: Family;
  /** Negated operators (StringNotEquals, ArnNotLike, ...): see keyHolds. */
  readonly negated: boolean;
  /** The positive comparison of one request value with one policy value (already parsed). */
  readonly test: (request: string, policy: GlobPart[]) => boolean;
}

const numericTest = (compare: (a: number, b: number) => boolean) => (request: string, policy: GlobPart[]) => {
  const a = parseNumber(request);
  const b = parseNumber(globText(policy));
  return a !== undefined && b !== undefined && compare(a, b);
};
const dateTest = (compare: (a: number, b: number) => boolean) => (request: string, policy: GlobPart[]) => {
  const a = parseDate(request);
  const b = parseDate(globText(policy));
  return a !== undefined && b !== undefined && compare(a, b);
};
const equalText = (request: string, policy: GlobPart[]) => request === globText(policy);
const equalTextIgnoreCase = (request: string, policy: GlobPart[]) => request.toLowerCase() === globText(policy).toLowerCase();
const likeText = (request: string, policy: GlobPart[]) => globRegExp(policy, false).test(request);
const arnTest = (request: string, policy: GlobPart[]) => arnLike(policy, request);
/** IpAddress: the request address lies in the policy's address or CIDR block (RFC 4632 notation, IPv4 or IPv6). */
const ipTest = (request: string, policy: GlobPart[]) => {
  const block = parseCidr(globText(policy));
  const family = isIP(request.trim());
  if (!block || family === 0) return false;
  const list = new BlockList();
  list.addSubnet(block.address, block.prefix, block.type);
  return list.check(request.trim(), family === 4 ? 'ipv4' : 'ipv6');
};
/** BinaryEquals: the bytes the base-64 request value encodes equal the policy value's. */
const binaryTest = (request: string, policy: GlobPart[]) => {
  const a = parseBase64(request);
  const b = parseBase64(globText(policy));
  return a !== undefined && b !== undefined && a.equals(b);
};

/** The operators of "IAM JSON policy elements: Condition operators" that this evaluator knows. */
const OPERATORS: Readonly<Record<string, OperatorSpec>> = {
  // String: "Exact matching, case sensitive" / "ignoring case" / "StringLike: case-sensitive
  // matching. The values can include multi-character match wildcards (*) and single-character
  // match wildcards (?) anywhere in the string."
  StringEquals: { family: 'string', negated: false, test: equalText },
  StringNotEquals: { family: 'string', negated: true, test: equalText },
  StringEqualsIgnoreCase: { family: 'string', negated: false, test: equalTextIgnoreCase },
  StringNotEqualsIgnoreCase: { family: 'string', negated: true, test: equalTextIgnoreCase },
  StringLike: { family: 'string', negated: false, test: likeText },
  StringNotLike: { family: 'string', negated: true, test: likeText },
  // Numeric: integer or decimal values.
  NumericEquals: { family: 'numeric', negated: false, test: numericTest((a, b) => a === b) },
  NumericNotEquals: { family: 'numeric', negated: true, test: numericTest((a, b) => a === b) },
  NumericLessThan: { family: 'numeric', negated: false, test: numericTest((a, b) => a < b) },
  NumericLessThanEquals: { family: 'numeric', negated: false, test: numericTest((a, b) => a <= b) },
  NumericGreaterThan: { family: 'numeric', negated: false, test: numericTest((a, b) => a > b) },
  NumericGreaterThanEquals: { family: 'numeric', negated: false, test: numericTest((a, b) => a >= b) },
  // Date: "W3C implementations of the ISO 8601 date formats or in epoch (UNIX) time";
  // "Wildcards are not permitted for date condition operators".
  DateEquals: { family: 'date', negated: false, test: dateTest((a, b) => a === b) },
  DateNotEquals: { family: 'date', negated: true, test: dateTest((a, b) => a === b) },
  DateLessThan: { family: 'date', negated: false, test: dateTest((a, b) => a < b) },
  DateLessThanEquals: { family: 'date', negated: false, test: dateTest((a, b) => a <= b) },
  DateGreaterThan: { family: 'date', negated: false, test: dateTest((a, b) => a > b) },
  DateGreaterThanEquals: { family: 'date', negated: false, test: dateTest((a, b) => a >= b) },
  // Boolean: "comparing a key to "true" or "false"".
  Bool: { family: 'bool', negated: false, test: (request, policy) => parseBool(request) !== undefined && parseBool(request) === parseBool(globText(policy)) },
  // ARN: ArnEquals and ArnLike "behave identically", as do ArnNotEquals and ArnNotLike.
  ArnEquals: { family: 'arn', negated: false, test: arnTest },
  ArnLike: { family: 'arn', negated: false, test: arnTest },
  ArnNotEquals: { family: 'arn', negated: true, test: arnTest },
  ArnNotLike: { family: 'arn', negated: true, test: arnTest },
  // Null: "use either true (the key doesn't exist — it is null) or false (the key exists and
  // its value is not null)". Handled in keyHolds; test unused.
  Null: { family: 'null', negated: false, test: () => false },
  // Binary: "compare a key value that is in binary format"; the policy value is base-64 encoded.
  BinaryEquals: { family: 'binary', negated: false, test: binaryTest },
  // IP address: "restrict access based on comparing a key to an IPv4 or IPv6 address or range of
  // IP addresses" (RFC 4632 CIDR notation; an address without a prefix is a single address).
  IpAddress: { family: 'ip', negated: false, test: ipTest },
  NotIpAddress: { family: 'ip', negated: true, test: ipTest },
};

interface ParsedOperator {
  readonly name: string;
  readonly set?: 'ForAllValues' | 'ForAnyValue';
  readonly ifExists: boolean;
  readonly spec: OperatorSpec;
}

/**
 * `[ForAllValues:|ForAnyValue:]Operator[IfExists]`. Operator names are matched without regard
 * to case. "You can add IfExists to the end of any condition operator name except the Null
 * condition".
 */
function parseOperator(name: string, where: string): ParsedOperator {
  let rest = name;
  let set: ParsedOperator['set'];
  const qualifier = /^(forallvalues|foranyvalue):/i.exec(rest);
  if (qualifier) {
    set = qualifier[1]!.toLowerCase() === 'forallvalues' ? 'ForAllValues' : 'ForAnyValue';
    rest = rest.slice(qualifier[0].length);
  }
  const ifExists = /ifexists$/i.test(rest);
  if (ifExists) rest = rest.slice(0, -'IfExists'.length);
  const base = Object.keys(OPERATORS).find((k) => k.toLowerCase() === rest.toLowerCase());
  if (!base) throw new PolicyError(`${where}: unknown condition operator ${name}`);
  const spec = OPERATORS[base]!;
  if (spec.family === 'null' && (ifExists || set)) {
    throw new PolicyError(`${where}: ${name}: the Null operator takes neither IfExists nor a set qualifier`);
  }
  return { name, ...(set ? { set } : {}), ifExists, spec };
}

/** Policy values AWS would reject for the operator's type. */
function checkPolicyValue(op: ParsedOperator, key: string, value: PolicyValue, where: string): void {
  const text = String(value);
  const bad = (what: string): never => {
    throw new PolicyError(`${where}: ${op.name} ${key}: ${JSON.stringify(value)} is not ${what}`);
  };
  switch (op.spec.family) {
    case 'numeric':
      if (parseNumber(text) === undefined) bad('a number');
      break;
    case 'date':
      if (parseDate(text) === undefined) bad('an ISO 8601 date or an epoch time');
      break;
    case 'bool':
    case 'null':
      if (parseBool(text) === undefined) bad('"true" or "false"');
      break;
    case 'ip':
      if (!parseCidr(text)) bad('an IPv4 or IPv6 address or CIDR block');
      break;
    case 'binary':
      if (parseBase64(text) === undefined) bad('base-64 encoded');
      break;
    default:
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') bad('a string');
  }
}

/**
 * Evaluates a Condition block: "If your policy statement has multiple condition operators, the
 * condition operators are evaluated using a logical AND. If your policy statement has multiple
 * context keys attached to a single condition operator, the context keys are evaluated using a
 * logical AND. If a single condition operator includes multiple values for a context key, those
 * values are evaluated using a logical OR. If a single negated matching condition operator
 * includes multiple values for a context key, those values are evaluated using a logical NOR."
 */
export function conditionHolds(block: ConditionBlock, context: Context | RequestContext): { holds: boolean; failed?: string } {
  const ctx = context instanceof Context ? context : new Context(context);
  for (const [operator, keys] of Object.entries(block)) {
    const op = parseOperator(operator, 'condition');
    for (const [key, raw] of Object.entries(keys)) {
      const policyValues = list(raw);
      if (!keyHolds(op, key, policyValues, ctx)) {
        const present = ctx.values(key);
        return {
          holds: false,
          failed: `${operator} ${key} ${JSON.stringify(raw)} (request has ${present === undefined ? 'no such key' : JSON.stringify(present.length === 1 ? present[0] : present)})`,
        };
      }
    }
  }
  return { holds: true };
}

function keyHolds(op: ParsedOperator, key: string, rawPolicyValues: readonly PolicyValue[], ctx: Context): boolean {
  const requestValues = ctx.values(key);

  if (op.spec.family === 'null') {
    // Null: true means "the key is absent", false "the key is present" (values ORed).
    return rawPolicyValues.some((v) => parseBool(String(v)) === (requestValues === undefined));
  }

  // Policy variables may stand in the values of String and ARN operators only ("You can't use a
  // policy variable with other operators, such as Numeric, Date, Boolean, Binary, IP Address, or
  // Null operators"); elsewhere `${` is literal text.
  const variables = op.spec.family === 'string' || op.spec.family === 'arn';
  const policyValues = rawPolicyValues.map((v) => (variables ? parseGlob(String(v), ctx) : [{ kind: 'text', text: String(v) } as GlobPart]));

  // One request value against the policy values: any of them (OR), or for a negated operator
  // none of them (NOR). A request value of the wrong type (a number key holding "abc") cannot
  // be compared and makes the value fail either way.
  const valueHolds = (value: string): boolean => {
    if (!comparable(op.spec.family, value)) return false;
    const matched = policyValues.some((p) => op.spec.test(value, p));
    return op.spec.negated ? !matched : matched;
  };

  if (op.set === 'ForAllValues') {
    // "The condition returns true if there's a match between every one of the specified key
    // values in the request and at least one value in the policy." "If the key values in the
    // request resolve to an empty data set ... ForAllValues returns true"; "The ForAllValues
    // set operator also returns true if there are no context keys in the request."
    // With a set qualifier the missing-key outcome is the set operator's: IfExists changes
    // nothing (the qualifier decides for an absent key, see ForAnyValue).
    return requestValues === undefined || requestValues.every(valueHolds);
  }
  if (op.set === 'ForAnyValue') {
    // "The condition returns true if any one of the key values in the request matches any one
    // of the condition values in the policy"; for an empty data set "ForAnyValue returns
    // false" — even with IfExists (ForAnyValue:StringEqualsIfExists on a request without the
    // key is refused by AWS, as reported on AWS re:Post).
    return requestValues !== undefined && requestValues.some(valueHolds);
  }

  if (requestValues === undefined) {
    // "If the key that you specify in a policy condition is not present in the request
    // context, the values do not match and the condition is false. If the policy condition
    // requires that the key is not matched, such as StringNotLike or ArnNotLike, and the right
    // key is not present, the condition is true." IfExists: "If the key is not present,
    // evaluate the condition element as true."
    return op.ifExists || op.spec.negated;
  }
  // A single-valued operator on a key that holds several values: AWS says multivalued keys
  // "require a condition set operator" and does not define this case; it is evaluated as
  // ForAnyValue (some request value satisfies the operator).
  return requestValues.some(valueHolds);
}

function comparable(family: Family, value: string): boolean {
  switch (family) {
    case 'numeric':
      return parseNumber(value) !== undefined;
    case 'date':
      return parseDate(value) !== undefined;
    case 'bool':
      return parseBool(value) !== undefined;
    case 'ip':
      return isIP(value.trim()) !== 0;
    case 'binary':
      return parseBase64(value) !== undefined;
    default:
      return true;
  }
}

/** `203.0.113.0/24`, `2001:db8::/32`, or a bare address (a /32 or /128 block). */
function parseCidr(text: string): { address: string; prefix: number; type: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', prefixText, ...extra] = text.trim().split('/');
  const family = isIP(address);
  if (family === 0 || extra.length > 0) return undefined;
  const max = family === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  return prefix <= max ? { address, prefix, type: family === 4 ? 'ipv4' : 'ipv6' } : undefined;
}

/** The bytes of a base-64 text, or undefined when it is not base 64. */
function parseBase64(text: string): Buffer | undefined {
  const t = text.trim();
  return t.length > 0 && t.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(t) ? Buffer.from(t, 'base64') : undefined;
}

function parseNumber(text: string): number | undefined {
  return /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/.test(text) ? Number(text) : undefined;
}

function parseBool(text: string): boolean | undefined {
  const lower = text.trim().toLowerCase();
  return lower === 'true' ? true : lower === 'false' ? false : undefined;
}

/**
 * Milliseconds since the epoch, from epoch seconds ("1700000000", also with a fraction) or one
 * of the W3C profiles of ISO 8601: YYYY, YYYY-MM, YYYY-MM-DD, YYYY-MM-DDThh:mm[:ss[.s]]TZD with
 * TZD "Z" or ±hh:mm. A time without a zone designator is read as UTC. All-digit values are
 * epoch seconds, so a bare year must be written with its month ("2020-01").
 */
function parseDate(text: string): number | undefined {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  const w3c = /^(\d{4})-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?$/.exec(t);
  if (!w3c) return undefined;
  const [, year, month, day = '01', hour, minute, second = '00', fraction = '', zone] = w3c;
  const iso = hour === undefined ? `${year}-${month}-${day}T00:00:00Z` : `${year}-${month}-${day}T${hour}:${minute}:${second}${fraction}${zone ?? 'Z'}`;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}
