/**
 * Shared by the handler tests of show-approval and post-decision: an API Gateway request routed
 * as serverless.yml routes it (the path parameters come from the route, as on AWS), Alice's
 * personal link and a forged copy of it, and the world they are about.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { personalLink, type ApprovalRequest } from '../../domain/approvals/index.ts';
import type { Incident } from '../../domain/incidents/index.ts';
import { resolveHttpRoute } from '../../local/http-invoke.ts';
import { loadServerlessDefinition } from '../../local/serverless-config.ts';
import { inventoryIndex, LINK_SECRET, makeApprovalFor, makeIncidentFor, NOW, pointsFor, PUBLIC_BASE_URL, storedProposalFor } from './support.ts';

const def = loadServerlessDefinition();

/** An API Gateway HTTP API (payload 2.0) request, with the route's path parameters when a route of serverless.yml matches. */
export function httpEvent(method: string, url: string, options: { body?: string; headers?: Record<string, string> } = {}): APIGatewayProxyEventV2 {
  const u = new URL(url, PUBLIC_BASE_URL);
  const route = resolveHttpRoute(def, method, u.pathname);
  const routeKey = route.ok ? route.routeKey : '$default';
  return {
    version: '2.0', routeKey, rawPath: u.pathname, rawQueryString: u.search.slice(1),
    headers: { host: u.host, ...options.headers },
    queryStringParameters: u.search ? Object.fromEntries(u.searchParams) : undefined,
    ...(route.ok ? { pathParameters: route.pathParameters } : {}),
    requestContext: {
      accountId: '111122223333', apiId: 'api1234567', domainName: u.host, domainPrefix: 'approvals', requestId: 'req-1', routeKey,
      stage: '$default', time: '01/May/2024:10:00:00 +0000', timeEpoch: NOW,
      http: { method, path: u.pathname, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'vitest' },
    },
    body: options.body, isBase64Encoded: false,
  } as APIGatewayProxyEventV2;
}

/** The function serverless.yml routes a request to, or the status API Gateway answers without one. */
export function routeOf(method: string, path: string): string | number {
  const route = resolveHttpRoute(def, method, path);
  return route.ok ? route.functionName : route.status;
}

export const index = inventoryIndex();

/** A payments incident awaiting approval and its request (alice and bob decide, quorum 2). */
export async function approvalFixture(): Promise<{ incident: Incident; approval: ApprovalRequest }> {
  const incident = makeIncidentFor(index, {}, { status: 'awaiting-approval' });
  return { incident, approval: makeApprovalFor(incident, await storedProposalFor(index, incident, pointsFor(index, 'payments'))) };
}

/** Alice's personal link, as request-approval e-mails it. */
export const aliceLink = (approval: ApprovalRequest) => personalLink(PUBLIC_BASE_URL, LINK_SECRET, approval, 'alice');

/** The same link with a signature made with another secret. */
export function forgedLink(approval: ApprovalRequest): string {
  const u = new URL(aliceLink(approval));
  u.searchParams.set('s', new URL(personalLink(PUBLIC_BASE_URL, 'not-the-server-secret', approval, 'alice')).searchParams.get('s')!);
  return u.toString();
}
