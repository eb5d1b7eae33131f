import { z } from 'zod';

/**
 * Configuration is read from the environment once, at cold start, and validated with zod.
 * A missing or malformed variable fails the cold start loudly, naming the variable: no
 * placeholder defaults that would point a production function at the wrong table.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError' as const;
}

export function loadConfig<S extends z.ZodRawShape>(shape: S, env: Readonly<Record<string, string | undefined>> = process.env): z.infer<z.ZodObject<S>> {
  const result = z.object(shape).safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.')}: ${env[String(i.path[0])] === undefined ? 'is not set' : i.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  return result.data;
}

const nonEmpty = z.string().min(1);

/** Variables shared by several functions. */
export const configVars = {
  CATALOG_TABLE: nonEmpty,
  STATE_TABLE: nonEmpty,
  EVENT_BUS_NAME: nonEmpty,
  INCIDENT_STATE_MACHINE_ARN: z.string().regex(/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:.+$/, 'must be a state machine ARN'),
  DRILL_STATE_MACHINE_ARN: z.string().regex(/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:.+$/, 'must be a state machine ARN'),
  /** Where the inventory lives: `ssm:/path/to/parameter` on AWS, `file:path` locally. */
  INVENTORY_SOURCE: z.string().regex(/^(ssm:\/.+|file:.+)$/, 'must be ssm:/parameter/name or file:path'),
  /** Optional policy override, same forms as INVENTORY_SOURCE. */
  POLICY_SOURCE: z.string().regex(/^(ssm:\/.+|file:.+)$/, 'must be ssm:/parameter/name or file:path').optional(),
  KMS_KEY_ID: nonEmpty,
  PUBLIC_BASE_URL: z.url({ protocol: /^https?$/ }),
  /** SSM parameter names (SecureString) of the secrets; never the values themselves. */
  LINK_SECRET_PARAMETER: z.string().regex(/^\/[A-Za-z0-9_.\/-]+$/, 'must be an SSM parameter name like /cleanpoint/prod/link-secret'),
  SLACK_SIGNING_SECRET_PARAMETER: z.string().regex(/^\/[A-Za-z0-9_.\/-]+$/, 'must be an SSM parameter name').optional(),
  NOTIFY_EMAIL_FROM: z.email().optional(),
  NOTIFY_EMAIL_TO: z.string().optional(),
} as const;
