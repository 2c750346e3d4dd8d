// Portal sessions: short-lived credentials that act as one consumer of a project, for the consumer portal.
// Stored hashed, like API keys; the token carries its session id so a request finds it by `_id`.
import { randomBytes } from 'node:crypto';
import { model, Schema } from 'mongoose';
import { z } from 'zod';
import { hashApiKey } from '../api-keys/model';
import { newId } from '../ids';

export interface PortalSessionDoc {
  _id: string;
  project_id: string;
  consumer_id: string;
  /** SHA-256 of the token; the token itself is never stored. */
  hash: string;
  expires_at: Date;
  /** Reads only: every request that would change something answers 403. */
  read_only: boolean;
  revoked_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const schema = new Schema<PortalSessionDoc>(
  {
    _id: { type: String, required: true },
    project_id: { type: String, required: true },
    consumer_id: { type: String, required: true },
    hash: { type: String, required: true },
    expires_at: { type: Date, required: true },
    read_only: { type: Boolean, default: false },
    revoked_at: { type: Date, default: null },
  },
  { timestamps: { createdAt: 'created_at', updatedAt: 'updated_at' }, versionKey: false },
);
schema.index({ project_id: 1, consumer_id: 1 });

export const PortalSession = model<PortalSessionDoc>('PortalSession', schema, 'portal_sessions');

export const SESSION_TOKEN_PREFIX = 'hfps_';
const TOKEN = /^hfps_([0-9a-z]{20})_[A-Za-z0-9_-]{43}$/;
export const DEFAULT_SESSION_S = 3600;
export const MAX_SESSION_S = 24 * 3600;

export async function issuePortalSession(
  projectId: string,
  consumerId: string,
  expiresInS: number,
  readOnly = false,
): Promise<{ doc: PortalSessionDoc; token: string }> {
  const id = newId('ps');
  const token = `${SESSION_TOKEN_PREFIX}${id.slice('ps_'.length)}_${randomBytes(32).toString('base64url')}`;
  const doc = await PortalSession.create({
    _id: id,
    project_id: projectId,
    consumer_id: consumerId,
    hash: hashApiKey(token),
    expires_at: new Date(Date.now() + expiresInS * 1000),
    read_only: readOnly,
  });
  return { doc: doc.toObject(), token };
}

export type LiveSession = Pick<PortalSessionDoc, '_id' | 'project_id' | 'consumer_id' | 'expires_at'> & {
  /** Absent on sessions stored before read-only ones existed: they may write. */
  read_only?: boolean;
};

/** The session a presented token is, or null when it is malformed, unknown, expired or revoked. */
export async function verifyPortalSession(token: string): Promise<LiveSession | null> {
  const carried = TOKEN.exec(token);
  if (!carried) return null;
  // No cache: a revoked or expired session stops working at once, on every API process.
  return PortalSession.collection.findOne<LiveSession>(
    {
      _id: `ps_${carried[1]}`,
      hash: hashApiKey(token),
      revoked_at: null,
      expires_at: { $gt: new Date() },
    } as never,
    { projection: { project_id: 1, consumer_id: 1, expires_at: 1, read_only: 1 } },
  );
}

/** Revokes every live session of the consumer; returns how many. */
export async function revokePortalSessions(projectId: string, consumerId: string): Promise<number> {
  const now = new Date();
  const result = await PortalSession.updateMany(
    { project_id: projectId, consumer_id: consumerId, revoked_at: null },
    { $set: { revoked_at: now } },
  );
  return result.modifiedCount;
}

export const PortalSessionResource = z
  .strictObject({
    id: z.string(),
    consumer_id: z.string(),
    url: z
      .string()
      .meta({ description: 'Opens the consumer portal with this session (the token is in the fragment).' }),
    token: z
      .string()
      .meta({ description: 'Bearer token acting as this consumer only; shown once, never stored.' }),
    expires_at: z.date(),
    read_only: z.boolean().meta({ description: 'Whether the session may only read.' }),
  })
  .meta({ id: 'PortalSession' });

/** What a portal session learns of itself (`GET /v1/portal-session`): the portal shows it. */
export const CurrentPortalSessionResource = z
  .strictObject({
    id: z.string(),
    consumer_id: z.string(),
    consumer_name: z.string(),
    expires_at: z.date(),
    read_only: z.boolean(),
  })
  .meta({ id: 'CurrentPortalSession' });
