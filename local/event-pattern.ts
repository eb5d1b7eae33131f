/**
 * Amazon EventBridge event-pattern matching, for the local runtime.
 *
 * The spec is the EventBridge User Guide's pattern pages (copies in
 * `../shared/fixtures/event-patterns/awsdocs/`), cross-checked against the expectations of
 * AWS's Event Ruler tests (`../shared/fixtures/event-patterns/event_ruler_cases.json`).
 *
 * Shape of a pattern:
 * - every field named in the pattern must match (AND); fields the pattern omits are ignored;
 * - a field's value is either a nested object (descend into the event) or an array of
 *   alternatives (OR): plain values (exact match) and matcher objects (`{ "prefix": "x" }` ...);
 * - `"$or": [ {...}, {...} ]` matches when any of its sub-patterns matches the same object;
 * - when the event holds an array, the field matches if any element matches.
 *
 * Patterns are validated up front: a malformed pattern throws `InvalidPatternError`, an operator
 * we do not implement throws `UnsupportedPatternError`, both naming the JSON path of the
 * problem. Nothing ever silently fails to match because of a pattern we did not understand.
 *
 * Known differences from EventBridge (deliberate, because the input is already-parsed JSON):
 * - EventBridge compares plain numbers by their JSON text ("300, 300.0 and 3.0e2 are not
 *   equal"). After `JSON.parse` those are the same JavaScript number, so here they are equal.
 * - Event Ruler joins nested keys with dots, so `{"a": {"b.c": [1]}}` also matches
 *   `{"a": {"b": {"c": 1}}}`. That quirk is documented as "should not be relied upon" and is
 *   not reproduced: keys are matched one level at a time.
 * - Numbers are compared as IEEE doubles; EventBridge limits numeric matching to ±5.0e9 with
 *   six decimal places, so values beyond that precision may compare differently there.
 */

export type EventPattern = Record<string, unknown>;

/** The pattern uses an operator (or an operator combination) this matcher does not implement. */
export class UnsupportedPatternError extends Error {
  override readonly name = 'UnsupportedPatternError' as const;
  readonly operator: string;
  readonly path: string;

  constructor(operator: string, path: string, detail?: string, options?: ErrorOptions) {
    super(
      `Unsupported event-pattern operator "${operator}" at ${path}` + (detail ? `: ${detail}` : ''),
      options,
    );
    this.operator = operator;
    this.path = path;
  }
}

/** The pattern is not a well-formed EventBridge pattern (EventBridge would reject it too). */
export class InvalidPatternError extends Error {
  override readonly name = 'InvalidPatternError' as const;
  readonly path: string;

  constructor(path: string, problem: string, options?: ErrorOptions) {
    super(`Invalid event pattern at ${path}: ${problem}`, options);
    this.path = path;
  }
}

/**
 * What this matcher implements. `exact` is matching by plain value (`"state": ["running"]`,
 * including `null` and `""`); `$or` is the multi-field OR; the others are the matcher keywords
 * written as `{ "<keyword>": ... }` inside a value array.
 */
export const SUPPORTED_OPERATORS: readonly string[] = Object.freeze([
  'exact',
  'prefix',
  'suffix',
  'anything-but',
  'numeric',
  'exists',
  'equals-ignore-case',
  'wildcard',
  'cidr',
  '$or',
]);

/** Keywords accepted as `{ "<keyword>": ... }` inside a value array: every operator but plain values and `$or`. */
const MATCHER_KEYWORDS: ReadonlySet<string> = new Set(SUPPORTED_OPERATORS.filter((o) => o !== 'exact' && o !== '$or'));

/** EventBridge rejects patterns whose `$or`s expand to more than this many rule combinations. */
const MAX_OR_COMBINATIONS = 1000;

