import { describe, expect, it } from 'vitest';
import { newApprovalId } from '../../domain/approvals/request.ts';
import { APPROVAL_ID } from '../../domain/shared/index.ts';

describe('newApprovalId', () => {
  it('never begins with "-" or "_", so a command line never reads an approval id as an option', () => {
    // 20,000 draws: a base64url first character is '-' or '_' one time in 32 (failed before the fix).
    const ids = Array.from({ length: 20_000 }, () => newApprovalId());
    expect(ids.filter((id) => /^[-_]/.test(id))).toEqual([]);
    expect(ids.every((id) => APPROVAL_ID.pattern.test(id) && id.length === 22)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
