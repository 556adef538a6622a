// The lean path of the busiest call of a fleet, `POST /api/trpc/agent.report`:
// every agent sends one every few seconds and one after each apply. Served
// without tRPC's per-request machinery (Request and Response objects, web
// streams, the procedure chain); same URL, same answer bytes.
//
// The checks are the procedure's own, nothing less: a POST of
// application/json within the body limit (requestChecks.ts; a request with an
// Authorization header needs no origin check), a host credential in that
// header, the input parsed by the transformer (which refuses what no
// procedure may receive) and checked against the report's schema, and the
// host the credential belongs to, not revoked, is the one whose report is
// stored: the credential check is the report statement's own WHERE clause
// (handleReportByCredential), so an agent can only ever report for its own
// host. Whatever this path does not answer itself — another content type, a
// batch, a query string, an input the schema refuses, a credential that
// matches no live host, any error — goes to tRPC with the same body, which
// answers it exactly as before (its error shape, its codes).
import { handleReportByCredential, type ReportExec } from '../control/agentLink.ts';
import { ensureLivenessSweep } from '../control/hostLiveness.ts';
import { ensureKeyRotation } from '../control/keyRotation.ts';
import { getDatabase, type Db, type RawDb } from '../db/index.ts';
import { HOST_CREDENTIAL_PREFIX, hashToken } from '../auth/tokens.ts';
import { MAX_BODY_BYTES } from '../limits.ts';
import { reportInput, reportOutput } from '../routers/agent/report.types.ts';
import { transformer } from '../trpc/transformer.ts';
import type { HotAnswer, HotRequest } from './hotReads.ts';
import { bearerToken, sqlOf } from './leanAuth.ts';

const execFor = (raw: RawDb): ReportExec => sqlOf(raw) as ReportExec;

/** The host credential of a request the lean path may take (before its body is read), or null. */
export function leanReportCredential(req: HotRequest, prefix: string): string | null {
  if (req.method !== 'POST' || req.url !== `${prefix}/agent.report`) return null;
  const type = req.header('content-type')?.split(';', 1)[0]?.trim().toLowerCase();
  if (type !== 'application/json') return null;
  const length = Number(req.header('content-length') ?? NaN);
  if (!Number.isSafeInteger(length) || length < 0 || length > MAX_BODY_BYTES) return null;
  const token = bearerToken(req.header('authorization'));
  return token?.startsWith(HOST_CREDENTIAL_PREFIX) ? token : null;
}

/**
 * The answer of an agent's report whose credential leanReportCredential
 * gave and whose body has been read, or null when tRPC should answer it
 * (with the same body).
 */
export async function serveLeanReport(credential: string, body: Buffer, db?: { prisma: Db; raw: RawDb }): Promise<HotAnswer | null> {
  try {
    const input = reportInput.safeParse(transformer.input.deserialize(JSON.parse(body.toString('utf8'))));
    if (!input.success) return null;
    const { prisma, raw } = db ?? (await getDatabase());
    ensureLivenessSweep(prisma);
    ensureKeyRotation(prisma);
    const answer = await handleReportByCredential({ exec: execFor(raw), credentialHash: hashToken(credential), report: input.data, db: prisma });
    if (!answer) return null;
    const bytes = Buffer.from(JSON.stringify({ result: { data: transformer.output.serialize(reportOutput.parse(answer)) } }));
    return { status: 200, headers: { 'content-type': 'application/json', vary: 'trpc-accept, accept', 'content-length': String(bytes.length) }, body: bytes };
  } catch {
    return null;
  }
}