export interface MatchOptions {
  /**
   * How arrays of objects in the event are treated (default `true`).
   *
   * `true` (array-consistent, what Event Ruler's `rulesForJSONEvent` and `Ruler.matchesRule` do):
   * the fields of one nested pattern object must all be found in the same array element.
   * `{"employees": {"first": ["Anna"], "last": ["Jones"]}}` does not match
   * `{"employees": [{"first": "Anna", "last": "Smith"}, {"first": "Peter", "last": "Jones"}]}`.
   *
   * `false` (flattened, Event Ruler's deprecated `rulesForEvent`): the array structure is
   * crushed out, each field path collects its values from every element, and the example
   * above matches.
   */
  readonly arrayConsistent?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Compiled form

type Scalar = string | number | boolean | null;

interface LeafMatcher {
  /** Does one leaf value of the event satisfy any of the alternatives? */
  readonly test: (value: Scalar) => boolean;
  /** Does the field match when it has no leaf value at all (`{"exists": false}`)? */
  readonly matchesAbsent: boolean;
}

interface ObjectMatcher {
  readonly leaves: ReadonlyArray<readonly [string, LeafMatcher]>;
  readonly children: ReadonlyArray<readonly [string, ObjectMatcher]>;
  /** Each entry is one `$or`: at least one branch must match. */
  readonly ors: ReadonlyArray<readonly ObjectMatcher[]>;
  /** Whether this sub-pattern matches where the event has no object at all (precomputed). */
  readonly matchesAbsent: boolean;
  /** Rule combinations after expanding `$or`s (EventBridge caps this at 1000). */
  readonly combinations: number;
}

type ValueTest = (value: Scalar) => boolean;

// ---------------------------------------------------------------------------------------------
// Public API

/**
 * Checks that `pattern` is a well-formed pattern using only supported operators, and returns it.
 * Throws `InvalidPatternError` or `UnsupportedPatternError` naming the JSON path of the problem.
 */
export function validatePattern(pattern: unknown): EventPattern {
  compileRoot(pattern);
  return pattern as EventPattern;
}

/** Validates `pattern` once and returns a fast matcher for events. */
export function compilePattern(
  pattern: unknown,
  options: MatchOptions = {},
): (event: unknown) => boolean {
  const root = compileRoot(pattern);
  if (options.arrayConsistent === false) {
    return (event) => isPlainObject(event) && matchObjectFlattened(root, [event]);
  }
  return (event) => isPlainObject(event) && matchObject(root, event);
}

const compiledCache = new WeakMap<object, ObjectMatcher>();

/**
 * Does `event` match `pattern`? Throws like `validatePattern` when the pattern is bad.
 * Compiled patterns are cached per pattern object, so do not mutate a pattern after using it
 * (or use `compilePattern` and keep the returned function).
 */
export function matches(pattern: EventPattern, event: unknown, options: MatchOptions = {}): boolean {
  let root = isPlainObject(pattern) ? compiledCache.get(pattern) : undefined;
  if (!root) {
    root = compileRoot(pattern);
    compiledCache.set(pattern, root);
  }
  if (!isPlainObject(event)) return false; // an EventBridge event is always a JSON object
  return options.arrayConsistent === false
    ? matchObjectFlattened(root, [event])
    : matchObject(root, event);
}

// ---------------------------------------------------------------------------------------------
// Validation and compilation

function compileRoot(pattern: unknown): ObjectMatcher {
  if (!isPlainObject(pattern)) {
    throw new InvalidPatternError('$', `the pattern must be a JSON object, got ${describe(pattern)}`);
  }
  const root = compileObject(pattern, '$');
  if (root.combinations > MAX_OR_COMBINATIONS) {
    throw new InvalidPatternError(
      '$',
      `"$or" expands to ${root.combinations} rule combinations; EventBridge allows at most ${MAX_OR_COMBINATIONS}`,
    );
  }
  return root;
}

function compileObject(node: Record<string, unknown>, path: string): ObjectMatcher {
  const entries = Object.entries(node);
  if (entries.length === 0) {
    throw new InvalidPatternError(path, 'an empty object matches nothing specific; name at least one field');
  }
  const leaves: Array<readonly [string, LeafMatcher]> = [];
  const children: Array<readonly [string, ObjectMatcher]> = [];
  const ors: ObjectMatcher[][] = [];
  let combinations = 1;

  for (const [key, value] of entries) {
    const here = childPath(path, key);
    if (key === '$or') {
      const branches = compileOr(value, here);
      ors.push(branches);
      combinations *= branches.reduce((sum, b) => sum + b.combinations, 0);
    } else if (Array.isArray(value)) {
      leaves.push([key, compileLeaf(value, here)]);
    } else if (isPlainObject(value)) {
      const child = compileObject(value, here);
      children.push([key, child]);
      combinations *= child.combinations;
    } else {
      throw new InvalidPatternError(
        here,
        `a field's value must be an array of match values or a nested object, got ${describe(value)}`,
      );
    }
  }

  const partial = { leaves, children, ors, combinations };
  return { ...partial, matchesAbsent: matchObject({ ...partial, matchesAbsent: false }, undefined) };
}

function compileOr(value: unknown, path: string): ObjectMatcher[] {
  // Event Ruler only treats "$or" as an OR when it holds 2+ objects (otherwise it falls back to a
  // field literally named "$or"). Mixing both readings is ambiguous, so anything else is rejected.
  if (!Array.isArray(value) || value.length < 2) {
    throw new InvalidPatternError(path, '"$or" must be an array of at least two sub-patterns');
  }
  return value.map((branch, i) => {
    const here = childPath(path, i);
    if (!isPlainObject(branch)) {
      throw new InvalidPatternError(here, `an "$or" branch must be an object, got ${describe(branch)}`);
    }
    return compileObject(branch, here);
  });
}

function compileLeaf(alternatives: readonly unknown[], path: string): LeafMatcher {
  if (alternatives.length === 0) {
    throw new InvalidPatternError(path, 'an empty array matches nothing; give at least one value');
  }
  // Plain values go into one Set. Set uses SameValueZero, which keeps "1", 1, true and null
  // apart: exact matching is type-strict (the string "true" does not match the literal true).
  const exact = new Set<Scalar>();
  const tests: ValueTest[] = [];
  let matchesAbsent = false;
  let matchesAnyValue = false;

  alternatives.forEach((alt, i) => {
    const here = childPath(path, i);
    if (alt === null || typeof alt === 'string' || typeof alt === 'boolean') {
      exact.add(alt);
    } else if (typeof alt === 'number') {
      if (!Number.isFinite(alt)) throw new InvalidPatternError(here, 'numbers must be finite');
      exact.add(alt);
    } else if (isPlainObject(alt)) {
      const compiled = compileMatcher(alt, here);
      if (compiled === 'exists:true') matchesAnyValue = true;
      else if (compiled === 'exists:false') matchesAbsent = true;
      else tests.push(compiled);
    } else {
      throw new InvalidPatternError(
        here,
        `match values must be strings, numbers, booleans, null or matcher objects, got ${describe(alt)}`,
      );
    }
  });

  let test: ValueTest;
  if (matchesAnyValue) test = () => true;
  else if (tests.length === 0) test = (v) => exact.has(v);
  else test = (v) => exact.has(v) || tests.some((t) => t(v));
  return { test, matchesAbsent };
}

/** Compiles one `{ "<keyword>": operand }` object. `exists` is returned as a marker. */
function compileMatcher(
  matcher: Record<string, unknown>,
  path: string,
): ValueTest | 'exists:true' | 'exists:false' {
  const keys = Object.keys(matcher);
  for (const key of keys) {
    if (!MATCHER_KEYWORDS.has(key)) {
      throw new UnsupportedPatternError(
        key,
        path,
        key === 'exact'
          ? 'exact matching is written as the plain value, e.g. ["running"]'
          : `supported matchers are ${[...MATCHER_KEYWORDS].join(', ')}`,
      );
    }
  }
  const [op] = keys;
  if (op === undefined || keys.length !== 1) {
    throw new InvalidPatternError(
      path,
      `a matcher object must hold exactly one operator, found ${keys.length} (${keys.join(', ')})`,
    );
  }
  const operand = matcher[op];
  const here = childPath(path, op);

  switch (op) {
    case 'exists':
      if (typeof operand !== 'boolean') {
        throw new InvalidPatternError(here, `"exists" takes true or false, got ${describe(operand)}`);
      }
      return operand ? 'exists:true' : 'exists:false';
    case 'prefix':
    case 'suffix':
      return compilePrefixOrSuffix(op, operand, here);
    case 'equals-ignore-case': {
      const expected = fold(requireString(operand, here, op));
      return (v) => typeof v === 'string' && fold(v) === expected;
    }
    case 'wildcard': {
      const wildcard = compileWildcard(requireString(operand, here, op), here);
      return (v) => typeof v === 'string' && wildcard(v);
    }
    case 'cidr': {
      const network = parseCidr(requireString(operand, here, op), here);
      return (v) => typeof v === 'string' && inNetwork(network, v);
    }
    case 'numeric':
      return compileNumeric(operand, here);
    case 'anything-but':
      return compileAnythingBut(operand, here);
    default:
      // Unreachable: every keyword in MATCHER_KEYWORDS has a case above.
      throw new UnsupportedPatternError(op, path);
  }
}

/** `{"prefix": "x"}` or `{"prefix": {"equals-ignore-case": "x"}}` (same for suffix). */
function compilePrefixOrSuffix(op: 'prefix' | 'suffix', operand: unknown, path: string): ValueTest {
  const check =
    op === 'prefix'
      ? (value: string, affix: string) => value.startsWith(affix)
      : (value: string, affix: string) => value.endsWith(affix);
  if (typeof operand === 'string') {
    return (v) => typeof v === 'string' && check(v, operand);
  }
  if (isPlainObject(operand)) {
    const keys = Object.keys(operand);
    const unsupported = keys.find((k) => k !== 'equals-ignore-case');
    if (unsupported !== undefined) {
      throw new UnsupportedPatternError(
        unsupported,
        path,
        `"${op}" only combines with "equals-ignore-case"`,
      );
    }
    if (keys.length !== 1) {
      throw new InvalidPatternError(path, `"${op}" takes a string or {"equals-ignore-case": string}`);
    }
    const affix = fold(requireString(operand['equals-ignore-case'], childPath(path, 'equals-ignore-case'), 'equals-ignore-case'));
    return (v) => typeof v === 'string' && check(fold(v), affix);
  }
  throw new InvalidPatternError(
    path,
    `"${op}" takes a string or {"equals-ignore-case": string}, got ${describe(operand)}`,
  );
}

/**
 * `anything-but` matches every leaf value except the excluded ones. Two subtleties:
 * - the field must exist: a missing field never matches `anything-but` (use `exists: false`);
 * - exclusions are type-strict, like exact matching: `{"anything-but": [111]}` excludes the
 *   number 111, not the string "111"; and `{"anything-but": {"prefix": "x"}}` excludes only
 *   strings, so a number, boolean or null value satisfies it.
 */
function compileAnythingBut(operand: unknown, path: string): ValueTest {
  if (typeof operand === 'string' || (typeof operand === 'number' && Number.isFinite(operand))) {
    return (v) => v !== operand;
  }
  if (Array.isArray(operand)) {
    if (operand.length === 0) {
      throw new InvalidPatternError(path, '"anything-but" needs at least one value');
    }
    const allStrings = operand.every((x) => typeof x === 'string');
    const allNumbers = operand.every((x) => typeof x === 'number' && Number.isFinite(x));
    if (!allStrings && !allNumbers) {
      throw new InvalidPatternError(
        path,
        '"anything-but" lists must contain only strings or only numbers',
      );
    }
    const excluded = new Set<Scalar>(operand as Scalar[]);
    return (v) => !excluded.has(v);
  }
  if (isPlainObject(operand)) {
    const keys = Object.keys(operand);
    const allowed = ['prefix', 'suffix', 'equals-ignore-case', 'wildcard'];
    const unsupported = keys.find((k) => !allowed.includes(k));
    if (unsupported !== undefined) {
      throw new UnsupportedPatternError(
        unsupported,
        path,
        `"anything-but" only combines with ${allowed.join(', ')}`,
      );
    }
    const [op] = keys;
    if (op === undefined || keys.length !== 1) {
      throw new InvalidPatternError(path, '"anything-but" takes exactly one nested operator');
    }
    const inner = operand[op];
    const here = childPath(path, op);
    switch (op) {
      case 'prefix':
      case 'suffix': {
        // The User Guide: "Anything-but matching only works with a single prefix, not a list."
        const affix = requireString(inner, here, `anything-but/${op}`);
        return op === 'prefix'
          ? (v) => typeof v !== 'string' || !v.startsWith(affix)
          : (v) => typeof v !== 'string' || !v.endsWith(affix);
      }
      case 'equals-ignore-case': {
        const excluded = new Set(requireStringOrStrings(inner, here).map(fold));
        return (v) => typeof v !== 'string' || !excluded.has(fold(v));
      }
      default: {
        const wildcards = requireStringOrStrings(inner, here).map((w, i) =>
          compileWildcard(w, Array.isArray(inner) ? childPath(here, i) : here),
        );
        return (v) => typeof v !== 'string' || !wildcards.some((w) => w(v));
      }
    }
  }
  throw new InvalidPatternError(
    path,
    `"anything-but" takes a string, a number, a list of either, or a nested prefix/suffix/equals-ignore-case/wildcard; got ${describe(operand)}`,
  );
}

/**
 * `{"numeric": ["=", 5]}`, `["<", 10]`, or a range `[">", 0, "<=", 5]` (one lower and one upper
 * bound, in either order). Only JSON numbers match: the string "5" does not.
 */
function compileNumeric(operand: unknown, path: string): ValueTest {
  if (!Array.isArray(operand) || (operand.length !== 2 && operand.length !== 4)) {
    throw new InvalidPatternError(
      path,
      '"numeric" takes [operator, number] or [operator, number, operator, number]',
    );
  }
  const comparisons: Array<{ op: string; bound: number }> = [];
  for (let i = 0; i < operand.length; i += 2) {
    const op: unknown = operand[i];
    const bound: unknown = operand[i + 1];
    if (op !== '<' && op !== '<=' && op !== '=' && op !== '>' && op !== '>=') {
      throw new InvalidPatternError(
        childPath(path, i),
        `numeric operators are <, <=, =, >, >=; got ${describe(op)}`,
      );
    }
    if (typeof bound !== 'number' || !Number.isFinite(bound)) {
      throw new InvalidPatternError(childPath(path, i + 1), `expected a number, got ${describe(bound)}`);
    }
    comparisons.push({ op, bound });
  }
  const [first, second] = comparisons;
  if (second !== undefined && first !== undefined) {
    const isLower = (op: string) => op === '>' || op === '>=';
    const isUpper = (op: string) => op === '<' || op === '<=';
    const lower = isLower(first.op) ? first : second;
    const upper = isUpper(first.op) ? first : second;
    if (!isLower(lower.op) || !isUpper(upper.op) || lower === upper) {
      throw new InvalidPatternError(path, 'a numeric range needs one lower bound (>, >=) and one upper bound (<, <=)');
    }
    if (lower.bound > upper.bound) {
      throw new InvalidPatternError(path, `the lower bound ${lower.bound} is above the upper bound ${upper.bound}`);
    }
  }
  const checks = comparisons.map(({ op, bound }): ((n: number) => boolean) => {
    switch (op) {
      case '<': return (n) => n < bound;
      case '<=': return (n) => n <= bound;
      case '=': return (n) => n === bound;
      case '>': return (n) => n > bound;
      default: return (n) => n >= bound;
    }
  });
  return (v) => typeof v === 'number' && checks.every((check) => check(v));
}

/**
 * Wildcard: `*` matches any run of characters (including none). `\*` is a literal asterisk and
 * `\\` a literal backslash; any other escape, a trailing backslash, or two consecutive `*`
 * are rejected, as Event Ruler does.
 */
function compileWildcard(source: string, path: string): (value: string) => boolean {
  // Split into the literal pieces between unescaped stars.
  const pieces: string[] = [];
  let current = '';
  let previousWasStar = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    if (ch === '\\') {
      const next = source[i + 1];
      if (next !== '*' && next !== '\\') {
        throw new InvalidPatternError(
          path,
          `in a wildcard, a backslash may only escape "*" or "\\" (at character ${i})`,
        );
      }
      current += next;
      i++;
      previousWasStar = false;
    } else if (ch === '*') {
      if (previousWasStar) {
        throw new InvalidPatternError(path, 'consecutive "*" characters are not allowed in a wildcard');
      }
      pieces.push(current);
      current = '';
      previousWasStar = true;
    } else {
      current += ch;
      previousWasStar = false;
    }
  }
  pieces.push(current);

