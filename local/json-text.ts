/**
 * JSON.stringify without recursion. V8's JSON.stringify (and structuredClone) recurse and
 * overflow the stack on a few thousand levels of nesting, while its JSON.parse does not: AWS's
 * Lambda runtime hands a handler such an event intact, and the handler's own bounds refuse it.
 * The local runtime copies every payload across the Lambda boundary as text, so it must not be
 * the one that overflows. Same output as JSON.stringify(value) for JSON data (no replacer, no
 * indentation; toJSON honoured; undefined, functions and symbols dropped from objects, null in arrays).
 */
export function toJsonText(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
  }
  const out: string[] = [];
  // Work items: a value to write, literal text (separators, closing brackets), or the end of an
  // object's subtree (it is no longer an ancestor: a shared, non-circular object may recur).
  type Item = { text: string } | { value: unknown } | { leave: object };
  const stack: Item[] = [{ value }];
  const ancestors = new Set<object>();
  while (stack.length > 0) {
    const item = stack.pop()!;
    if ('text' in item) { out.push(item.text); continue; }
    if ('leave' in item) { ancestors.delete(item.leave); continue; }
    let v = item.value;
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON: () => unknown }).toJSON();
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') { out.push('null'); continue; }
    if (v === null || typeof v !== 'object') { out.push(JSON.stringify(v)); continue; }
    if (ancestors.has(v)) throw new TypeError('Converting circular structure to JSON');
    ancestors.add(v);
    stack.push({ leave: v });
    if (Array.isArray(v)) {
      out.push('[');
      stack.push({ text: ']' });
      for (let i = v.length - 1; i >= 0; i--) {
        stack.push({ value: v[i] });
        if (i > 0) stack.push({ text: ',' });
      }
    } else {
      out.push('{');
      stack.push({ text: '}' });
      const entries = Object.entries(v).filter(([, x]) => x !== undefined && typeof x !== 'function' && typeof x !== 'symbol');
      for (let i = entries.length - 1; i >= 0; i--) {
        stack.push({ value: entries[i]![1] });
        stack.push({ text: `${JSON.stringify(entries[i]![0])}:` });
        if (i > 0) stack.push({ text: ',' });
      }
    }
  }
  return out.join('');
}