  if (pieces.length === 1) {
    const literal = pieces[0] ?? '';
    return (value) => value === literal;
  }
  const head = pieces[0] ?? '';
  const tail = pieces[pieces.length - 1] ?? '';
  const middle = pieces.slice(1, -1);
  const minLength = pieces.reduce((n, p) => n + p.length, 0);
  // Anchor the first piece at the start and the last at the end; the middle pieces are found
  // left to right, each at its earliest position (earliest is always safe with only `*`).
  return (value) => {
    if (value.length < minLength || !value.startsWith(head) || !value.endsWith(tail)) return false;
    let from = head.length;
    const end = value.length - tail.length;
    for (const piece of middle) {
      const at = value.indexOf(piece, from);
      if (at < 0 || at + piece.length > end) return false;
      from = at + piece.length;
    }
    return true;
  };
}

// ---------------------------------------------------------------------------------------------
// Matching

function isScalar(value: unknown): value is Scalar {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'number' ||
    typeof value === 'boolean'
  );
}

/**
 * Matches one field against its alternatives. The field's leaf values are the scalars found
 * in it, looking through nested arrays. "Exists" is about leaves only (User Guide: exists
 * "only works on leaf nodes"): a field that is missing, an empty array, or an object has no
 * leaf value, so it satisfies `{"exists": false}` and nothing else. `null` is a leaf value.
 */
function matchLeaf(leaf: LeafMatcher, value: unknown): boolean {
  return matchThroughArrays(value, isScalar, (v) => leaf.test(v), leaf.matchesAbsent);
}

/**
 * `value` itself when it is a target (a scalar leaf, or an object for a sub-pattern), else the
 * targets found in it through nested arrays: true when one matches. When there is no target at
 * all, only a matcher that accepts absence (`exists: false`) matches.
 */
function matchThroughArrays<T>(value: unknown, isTarget: (v: unknown) => v is T, test: (v: T) => boolean, matchesAbsent: boolean): boolean {
  if (isTarget(value)) return test(value);
  if (!Array.isArray(value)) return matchesAbsent;
  let found = false;
  const walk = (values: readonly unknown[]): boolean => {
    for (const v of values) {
      if (isTarget(v)) {
        found = true;
        if (test(v)) return true;
      } else if (Array.isArray(v) && walk(v)) {
        return true;
      }
    }
    return false;
  };
  return walk(value) || (!found && matchesAbsent);
}

/**
 * Array-consistent matching of a (sub-)pattern against one event object, or against nothing
 * (`undefined`) where the event has no object at this position.
 */
function matchObject(m: ObjectMatcher, obj: Record<string, unknown> | undefined): boolean {
  for (const [key, leaf] of m.leaves) {
    if (!matchLeaf(leaf, field(obj, key))) return false;
  }
  for (const [key, child] of m.children) {
    if (!matchChild(child, field(obj, key))) return false;
  }
  for (const branches of m.ors) {
    if (!branches.some((branch) => matchObject(branch, obj))) return false;
  }
  return true;
}

/**
 * A nested pattern object against an event value. If the value is (or contains, through
 * nested arrays) objects, one of those objects must match the whole sub-pattern: this is what
 * keeps fields from different array elements apart. If there is no object at all, the
 * sub-pattern can still match through `exists: false` alone.
 */
function matchChild(child: ObjectMatcher, value: unknown): boolean {
  return matchThroughArrays(value, isPlainObject, (obj) => matchObject(child, obj), child.matchesAbsent);
}

/**
 * Flattened matching (Event Ruler's `rulesForEvent`): every field path is checked on its own
 * against the values gathered from all the objects at that position, whichever array element
 * they came from.
 */
function matchObjectFlattened(m: ObjectMatcher, objs: ReadonlyArray<Record<string, unknown>>): boolean {
  for (const [key, leaf] of m.leaves) {
    if (!matchLeaf(leaf, objs.map((obj) => field(obj, key)))) return false;
  }
  for (const [key, child] of m.children) {
    const nested: Array<Record<string, unknown>> = [];
    for (const obj of objs) collectObjects(field(obj, key), nested);
    if (!matchObjectFlattened(child, nested)) return false;
  }
  for (const branches of m.ors) {
    if (!branches.some((branch) => matchObjectFlattened(branch, objs))) return false;
  }
  return true;
}

function collectObjects(value: unknown, out: Array<Record<string, unknown>>): void {
  if (isPlainObject(value)) out.push(value);
  else if (Array.isArray(value)) for (const item of value) collectObjects(item, out);
}

// ---------------------------------------------------------------------------------------------
// IP addresses (IPv4 and IPv6, as 32- or 128-bit BigInts)

interface Network {
  readonly family: 4 | 6;
  readonly prefix: bigint;
  readonly shift: bigint;
}

function parseCidr(cidr: string, path: string): Network {
  const slash = cidr.indexOf('/');
  const address = parseIp(slash < 0 ? cidr : cidr.slice(0, slash));
  const lengthText = slash < 0 ? '' : cidr.slice(slash + 1);
  if (!address || !/^\d{1,3}$/.test(lengthText)) {
    throw new InvalidPatternError(path, `"${cidr}" is not an IPv4 or IPv6 CIDR block like 10.0.0.0/24`);
  }
  const width = address.family === 4 ? 32 : 128;
  const length = Number(lengthText);
  if (length > width) {
    throw new InvalidPatternError(path, `prefix length /${length} is longer than ${width} bits`);
  }
  // Host bits set in the pattern ("220.160.154.255/24") are ignored: the block is 220.160.154.0/24.
  const shift = BigInt(width - length);
  return { family: address.family, prefix: address.value >> shift, shift };
}

function inNetwork(network: Network, value: string): boolean {
  const address = parseIp(value);
  return address !== undefined && address.family === network.family && address.value >> network.shift === network.prefix;
}

function parseIp(text: string): { family: 4 | 6; value: bigint } | undefined {
  if (text.includes(':')) {
    const value = parseIpv6(text);
    return value === undefined ? undefined : { family: 6, value };
  }
  const value = parseIpv4(text);
  return value === undefined ? undefined : { family: 4, value };
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseIpv6(text: string): bigint | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const toGroups = (half: string): number[] | undefined => {
    if (half === '') return [];
    const groups: number[] = [];
    const parts = half.split(':');
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] ?? '';
      if (i === parts.length - 1 && part.includes('.')) {
        // Embedded IPv4 in the last 32 bits (::ffff:10.0.0.1).
        const v4 = parseIpv4(part);
        if (v4 === undefined) return undefined;
        groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
        groups.push(parseInt(part, 16));
      } else {
        return undefined;
      }
    }
    return groups;
  };
  const head = toGroups(halves[0] ?? '');
  const tail = halves.length === 2 ? toGroups(halves[1] ?? '') : [];
  if (!head || !tail) return undefined;
  const explicit = head.length + tail.length;
  if (halves.length === 2 ? explicit > 7 : explicit !== 8) return undefined;
  const groups = [...head, ...new Array<number>(8 - explicit).fill(0), ...tail];
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(group), 0n);
}

// ---------------------------------------------------------------------------------------------
// Helpers

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own properties only: an event without "constructor" must not find Object.prototype's. */
function field(obj: Record<string, unknown> | undefined, key: string): unknown {
  return obj !== undefined && Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** Case folding for equals-ignore-case (and its prefix/suffix forms). */
function fold(text: string): string {
  return text.toLowerCase();
}

function requireString(value: unknown, path: string, op: string): string {
  if (typeof value !== 'string') {
    throw new InvalidPatternError(path, `"${op}" takes a string, got ${describe(value)}`);
  }
  return value;
}

function requireStringOrStrings(value: unknown, path: string): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.length > 0) {
    return value.map((item, i) => requireString(item, childPath(path, i), 'list item'));
  }
  throw new InvalidPatternError(path, `expected a string or a non-empty list of strings, got ${describe(value)}`);
}

/** JSON path of a child: `$.detail.state[0]`, `$["detail-type"]`, `$.a[0]["anything-but"]`. */
function childPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}
